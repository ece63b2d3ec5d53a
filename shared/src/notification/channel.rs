//! The course notification rendered for each channel (template, official-account
//! subscription, mini program subscription, customer service, WeCom), with every length and
//! field rule checked once per push, before anything is sent.

use super::placeholders::CourseFields;
use super::template::{NotificationError, PreparedTemplate};
use crate::domain::{Account, AccountKind, Channel, Course};
use crate::wechat::{
    BizSubscribeMessage, CustomMessage, MessageData, MiniProgramSubscribeMessage, NewsArticle,
    TemplateMessage, WecomMessage, WecomMessageBody, WecomRecipients,
};

/// Longest title of a customer-service link card (characters; WeChat cuts longer ones off).
pub const CUSTOM_TITLE_MAX_CHARS: usize = 64;
/// Longest summary of a customer-service link card (characters).
pub const CUSTOM_DESCRIPTION_MAX_CHARS: usize = 120;
/// WeCom's duplicate-check window (its maximum, 4 hours): a resent message to the same member
/// is dropped by WeCom, which makes WeCom sends idempotent like template `client_msg_id`s.
pub const WECOM_DUPLICATE_WINDOW_SECS: u32 = 14_400;

/// Prefix of a WeCom department as an audience entry (`party:<id>`).
pub const WECOM_PARTY_PREFIX: &str = "party:";
/// Prefix of a WeCom tag as an audience entry (`tag:<id>`).
pub const WECOM_TAG_PREFIX: &str = "tag:";
/// Everyone in the WeCom app's visible range as an audience entry.
pub const WECOM_ALL: &str = "@all";

/// Which account kinds can send on `channel`.
pub fn channel_fits(channel: Channel, kind: AccountKind) -> bool {
    match channel {
        Channel::Template => kind == AccountKind::Service,
        Channel::Subscribe | Channel::CustomerService => kind.has_followers(),
        Channel::MiniProgramSubscribe => kind == AccountKind::MiniProgram,
        Channel::Wecom => kind == AccountKind::Wecom,
    }
}

/// The channel a push uses on an account of `kind` unless the admin picks another.
pub fn default_channel(kind: AccountKind) -> Channel {
    match kind {
        AccountKind::Service => Channel::Template,
        AccountKind::Subscription => Channel::Subscribe,
        AccountKind::MiniProgram => Channel::MiniProgramSubscribe,
        AccountKind::Wecom => Channel::Wecom,
    }
}

/// The Chinese name of a channel, for admins.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Template => "模板消息",
        Channel::Subscribe => "公众号订阅通知",
        Channel::MiniProgramSubscribe => "小程序订阅消息",
        Channel::CustomerService => "客服消息",
        Channel::Wecom => "企业微信应用消息",
    }
}

/// A subscription message (official account or mini program), rendered once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSubscription {
    /// Subscription template id (consents are per template).
    pub template_id: String,
    /// Filled, checked field values.
    pub data: MessageData,
    /// Page opened on tap (official account: a web page; mini program: a page path).
    pub page: Option<String>,
}

/// A course notification rendered for the push's channel, addressed per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedMessage {
    /// Service-account template message.
    Template(PreparedTemplate),
    /// Official-account subscription message (bizsend): one consent per send.
    Subscribe(PreparedSubscription),
    /// Mini program subscription message: one consent per send.
    MiniProgramSubscribe(PreparedSubscription),
    /// Customer-service link card (within 48 h of the user's last interaction).
    CustomerService(NewsArticle),
    /// WeCom app text card of agent `agentid`.
    Wecom {
        /// The app's agent id.
        agentid: i64,
        /// The card.
        body: WecomMessageBody,
    },
}

/// The summary line of a course in link cards: start time and speaker.
fn summary(fields: &CourseFields) -> String {
    if fields.speaker.is_empty() {
        format!("开播时间：{}", fields.start_time)
    } else {
        format!("开播时间：{}\n讲者：{}", fields.start_time, fields.speaker)
    }
}

fn too_long(what: &str, len: usize, max: usize) -> NotificationError {
    NotificationError::TooLong {
        what: what.to_string(),
        len,
        max,
    }
}

