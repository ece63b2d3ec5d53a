//! Sending to followers: template messages, subscription messages (official account and mini
//! program) and customer-service messages.

use crate::wechat::client::{Ack, Host, WechatClient};
use crate::wechat::error::WechatError;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Longest `client_msg_id` WeChat accepts (bytes; longer ones get errcode 45067).
pub const CLIENT_MSG_ID_MAX_BYTES: usize = 64;
/// Customer-service news may carry one article only (more gets errcode 45008).
pub const CUSTOM_NEWS_MAX_ARTICLES: usize = 1;

/// One value of template or subscription data: `{"value": .., "color": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataValue {
    /// The text shown.
    pub value: String,
    /// Optional colour (`#RRGGBB`); ignored by newer templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl DataValue {
    /// A value without colour.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            color: None,
        }
    }
}

/// Template / subscription data keyed by field name (`thing1`, `time2`, ...).
pub type MessageData = BTreeMap<String, DataValue>;

/// A mini program page to open from a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramLink {
    /// The mini program's appid (must be bound to the sending account).
    pub appid: String,
    /// Page path, with query (`index?foo=bar`).
    pub pagepath: String,
}

/// Value limit of a typed field, from the key's type prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Thing,
    Number,
    Letter,
    Symbol,
    CharacterString,
    PhoneNumber,
    CarNumber,
    Name,
    Phrase,
    /// time, date, amount, const, enum ...: format rules WeChat checks itself.
    Other,
}

impl FieldKind {
    /// Field type from a key such as `character_string12` (type prefix + index).
    fn of_key(key: &str) -> Option<Self> {
        let prefix = key.trim_end_matches(|c: char| c.is_ascii_digit());
        // An untyped key (keyword1, first, remark: classic templates) has no WeChat-side rule.
        if prefix.len() == key.len() {
            return None;
        }
        Some(match prefix {
            "thing" => Self::Thing,
            "number" => Self::Number,
            "letter" => Self::Letter,
            "symbol" => Self::Symbol,
            "character_string" => Self::CharacterString,
            "phone_number" => Self::PhoneNumber,
            "car_number" => Self::CarNumber,
            "name" => Self::Name,
            "phrase" => Self::Phrase,
            "time" | "date" | "amount" | "const" | "enum" => Self::Other,
            _ => return None,
        })
    }

    /// Maximum characters for `value` (name: 10 Chinese characters or 20 Latin ones).
    fn max_chars(self, value: &str) -> Option<usize> {
        match self {
            Self::Thing => Some(20),
            Self::Number | Self::Letter | Self::CharacterString => Some(32),
            Self::Symbol | Self::Phrase => Some(5),
            Self::PhoneNumber => Some(17),
            Self::CarNumber => Some(8),
            Self::Name if !value.is_ascii() => Some(10),
            Self::Name => Some(20),
            Self::Other => None,
        }
    }
}

/// Checks typed data fields against WeChat's documented limits (what it would reject with 47003).
pub fn validate_data(data: &MessageData) -> Result<(), WechatError> {
    for (key, field) in data {
        if key.is_empty() {
            return Err(WechatError::InvalidRequest(
                "template data has an empty key".into(),
            ));
        }
        let Some(kind) = FieldKind::of_key(key) else {
            continue;
        };
        let invalid = |reason: String| WechatError::InvalidTemplateData {
            key: key.clone(),
            reason,
        };
        if field.value.chars().any(char::is_control) {
            return Err(invalid(
                "contains control characters (newlines are not allowed)".into(),
            ));
        }
        if let Some(max) = kind.max_chars(&field.value) {
            let len = field.value.chars().count();
            if len > max {
                return Err(invalid(format!("{len} characters, at most {max} allowed")));
            }
        }
    }
    Ok(())
}

fn require(field: &str, value: &str) -> Result<(), WechatError> {
    if value.trim().is_empty() {
        return Err(WechatError::InvalidRequest(format!("{field} is required")));
    }
    Ok(())
}

/// `message/template/send` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMessage {
    /// Recipient openid.
    pub touser: String,
    /// Template id.
    pub template_id: String,
    /// Web page opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Mini program page opened on tap (wins over `url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Idempotency key: one message per openid + id within about 10 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// Field values.
    pub data: MessageData,
}

