//! WeCom (企业微信) apps: `gettoken` and `message/send` on the qyapi host.

use crate::wechat::api::message::NewsArticle;
use crate::wechat::api::token::AccessToken;
use crate::wechat::client::{Host, WechatClient};
use crate::wechat::credentials::WecomCredentials;
use crate::wechat::error::WechatError;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most member ids per message.
pub const MAX_USERS: usize = 1000;
/// Most department ids (and, separately, tag ids) per message.
pub const MAX_PARTIES_OR_TAGS: usize = 100;
/// Longest duplicate-check window (4 hours).
pub const MAX_DUPLICATE_CHECK_INTERVAL: u32 = 14_400;
/// Longest text / markdown content in bytes.
pub const MAX_CONTENT_BYTES: usize = 2048;
/// Most articles of a news message.
pub const MAX_NEWS_ARTICLES: usize = 8;

/// Who receives a WeCom message: members, departments and tags (joined with `|`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WecomRecipients {
    /// Member user ids (`@all` alone means everyone in the app's visible range).
    pub users: Vec<String>,
    /// Department ids.
    pub parties: Vec<String>,
    /// Tag ids.
    pub tags: Vec<String>,
}

impl WecomRecipients {
    /// Everyone in the app's visible range.
    pub fn all() -> Self {
        Self {
            users: vec!["@all".to_string()],
            ..Self::default()
        }
    }

    /// These members.
    pub fn users<I: IntoIterator<Item = S>, S: Into<String>>(users: I) -> Self {
        Self {
            users: users.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), WechatError> {
        if self.users.is_empty() && self.parties.is_empty() && self.tags.is_empty() {
            return Err(WechatError::InvalidRequest(
                "WeCom message needs touser, toparty or totag".into(),
            ));
        }
        if self.users.len() > MAX_USERS {
            return Err(WechatError::InvalidRequest(format!(
                "at most {MAX_USERS} users, got {}",
                self.users.len()
            )));
        }
        if self.parties.len() > MAX_PARTIES_OR_TAGS || self.tags.len() > MAX_PARTIES_OR_TAGS {
            return Err(WechatError::InvalidRequest(format!(
                "at most {MAX_PARTIES_OR_TAGS} parties and tags each"
            )));
        }
        // A '|' inside an id would silently split it into two recipients.
        let all = self.users.iter().chain(&self.parties).chain(&self.tags);
        if let Some(bad) = all.into_iter().find(|id| id.is_empty() || id.contains('|')) {
            return Err(WechatError::InvalidRequest(format!(
                "invalid WeCom recipient id {bad:?}"
            )));
        }
        Ok(())
    }
}

/// Content of a WeCom app message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WecomMessageBody {
    /// Plain text.
    Text {
        /// Up to 2048 bytes.
        content: String,
    },
    /// A card with title, description and a link.
    TextCard {
        /// Up to 128 bytes.
        title: String,
        /// Up to 512 bytes (simple HTML allowed).
        description: String,
        /// Link opened on tap.
        url: String,
        /// Button text (default "详情").
        btntxt: Option<String>,
    },
    /// WeCom markdown subset.
    Markdown {
        /// Up to 2048 bytes.
        content: String,
    },
    /// 1..=8 articles.
    News {
        /// The articles.
        articles: Vec<NewsArticle>,
    },
}

