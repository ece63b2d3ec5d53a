//! A course notification rendered for one account and channel: what the admin API previews
//! and test-sends. One render function per channel; a new channel adds its arm to
//! [`render_for_channel`] and its variant to [`RenderedNotification`].

use super::template::{NotificationError, PreparedTemplate, landing_url};
use crate::domain::{Account, AccountKind, Channel, Course};
use crate::wechat::WechatError;

/// Why a notification cannot be rendered for a channel. Shown to admins as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The course's content or mapping breaks a rule (missing template, field too long...).
    #[error(transparent)]
    Notification(#[from] NotificationError),
    /// The account cannot send on this channel (e.g. a template message from a subscription
    /// account).
    #[error("{account} 不能通过渠道 {channel} 发送")]
    ChannelNotForAccount {
        /// Account name.
        account: String,
        /// Channel name.
        channel: &'static str,
    },
    /// Rendering of this channel is not available yet.
    #[error("渠道 {0} 暂不支持预览和测试发送")]
    UnsupportedChannel(&'static str),
}

/// A rendered notification, ready to address to recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderedNotification {
    /// 模板消息 of a service account.
    Template(PreparedTemplate),
}

/// The wire name of a channel (as the API and the push records spell it).
pub fn channel_code(channel: Channel) -> &'static str {
    match channel {
        Channel::Template => "template",
        Channel::Subscribe => "subscribe",
        Channel::MiniProgramSubscribe => "mini_program_subscribe",
        Channel::CustomerService => "customer_service",
        Channel::Wecom => "wecom",
    }
}

/// Renders `course` for `account` on `channel`, checking every rule WeChat would check.
/// Notifications open the course's landing page under `public_base_url`.
pub fn render_for_channel(
    course: &Course,
    account: &Account,
    channel: Channel,
    public_base_url: &str,
) -> Result<RenderedNotification, RenderError> {
    match channel {
        Channel::Template => render_template(course, account, public_base_url),
        other => Err(RenderError::UnsupportedChannel(channel_code(other))),
    }
}

fn render_template(
    course: &Course,
    account: &Account,
    public_base_url: &str,
) -> Result<RenderedNotification, RenderError> {
    if account.kind != AccountKind::Service {
        return Err(RenderError::ChannelNotForAccount {
            account: account.name.clone(),
            channel: channel_code(Channel::Template),
        });
    }
    let url = landing_url(public_base_url, course.id);
    let prepared = PreparedTemplate::render(course, &account.id, Some(url))?;
    Ok(RenderedNotification::Template(prepared))
}

impl RenderedNotification {
    /// The channel it is sent on.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Template(_) => Channel::Template,
        }
    }

    /// The request body WeChat gets, addressed to `openid` (without `touser` when `None`).
    pub fn wire(&self, openid: Option<&str>) -> serde_json::Value {
        match self {
            Self::Template(prepared) => {
                let message = prepared.to(openid.unwrap_or_default(), None);
                let mut value = serde_json::to_value(&message).unwrap_or_default();
                if openid.is_none()
                    && let Some(map) = value.as_object_mut()
                {
                    map.remove("touser");
                }
                value
            }
        }
    }

    /// A plain-text rendering for display: one `key：value` line per field, then the link.
    pub fn text(&self) -> String {
        match self {
            Self::Template(prepared) => {
                let mut lines: Vec<String> = prepared
                    .data
                    .iter()
                    .map(|(key, value)| format!("{key}：{}", value.value))
                    .collect();
                if let Some(url) = &prepared.url {
                    lines.push(format!("链接：{url}"));
                }
                lines.join("\n")
            }
        }
    }
}

/// The errcode and errmsg of a WeChat refusal, when WeChat answered with one.
pub fn wechat_refusal(error: &WechatError) -> Option<(i64, &str)> {
    match error {
        WechatError::Busy { code, message }
        | WechatError::TokenRejected { code, message }
        | WechatError::UserSkipped { code, message, .. }
        | WechatError::QuotaExhausted { code, message }
        | WechatError::JobFatal { code, message, .. }
        | WechatError::Api { code, message } => Some((*code, message.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, CallbackMode, TemplateMapping};
    use crate::notification::placeholders::tests::course;

    fn account(kind: AccountKind) -> Account {
        let at = chrono::Utc::now();
        Account {
            id: AccountId::new("wxhtology").unwrap(),
            name: "htology".into(),
            kind,
            appid: "wxhtology".into(),
            original_id: String::new(),
            wecom_agent_id: None,
            callback_mode: CallbackMode::Plaintext,
            follower_count: 0,
            follow_url: None,
            keyword_replies: Vec::new(),
            created_at: at,
            updated_at: at,
        }
    }

    fn mapped_course() -> Course {
        let mut c = course();
        c.templates.insert(
            AccountId::new("wxhtology").unwrap(),
            TemplateMapping {
                template_id: "TPL1".into(),
                fields: [("thing1", "{title}"), ("time2", "{start_time}")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
        c
    }

    #[test]
    fn template_renders_wire_body_and_text() {
        let c = mapped_course();
        let rendered = render_for_channel(
            &c,
            &account(AccountKind::Service),
            Channel::Template,
            "https://x.example",
        )
        .unwrap();
        assert_eq!(rendered.channel(), Channel::Template);
        let wire = rendered.wire(None);
        assert_eq!(wire["template_id"], "TPL1");
        assert_eq!(wire["data"]["thing1"]["value"], "心内科病例讨论");
        assert_eq!(wire["url"], format!("https://x.example/c/{}", c.id));
        assert!(wire.get("touser").is_none());
        assert_eq!(rendered.wire(Some("o1"))["touser"], "o1");
        assert_eq!(
            rendered.text(),
            format!(
                "thing1：心内科病例讨论\ntime2：2026-11-23 19:30\n链接：https://x.example/c/{}",
                c.id
            )
        );
    }

    #[test]
    fn wrong_account_kind_unsupported_channel_and_long_fields_are_refused() {
        let c = mapped_course();
        let err = render_for_channel(
            &c,
            &account(AccountKind::Subscription),
            Channel::Template,
            "https://x",
        )
        .unwrap_err();
        assert!(matches!(err, RenderError::ChannelNotForAccount { .. }));
        let err = render_for_channel(
            &c,
            &account(AccountKind::Service),
            Channel::CustomerService,
            "https://x",
        )
        .unwrap_err();
        assert_eq!(err, RenderError::UnsupportedChannel("customer_service"));
        let mut long = mapped_course();
        long.title = "这是一个超过二十个字的非常非常长的课程标题啊啊啊".into();
        let err = render_for_channel(
            &long,
            &account(AccountKind::Service),
            Channel::Template,
            "https://x",
        )
        .unwrap_err();
        assert!(matches!(
            err,
            RenderError::Notification(NotificationError::Field(
                WechatError::InvalidTemplateData { ref key, .. }
            )) if key == "thing1"
        ));
    }

    #[test]
    fn refusals_expose_errcode_and_errmsg() {
        let e = WechatError::from_errcode(43004, "require subscribe");
        assert_eq!(wechat_refusal(&e), Some((43004, "require subscribe")));
        assert_eq!(
            wechat_refusal(&WechatError::InvalidRequest("x".into())),
            None
        );
    }
}