impl TemplateMessage {
    /// A message to `touser` with no data yet.
    pub fn new(touser: impl Into<String>, template_id: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            template_id: template_id.into(),
            url: None,
            miniprogram: None,
            client_msg_id: None,
            data: MessageData::new(),
        }
    }

    /// Adds a field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), DataValue::new(value));
        self
    }

    /// Checks required fields, `client_msg_id` length and data limits.
    pub fn validate(&self) -> Result<(), WechatError> {
        require("touser", &self.touser)?;
        require("template_id", &self.template_id)?;
        if let Some(id) = &self.client_msg_id
            && (id.is_empty() || id.len() > CLIENT_MSG_ID_MAX_BYTES)
        {
            return Err(WechatError::InvalidRequest(format!(
                "client_msg_id must be 1..={CLIENT_MSG_ID_MAX_BYTES} bytes, got {}",
                id.len()
            )));
        }
        validate_data(&self.data)
    }
}

/// `message/subscribe/bizsend` body (official-account subscription message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BizSubscribeMessage {
    /// Recipient openid.
    pub touser: String,
    /// Subscription template id.
    pub template_id: String,
    /// Web page opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Mini program page opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Field values.
    pub data: MessageData,
}

impl BizSubscribeMessage {
    /// Checks required fields and data limits.
    pub fn validate(&self) -> Result<(), WechatError> {
        require("touser", &self.touser)?;
        require("template_id", &self.template_id)?;
        validate_data(&self.data)
    }
}

/// Which mini program build a subscription message opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MiniProgramState {
    /// Development build.
    Developer,
    /// Trial build.
    Trial,
    /// Released build.
    Formal,
}

/// `message/subscribe/send` body (mini program subscription message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MiniProgramSubscribeMessage {
    /// Recipient openid (of the mini program).
    pub touser: String,
    /// Subscription template id.
    pub template_id: String,
    /// Page opened on tap (`index?foo=bar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Field values.
    pub data: MessageData,
    /// Build opened on tap (default: formal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<MiniProgramState>,
    /// Language: zh_CN (default), en_US, zh_HK, zh_TW.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl MiniProgramSubscribeMessage {
    /// Checks required fields, language and data limits.
    pub fn validate(&self) -> Result<(), WechatError> {
        require("touser", &self.touser)?;
        require("template_id", &self.template_id)?;
        if let Some(lang) = &self.lang
            && !matches!(lang.as_str(), "zh_CN" | "en_US" | "zh_HK" | "zh_TW")
        {
            return Err(WechatError::InvalidRequest(format!(
                "unsupported lang {lang:?}"
            )));
        }
        validate_data(&self.data)
    }
}

/// One article of a news (link card) message; also used by WeCom news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsArticle {
    /// Title.
    pub title: String,
    /// Summary under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Page opened on tap.
    pub url: String,
    /// Cover image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picurl: Option<String>,
}

/// Content of a customer-service message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomMessageBody {
    /// Plain text.
    Text {
        /// The text (may contain `<a href>` links).
        content: String,
    },
    /// A link card: news with one article (WeChat's form of a link message).
    News {
        /// Exactly one article.
        articles: Vec<NewsArticle>,
    },
    /// A mini program card.
    MiniProgramPage {
        /// Card title.
        title: String,
        /// Mini program appid.
        appid: String,
        /// Page path.
        pagepath: String,
        /// Cover image media id.
        thumb_media_id: String,
    },
}

impl CustomMessageBody {
    /// WeChat's `msgtype` name.
    pub fn msgtype(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::News { .. } => "news",
            Self::MiniProgramPage { .. } => "miniprogrampage",
        }
    }

    fn content(&self) -> Value {
        match self {
            Self::Text { content } => json!({ "content": content }),
            Self::News { articles } => json!({ "articles": articles }),
            Self::MiniProgramPage {
                title,
                appid,
                pagepath,
                thumb_media_id,
            } => {
                json!({ "title": title, "appid": appid, "pagepath": pagepath, "thumb_media_id": thumb_media_id })
            }
        }
    }
}

/// `message/custom/send` body (only within 48 h of the user's last interaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMessage {
    /// Recipient openid.
    pub touser: String,
    /// The content.
    pub body: CustomMessageBody,
    /// Send as this customer-service account (`name@account`).
    pub kf_account: Option<String>,
}