fn subscription(
    course: &Course,
    account: &Account,
    page: Option<String>,
) -> Result<PreparedSubscription, NotificationError> {
    // The mapping is the same shape as a template's: a subscription template id and keys
    // such as thing1 / time2, which follow the same length rules.
    let prepared = PreparedTemplate::render(course, &account.id, None)?;
    Ok(PreparedSubscription {
        template_id: prepared.template_id,
        data: prepared.data,
        page,
    })
}

impl PreparedMessage {
    /// Renders `course` for `channel` as sent by `account`; `url` is the page a tap opens
    /// (usually the course's landing page). Refuses a channel the account cannot use and any
    /// text that breaks the channel's length rules.
    pub fn render(
        channel: Channel,
        course: &Course,
        account: &Account,
        url: String,
    ) -> Result<Self, NotificationError> {
        if !channel_fits(channel, account.kind) {
            return Err(NotificationError::ChannelUnavailable {
                channel: channel_name(channel),
                account: account.name.clone(),
            });
        }
        let fields = CourseFields::of(course);
        Ok(match channel {
            Channel::Template => {
                Self::Template(PreparedTemplate::render(course, &account.id, Some(url))?)
            }
            Channel::Subscribe => Self::Subscribe(subscription(course, account, Some(url))?),
            // A web URL is no mini program page: a tap opens the mini program's home page.
            Channel::MiniProgramSubscribe => {
                Self::MiniProgramSubscribe(subscription(course, account, None)?)
            }
            Channel::CustomerService => {
                let title_len = fields.title.chars().count();
                if title_len > CUSTOM_TITLE_MAX_CHARS {
                    return Err(too_long("客服消息标题", title_len, CUSTOM_TITLE_MAX_CHARS));
                }
                let description = summary(&fields);
                let len = description.chars().count();
                if len > CUSTOM_DESCRIPTION_MAX_CHARS {
                    return Err(too_long("客服消息摘要", len, CUSTOM_DESCRIPTION_MAX_CHARS));
                }
                let article = NewsArticle {
                    title: fields.title.clone(),
                    description: Some(description),
                    url,
                    picurl: course.cover_url.clone(),
                };
                CustomMessage::link("check", article.clone())
                    .validate()
                    .map_err(NotificationError::Field)?;
                Self::CustomerService(article)
            }
            Channel::Wecom => {
                let agentid = account.wecom_agent_id.ok_or_else(|| {
                    NotificationError::ChannelUnavailable {
                        channel: channel_name(channel),
                        account: format!("{}（未配置 AgentId）", account.name),
                    }
                })?;
                let body = WecomMessageBody::TextCard {
                    title: fields.title.clone(),
                    description: summary(&fields),
                    url,
                    btntxt: Some("进入课程".into()),
                };
                // Byte limits (title 128, description 512) are checked by the message itself.
                WecomMessage::new(WecomRecipients::all(), agentid, body.clone())
                    .validate()
                    .map_err(NotificationError::Field)?;
                Self::Wecom { agentid, body }
            }
        })
    }

    /// The channel this message goes out on.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Template(_) => Channel::Template,
            Self::Subscribe(_) => Channel::Subscribe,
            Self::MiniProgramSubscribe(_) => Channel::MiniProgramSubscribe,
            Self::CustomerService(_) => Channel::CustomerService,
            Self::Wecom { .. } => Channel::Wecom,
        }
    }

    /// The subscription template a send uses one consent of, for the consent channels.
    pub fn consent_template(&self) -> Option<&str> {
        match self {
            Self::Subscribe(s) | Self::MiniProgramSubscribe(s) => Some(&s.template_id),
            _ => None,
        }
    }

    /// WeChat drops a repeat of this message to the same recipient (template
    /// `client_msg_id`, WeCom duplicate check), so a send interrupted before its outcome was
    /// recorded can safely be sent again. The other channels have no such key.
    pub fn resend_is_dropped(&self) -> bool {
        matches!(self, Self::Template(_) | Self::Wecom { .. })
    }

    /// The message to one recipient: an openid, or for WeCom a member id, `party:<id>`,
    /// `tag:<id>` or `@all`. `client_msg_id` is used where the API has an idempotency key
    /// (template messages); WeCom messages get WeCom's duplicate check instead.
    pub fn to(&self, recipient: &str, client_msg_id: &str) -> AddressedMessage {
        match self {
            Self::Template(t) => {
                AddressedMessage::Template(t.to(recipient, Some(client_msg_id.to_string())))
            }
            Self::Subscribe(s) => AddressedMessage::Subscribe(BizSubscribeMessage {
                touser: recipient.to_string(),
                template_id: s.template_id.clone(),
                page: s.page.clone(),
                miniprogram: None,
                data: s.data.clone(),
            }),
            Self::MiniProgramSubscribe(s) => {
                AddressedMessage::MiniProgramSubscribe(MiniProgramSubscribeMessage {
                    touser: recipient.to_string(),
                    template_id: s.template_id.clone(),
                    page: s.page.clone(),
                    data: s.data.clone(),
                    miniprogram_state: None,
                    lang: None,
                })
            }
            Self::CustomerService(article) => {
                AddressedMessage::CustomerService(CustomMessage::link(recipient, article.clone()))
            }
            Self::Wecom { agentid, body } => {
                let mut message =
                    WecomMessage::new(wecom_recipients(recipient), *agentid, body.clone());
                message.enable_duplicate_check = true;
                message.duplicate_check_interval = Some(WECOM_DUPLICATE_WINDOW_SECS);
                AddressedMessage::Wecom(message)
            }
        }
    }
}