impl WecomMessageBody {
    /// WeCom's `msgtype` name.
    pub fn msgtype(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::TextCard { .. } => "textcard",
            Self::Markdown { .. } => "markdown",
            Self::News { .. } => "news",
        }
    }

    /// The body under the `msgtype` key.
    pub fn content(&self) -> Value {
        match self {
            Self::Text { content } | Self::Markdown { content } => json!({ "content": content }),
            Self::TextCard {
                title,
                description,
                url,
                btntxt,
            } => {
                let mut card = json!({ "title": title, "description": description, "url": url });
                if let Some(btn) = btntxt {
                    card["btntxt"] = json!(btn);
                }
                card
            }
            Self::News { articles } => json!({ "articles": articles }),
        }
    }

    fn validate(&self) -> Result<(), WechatError> {
        let too_long = |field: &str, len: usize, max: usize| {
            WechatError::InvalidRequest(format!("WeCom {field} is {len} bytes, at most {max}"))
        };
        match self {
            Self::Text { content } | Self::Markdown { content } => {
                if content.trim().is_empty() {
                    return Err(WechatError::InvalidRequest(
                        "WeCom content is required".into(),
                    ));
                }
                if content.len() > MAX_CONTENT_BYTES {
                    return Err(too_long("content", content.len(), MAX_CONTENT_BYTES));
                }
            }
            Self::TextCard {
                title,
                description,
                url,
                ..
            } => {
                if title.is_empty() || description.is_empty() || url.is_empty() {
                    return Err(WechatError::InvalidRequest(
                        "WeCom textcard needs title, description and url".into(),
                    ));
                }
                if title.len() > 128 {
                    return Err(too_long("textcard title", title.len(), 128));
                }
                if description.len() > 512 {
                    return Err(too_long("textcard description", description.len(), 512));
                }
            }
            Self::News { articles } => {
                if articles.is_empty() || articles.len() > MAX_NEWS_ARTICLES {
                    return Err(WechatError::InvalidRequest(format!(
                        "WeCom news takes 1..={MAX_NEWS_ARTICLES} articles, got {}",
                        articles.len()
                    )));
                }
                if articles
                    .iter()
                    .any(|a| a.title.is_empty() || a.url.is_empty())
                {
                    return Err(WechatError::InvalidRequest(
                        "WeCom news article needs title and url".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `message/send` of a WeCom app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WecomMessage {
    /// Recipients.
    pub recipients: WecomRecipients,
    /// The sending app's agent id.
    pub agentid: i64,
    /// Content.
    pub body: WecomMessageBody,
    /// Confidential message (no forwarding, watermark).
    pub safe: bool,
    /// Drop a repeat of the same content to the same recipients within the window.
    pub enable_duplicate_check: bool,
    /// Window of the duplicate check in seconds (WeCom default 1800, at most 14400).
    pub duplicate_check_interval: Option<u32>,
}

impl WecomMessage {
    /// A message with default options (not safe, no duplicate check).
    pub fn new(recipients: WecomRecipients, agentid: i64, body: WecomMessageBody) -> Self {
        Self {
            recipients,
            agentid,
            body,
            safe: false,
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        }
    }

    /// Checks recipients, content limits and the duplicate window.
    pub fn validate(&self) -> Result<(), WechatError> {
        self.recipients.validate()?;
        self.body.validate()?;
        if let Some(interval) = self.duplicate_check_interval
            && (interval == 0 || interval > MAX_DUPLICATE_CHECK_INTERVAL)
        {
            return Err(WechatError::InvalidRequest(format!(
                "duplicate_check_interval must be 1..={MAX_DUPLICATE_CHECK_INTERVAL}, got {interval}"
            )));
        }
        Ok(())
    }

    /// The JSON body WeCom expects.
    pub fn to_json(&self) -> Value {
        let msgtype = self.body.msgtype();
        let mut body = json!({
            "touser": self.recipients.users.join("|"),
            "toparty": self.recipients.parties.join("|"),
            "totag": self.recipients.tags.join("|"),
            "msgtype": msgtype,
            "agentid": self.agentid,
            "safe": u8::from(self.safe),
            "enable_duplicate_check": u8::from(self.enable_duplicate_check),
        });
        body[msgtype] = self.body.content();
        if let Some(interval) = self.duplicate_check_interval {
            body["duplicate_check_interval"] = json!(interval);
        }
        body
    }
}

fn split_ids(raw: &str) -> Vec<String> {
    raw.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Deserialize)]
struct RawSendResult {
    #[serde(default)]
    invaliduser: String,
    #[serde(default)]
    invalidparty: String,
    #[serde(default)]
    invalidtag: String,
    #[serde(default)]
    unlicenseduser: String,
    #[serde(default)]
    msgid: String,
}

/// What WeCom accepted: recipients it could not reach are listed, not errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WecomSendResult {
    /// Members that do not exist or are outside the app's range.
    pub invalid_users: Vec<String>,
    /// Departments not found.
    pub invalid_parties: Vec<String>,
    /// Tags not found.
    pub invalid_tags: Vec<String>,
    /// Members without an interoperability licence.
    pub unlicensed_users: Vec<String>,
    /// Message id (for recall).
    pub msgid: String,
}

impl From<RawSendResult> for WecomSendResult {
    fn from(raw: RawSendResult) -> Self {
        Self {
            invalid_users: split_ids(&raw.invaliduser),
            invalid_parties: split_ids(&raw.invalidparty),
            invalid_tags: split_ids(&raw.invalidtag),
            unlicensed_users: split_ids(&raw.unlicenseduser),
            msgid: raw.msgid,
        }
    }
}

impl WechatClient {
    /// `GET qyapi cgi-bin/gettoken` for one WeCom app.
    pub async fn fetch_wecom_token(
        &self,
        credentials: &WecomCredentials,
    ) -> Result<AccessToken, WechatError> {
        let query = [
            ("corpid", credentials.corpid.as_str()),
            ("corpsecret", credentials.corpsecret.as_str()),
        ];
        self.get_json(Host::Wecom, "cgi-bin/gettoken", None, &query)
            .await
            .map_err(WechatError::for_token_endpoint)
    }

    /// `POST qyapi cgi-bin/message/send`.
    pub async fn send_wecom_message(
        &self,
        access_token: &str,
        message: &WecomMessage,
    ) -> Result<WecomSendResult, WechatError> {
        message.validate()?;
        let raw: RawSendResult = self
            .post_json(
                Host::Wecom,
                "cgi-bin/message/send",
                Some(access_token),
                &message.to_json(),
            )
            .await?;
        Ok(raw.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_message_shape() {
        let mut msg = WecomMessage::new(
            WecomRecipients {
                users: vec!["a".into(), "b".into()],
                parties: vec!["2".into()],
                tags: vec![],
            },
            1000002,
            WecomMessageBody::Text {
                content: "直播开始".into(),
            },
        );
        msg.enable_duplicate_check = true;
        msg.duplicate_check_interval = Some(600);
        msg.validate().unwrap();
        assert_eq!(
            msg.to_json(),
            json!({"touser": "a|b", "toparty": "2", "totag": "", "msgtype": "text", "agentid": 1000002,
                   "text": {"content": "直播开始"}, "safe": 0, "enable_duplicate_check": 1,
                   "duplicate_check_interval": 600})
        );
    }

    #[test]
    fn other_bodies() {
        let card = WecomMessageBody::TextCard {
            title: "T".into(),
            description: "D".into(),
            url: "https://u".into(),
            btntxt: Some("进入".into()),
        };
        let msg = WecomMessage::new(WecomRecipients::all(), 1, card);
        assert_eq!(
            msg.to_json()["textcard"],
            json!({"title": "T", "description": "D", "url": "https://u", "btntxt": "进入"})
        );
        assert_eq!(msg.to_json()["touser"], "@all");
        let md = WecomMessage::new(
            WecomRecipients::users(["a"]),
            1,
            WecomMessageBody::Markdown {
                content: "**x**".into(),
            },
        );
        assert_eq!(md.to_json()["markdown"]["content"], "**x**");
        let news = WecomMessageBody::News {
            articles: vec![NewsArticle {
                title: "T".into(),
                description: None,
                url: "https://u".into(),
                picurl: Some("https://p".into()),
            }],
        };
        let msg = WecomMessage::new(WecomRecipients::users(["a"]), 1, news);
        msg.validate().unwrap();
        assert_eq!(msg.to_json()["news"]["articles"][0]["picurl"], "https://p");
    }

    #[test]
    fn validation() {
        let text = || WecomMessageBody::Text {
            content: "x".into(),
        };
        assert!(
            WecomMessage::new(WecomRecipients::default(), 1, text())
                .validate()
                .is_err()
        );
        assert!(
            WecomMessage::new(WecomRecipients::users(["a|b"]), 1, text())
                .validate()
                .is_err()
        );
        let many = WecomRecipients::users((0..1001).map(|i| i.to_string()));
        assert!(WecomMessage::new(many, 1, text()).validate().is_err());
        let long = WecomMessageBody::Text {
            content: "x".repeat(2049),
        };
        assert!(
            WecomMessage::new(WecomRecipients::all(), 1, long)
                .validate()
                .is_err()
        );
        let mut msg = WecomMessage::new(WecomRecipients::all(), 1, text());
        msg.duplicate_check_interval = Some(14_401);
        assert!(msg.validate().is_err());
        let empty_news = WecomMessageBody::News { articles: vec![] };
        assert!(
            WecomMessage::new(WecomRecipients::all(), 1, empty_news)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn send_result_splits_ids() {
        let raw: RawSendResult = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","invaliduser":"u1|u2","invalidparty":"","msgid":"m1"}"#,
        )
        .unwrap();
        let result = WecomSendResult::from(raw);
        assert_eq!(result.invalid_users, vec!["u1", "u2"]);
        assert!(result.invalid_parties.is_empty());
        assert_eq!(result.msgid, "m1");
    }
}