impl CustomMessage {
    /// A text message.
    pub fn text(touser: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            body: CustomMessageBody::Text {
                content: content.into(),
            },
            kf_account: None,
        }
    }

    /// A link card (one news article).
    pub fn link(touser: impl Into<String>, article: NewsArticle) -> Self {
        Self {
            touser: touser.into(),
            body: CustomMessageBody::News {
                articles: vec![article],
            },
            kf_account: None,
        }
    }

    /// Checks required fields and the article count.
    pub fn validate(&self) -> Result<(), WechatError> {
        require("touser", &self.touser)?;
        match &self.body {
            CustomMessageBody::Text { content } => require("text.content", content),
            CustomMessageBody::News { articles } => {
                if articles.is_empty() || articles.len() > CUSTOM_NEWS_MAX_ARTICLES {
                    return Err(WechatError::InvalidRequest(format!(
                        "customer-service news takes 1..={CUSTOM_NEWS_MAX_ARTICLES} articles, got {}",
                        articles.len()
                    )));
                }
                articles.iter().try_for_each(|a| {
                    require("news.title", &a.title)?;
                    require("news.url", &a.url)
                })
            }
            CustomMessageBody::MiniProgramPage {
                appid,
                pagepath,
                thumb_media_id,
                ..
            } => {
                require("miniprogrampage.appid", appid)?;
                require("miniprogrampage.pagepath", pagepath)?;
                require("miniprogrampage.thumb_media_id", thumb_media_id)
            }
        }
    }

    /// The JSON body: `{touser, msgtype, <msgtype>: {..}, customservice?}`.
    pub fn to_json(&self) -> Value {
        let msgtype = self.body.msgtype();
        let mut body = json!({ "touser": self.touser, "msgtype": msgtype });
        body[msgtype] = self.body.content();
        if let Some(kf) = &self.kf_account {
            body["customservice"] = json!({ "kf_account": kf });
        }
        body
    }
}

/// Accepts a msgid sent as a number or as a numeric string.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        Some(Raw::Number(n)) => Some(n),
        Some(Raw::Text(s)) => s.parse().ok(),
        None => None,
    })
}

/// The answer of a send: WeChat's message id when it returns one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SendReceipt {
    /// Message id (matches `MsgID` of the `TEMPLATESENDJOBFINISH` event for templates).
    #[serde(default, deserialize_with = "lenient_i64")]
    pub msgid: Option<i64>,
}

impl WechatClient {
    /// `POST cgi-bin/message/template/send`; returns WeChat's msgid.
    pub async fn send_template(
        &self,
        access_token: &str,
        message: &TemplateMessage,
    ) -> Result<i64, WechatError> {
        message.validate()?;
        let path = "cgi-bin/message/template/send";
        let receipt: SendReceipt = self
            .post_json(Host::Api, path, Some(access_token), message)
            .await?;
        receipt.msgid.ok_or_else(|| WechatError::Decode {
            endpoint: path.into(),
            detail: "missing msgid".into(),
        })
    }

    /// `POST cgi-bin/message/subscribe/bizsend` (official-account subscription message).
    pub async fn send_biz_subscribe(
        &self,
        access_token: &str,
        message: &BizSubscribeMessage,
    ) -> Result<(), WechatError> {
        message.validate()?;
        let _: Ack = self
            .post_json(
                Host::Api,
                "cgi-bin/message/subscribe/bizsend",
                Some(access_token),
                message,
            )
            .await?;
        Ok(())
    }

    /// `POST cgi-bin/message/subscribe/send` (mini program subscription message).
    pub async fn send_miniprogram_subscribe(
        &self,
        access_token: &str,
        message: &MiniProgramSubscribeMessage,
    ) -> Result<SendReceipt, WechatError> {
        message.validate()?;
        self.post_json(
            Host::Api,
            "cgi-bin/message/subscribe/send",
            Some(access_token),
            message,
        )
        .await
    }