/// A notification addressed to one recipient, in the shape its channel's API takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressedMessage {
    /// `message/template/send`.
    Template(TemplateMessage),
    /// `message/subscribe/bizsend`.
    Subscribe(BizSubscribeMessage),
    /// `message/subscribe/send` (mini program).
    MiniProgramSubscribe(MiniProgramSubscribeMessage),
    /// `message/custom/send`.
    CustomerService(CustomMessage),
    /// WeCom `message/send`.
    Wecom(WecomMessage),
}

/// The WeCom recipients an audience entry stands for.
pub fn wecom_recipients(entry: &str) -> WecomRecipients {
    if let Some(party) = entry.strip_prefix(WECOM_PARTY_PREFIX) {
        WecomRecipients {
            parties: vec![party.to_string()],
            ..WecomRecipients::default()
        }
    } else if let Some(tag) = entry.strip_prefix(WECOM_TAG_PREFIX) {
        WecomRecipients {
            tags: vec![tag.to_string()],
            ..WecomRecipients::default()
        }
    } else if entry == WECOM_ALL {
        WecomRecipients::all()
    } else {
        WecomRecipients::users([entry])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, CallbackMode, TemplateMapping};
    use crate::notification::placeholders::tests::course;
    use std::collections::BTreeMap;

    fn account(kind: AccountKind) -> Account {
        let at = chrono::Utc::now();
        Account {
            id: AccountId::new("wxchannel0001").unwrap(),
            name: "htology".into(),
            kind,
            appid: "wxchannel0001".into(),
            original_id: String::new(),
            wecom_agent_id: (kind == AccountKind::Wecom).then_some(1000002),
            callback_mode: CallbackMode::Plaintext,
            follower_count: 0,
            follow_url: None,
            keyword_replies: Vec::new(),
            created_at: at,
            updated_at: at,
        }
    }

    fn mapped(title: &str) -> Course {
        let mut c = course();
        c.title = title.into();
        c.templates.insert(
            AccountId::new("wxchannel0001").unwrap(),
            TemplateMapping {
                template_id: "SUB-1".into(),
                fields: BTreeMap::from([
                    ("thing1".to_string(), "{title}".to_string()),
                    ("time2".to_string(), "{start_time}".to_string()),
                ]),
            },
        );
        c
    }

    #[test]
    fn channels_need_the_right_account_kind() {
        let c = mapped("心内科病例讨论");
        let url = "https://x/c/1".to_string();
        for (channel, ok_kind, bad_kind) in [
            (
                Channel::Template,
                AccountKind::Service,
                AccountKind::Subscription,
            ),
            (
                Channel::Subscribe,
                AccountKind::Subscription,
                AccountKind::MiniProgram,
            ),
            (
                Channel::MiniProgramSubscribe,
                AccountKind::MiniProgram,
                AccountKind::Service,
            ),
            (
                Channel::CustomerService,
                AccountKind::Service,
                AccountKind::Wecom,
            ),
            (Channel::Wecom, AccountKind::Wecom, AccountKind::Service),
        ] {
            let m = PreparedMessage::render(channel, &c, &account(ok_kind), url.clone()).unwrap();
            assert_eq!(m.channel(), channel);
            let err =
                PreparedMessage::render(channel, &c, &account(bad_kind), url.clone()).unwrap_err();
            assert!(err.to_string().contains(channel_name(channel)), "{err}");
        }
    }

    #[test]
    fn subscription_messages_carry_the_mapping_and_use_consents() {
        let c = mapped("心内科病例讨论");
        let m = PreparedMessage::render(
            Channel::Subscribe,
            &c,
            &account(AccountKind::Service),
            "https://x/c/1".into(),
        )
        .unwrap();
        assert_eq!(m.consent_template(), Some("SUB-1"));
        assert!(!m.resend_is_dropped());
        let AddressedMessage::Subscribe(msg) = m.to("o1", "p:o1") else {
            panic!("not a subscription message")
        };
        assert_eq!(msg.touser, "o1");
        assert_eq!(msg.data["thing1"].value, "心内科病例讨论");
        assert_eq!(msg.page.as_deref(), Some("https://x/c/1"));
        msg.validate().unwrap();
        // The same field rules as templates: thing is at most 20 characters.
        let long = mapped("一个远远超过二十个字的课程标题会被微信拒绝的哦");
        let err = PreparedMessage::render(
            Channel::MiniProgramSubscribe,
            &long,
            &account(AccountKind::MiniProgram),
            "u".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("thing1"), "{err}");
    }

    #[test]
    fn customer_service_link_card_and_its_limits() {
        let c = mapped("心内科病例讨论");
        let m = PreparedMessage::render(
            Channel::CustomerService,
            &c,
            &account(AccountKind::Subscription),
            "https://x/c/1".into(),
        )
        .unwrap();
        let AddressedMessage::CustomerService(msg) = m.to("o1", "p:o1") else {
            panic!("not a customer-service message")
        };
        let json = msg.to_json();
        assert_eq!(json["msgtype"], "news");
        assert_eq!(json["news"]["articles"][0]["title"], "心内科病例讨论");
        assert_eq!(json["news"]["articles"][0]["url"], "https://x/c/1");
        assert!(
            json["news"]["articles"][0]["description"]
                .as_str()
                .unwrap()
                .contains("2026-11-23 19:30")
        );
        assert!(m.consent_template().is_none());
        let long = mapped(&"长".repeat(CUSTOM_TITLE_MAX_CHARS + 1));
        let err = PreparedMessage::render(
            Channel::CustomerService,
            &long,
            &account(AccountKind::Service),
            "u".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("65"), "{err}");
    }

    #[test]
    fn wecom_card_goes_to_members_departments_tags() {
        let c = mapped("心内科病例讨论");
        let m = PreparedMessage::render(
            Channel::Wecom,
            &c,
            &account(AccountKind::Wecom),
            "https://x/c/1".into(),
        )
        .unwrap();
        assert!(m.resend_is_dropped());
        let wecom = |to: &str| match m.to(to, "p:x") {
            AddressedMessage::Wecom(w) => w.to_json(),
            other => panic!("not a WeCom message: {other:?}"),
        };
        let to_user = wecom("user000001");
        assert_eq!(to_user["touser"], "user000001");
        assert_eq!(to_user["msgtype"], "textcard");
        assert_eq!(to_user["agentid"], 1000002);
        assert_eq!(to_user["enable_duplicate_check"], 1);
        assert_eq!(wecom("party:2")["toparty"], "2");
        assert_eq!(wecom("tag:7")["totag"], "7");
        assert_eq!(wecom("@all")["touser"], "@all");
        // A title over WeCom's 128 bytes is refused before sending.
        let long = mapped(&"长".repeat(43));
        assert!(
            PreparedMessage::render(
                Channel::Wecom,
                &long,
                &account(AccountKind::Wecom),
                "u".into()
            )
            .is_err()
        );
        let mut no_agent = account(AccountKind::Wecom);
        no_agent.wecom_agent_id = None;
        assert!(PreparedMessage::render(Channel::Wecom, &c, &no_agent, "u".into()).is_err());
    }
}