    /// `POST cgi-bin/message/custom/send` (customer-service message).
    pub async fn send_custom(
        &self,
        access_token: &str,
        message: &CustomMessage,
    ) -> Result<(), WechatError> {
        message.validate()?;
        let _: Ack = self
            .post_json(
                Host::Api,
                "cgi-bin/message/custom/send",
                Some(access_token),
                &message.to_json(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::error::ErrorAction;

    #[test]
    fn template_json_shape() {
        let mut msg = TemplateMessage::new("o1", "T1")
            .field("thing1", "心内科直播")
            .field("time2", "2025-01-01 19:00");
        msg.url = Some("https://x/c/1".into());
        msg.client_msg_id = Some("push1:o1".into());
        msg.miniprogram = Some(MiniProgramLink {
            appid: "wxmini".into(),
            pagepath: "index?c=1".into(),
        });
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({
                "touser": "o1", "template_id": "T1", "url": "https://x/c/1",
                "miniprogram": {"appid": "wxmini", "pagepath": "index?c=1"},
                "client_msg_id": "push1:o1",
                "data": {"thing1": {"value": "心内科直播"}, "time2": {"value": "2025-01-01 19:00"}}
            })
        );
        msg.validate().unwrap();
    }

    #[test]
    fn optional_fields_are_omitted() {
        let msg = TemplateMessage::new("o1", "T1");
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"touser": "o1", "template_id": "T1", "data": {}})
        );
    }

    #[test]
    fn data_limits() {
        let ok = TemplateMessage::new("o", "t")
            .field("thing1", "一".repeat(20))
            .field("keyword1", "x".repeat(500));
        ok.validate().unwrap();
        let long = TemplateMessage::new("o", "t").field("thing1", "一".repeat(21));
        let err = long.validate().unwrap_err();
        assert!(
            matches!(&err, WechatError::InvalidTemplateData { key, .. } if key == "thing1"),
            "{err}"
        );
        assert_eq!(err.action(), ErrorAction::FatalForJob);
        assert!(
            TemplateMessage::new("o", "t")
                .field("phrase3", "进行中啦啦啦")
                .validate()
                .is_err()
        );
        assert!(
            TemplateMessage::new("o", "t")
                .field("name1", "张三丰张三丰张三丰张三")
                .validate()
                .is_err()
        );
        assert!(
            TemplateMessage::new("o", "t")
                .field("name1", "Alexander Graham Bel")
                .validate()
                .is_ok()
        );
        assert!(
            TemplateMessage::new("o", "t")
                .field("thing1", "a\nb")
                .validate()
                .is_err()
        );
        assert!(
            TemplateMessage::new("o", "t")
                .field("character_string12", "x".repeat(33))
                .validate()
                .is_err()
        );
        assert!(
            TemplateMessage::new("o", "t")
                .field("time2", "x".repeat(100))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn required_fields_and_client_msg_id() {
        assert!(matches!(
            TemplateMessage::new("", "t").validate(),
            Err(WechatError::InvalidRequest(_))
        ));
        assert!(matches!(
            TemplateMessage::new("o", " ").validate(),
            Err(WechatError::InvalidRequest(_))
        ));
        let mut msg = TemplateMessage::new("o", "t");
        msg.client_msg_id = Some("x".repeat(65));
        assert!(matches!(
            msg.validate(),
            Err(WechatError::InvalidRequest(_))
        ));
        msg.client_msg_id = Some("x".repeat(64));
        msg.validate().unwrap();
    }

    #[test]
    fn miniprogram_subscribe_shape() {
        let msg = MiniProgramSubscribeMessage {
            touser: "o".into(),
            template_id: "t".into(),
            page: Some("index".into()),
            data: [("thing1".to_string(), DataValue::new("课程"))].into(),
            miniprogram_state: Some(MiniProgramState::Formal),
            lang: Some("zh_CN".into()),
        };
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"touser": "o", "template_id": "t", "page": "index", "data": {"thing1": {"value": "课程"}},
                   "miniprogram_state": "formal", "lang": "zh_CN"})
        );
        let bad = MiniProgramSubscribeMessage {
            lang: Some("fr".into()),
            ..msg
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn custom_message_shapes() {
        let text = CustomMessage::text("o", "hi");
        assert_eq!(
            text.to_json(),
            json!({"touser": "o", "msgtype": "text", "text": {"content": "hi"}})
        );
        let mut link = CustomMessage::link(
            "o",
            NewsArticle {
                title: "T".into(),
                description: Some("D".into()),
                url: "https://u".into(),
                picurl: None,
            },
        );
        link.kf_account = Some("kf@acc".into());
        assert_eq!(
            link.to_json(),
            json!({"touser": "o", "msgtype": "news",
                   "news": {"articles": [{"title": "T", "description": "D", "url": "https://u"}]},
                   "customservice": {"kf_account": "kf@acc"}})
        );
        link.validate().unwrap();
        let two = CustomMessage {
            body: CustomMessageBody::News {
                articles: vec![link_article(), link_article()],
            },
            ..CustomMessage::text("o", "")
        };
        assert!(two.validate().is_err());
        assert!(CustomMessage::text("o", "").validate().is_err());
    }

    fn link_article() -> NewsArticle {
        NewsArticle {
            title: "T".into(),
            description: None,
            url: "https://u".into(),
            picurl: None,
        }
    }

    #[test]
    fn receipt_accepts_number_or_string() {
        let a: SendReceipt = serde_json::from_str(r#"{"errcode":0,"msgid":123}"#).unwrap();
        let b: SendReceipt = serde_json::from_str(r#"{"msgid":"456"}"#).unwrap();
        let c: SendReceipt = serde_json::from_str(r#"{"errcode":0}"#).unwrap();
        assert_eq!((a.msgid, b.msgid, c.msgid), (Some(123), Some(456), None));
    }
}
