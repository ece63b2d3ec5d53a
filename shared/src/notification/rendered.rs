//! A course notification rendered for one account and channel, as the admin API previews and
//! test-sends it: the same [`PreparedMessage`] the push worker sends, so what an admin sees
//! is what recipients get, on every channel.

use super::channel::{AddressedMessage, PreparedMessage};
use super::template::{NotificationError, landing_url};
use crate::domain::{Account, Channel, Course};
use crate::wechat::{MessageData, WechatError, WecomMessageBody};
use serde_json::Value;

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

/// Renders `course` for `account` on `channel`, checking every rule WeChat would check
/// (channel allowed for the account kind, mapping complete, field lengths). Notifications
/// open the course's landing page under `public_base_url`.
pub fn render_for_channel(
    course: &Course,
    account: &Account,
    channel: Channel,
    public_base_url: &str,
) -> Result<PreparedMessage, NotificationError> {
    PreparedMessage::render(
        channel,
        course,
        account,
        landing_url(public_base_url, course.id),
    )
}

/// Recipient fields of the WeChat and WeCom message bodies, dropped from an unaddressed
/// preview.
const RECIPIENT_KEYS: [&str; 3] = ["touser", "toparty", "totag"];

impl AddressedMessage {
    /// The JSON body its API receives.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Template(m) => serde_json::to_value(m).unwrap_or_default(),
            Self::Subscribe(m) => serde_json::to_value(m).unwrap_or_default(),
            Self::MiniProgramSubscribe(m) => serde_json::to_value(m).unwrap_or_default(),
            Self::CustomerService(m) => m.to_json(),
            Self::Wecom(m) => m.to_json(),
        }
    }
}

impl PreparedMessage {
    /// The request body WeChat gets, addressed to `recipient` (an openid, or a WeCom member
    /// id / `party:<id>` / `tag:<id>`), or without recipient fields when `None`.
    pub fn wire(&self, recipient: Option<&str>, client_msg_id: Option<&str>) -> Value {
        let mut body = self
            .to(
                recipient.unwrap_or_default(),
                client_msg_id.unwrap_or_default(),
            )
            .to_json();
        if let Some(map) = body.as_object_mut() {
            if client_msg_id.is_none() {
                map.remove("client_msg_id");
            }
            if recipient.is_none() {
                for key in RECIPIENT_KEYS {
                    map.remove(key);
                }
            }
        }
        body
    }

    /// A plain-text rendering for display, one `label：value` line each.
    pub fn text(&self) -> String {
        let mut lines = Vec::new();
        match self {
            Self::Template(t) => {
                field_lines(&t.data, &mut lines);
                if let Some(url) = &t.url {
                    lines.push(format!("链接：{url}"));
                }
            }
            Self::Subscribe(s) | Self::MiniProgramSubscribe(s) => {
                field_lines(&s.data, &mut lines);
                if let Some(page) = &s.page {
                    lines.push(format!("链接：{page}"));
                }
            }
            Self::CustomerService(article) => {
                lines.push(format!("标题：{}", article.title));
                if let Some(description) = &article.description {
                    lines.push(format!("摘要：{description}"));
                }
                lines.push(format!("链接：{}", article.url));
            }
            Self::Wecom { body, .. } => match body {
                WecomMessageBody::TextCard {
                    title,
                    description,
                    url,
                    btntxt,
                } => {
                    lines.push(format!("标题：{title}"));
                    lines.push(format!("描述：{description}"));
                    lines.push(format!("链接：{url}"));
                    if let Some(button) = btntxt {
                        lines.push(format!("按钮：{button}"));
                    }
                }
                other => lines.push(other.content().to_string()),
            },
        }
        lines.join("\n")
    }
}

fn field_lines(data: &MessageData, lines: &mut Vec<String>) {
    lines.extend(
        data.iter()
            .map(|(key, value)| format!("{key}：{}", value.value)),
    );
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
    use crate::domain::{AccountId, AccountKind, CallbackMode, TemplateMapping};
    use crate::notification::placeholders::tests::course;

    fn account(kind: AccountKind) -> Account {
        let at = chrono::Utc::now();
        Account {
            id: AccountId::new("wxhtology").unwrap(),
            name: "htology".into(),
            kind,
            appid: "wxhtology".into(),
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
        let wire = rendered.wire(None, None);
        assert_eq!(wire["template_id"], "TPL1");
        assert_eq!(wire["data"]["thing1"]["value"], "心内科病例讨论");
        assert_eq!(wire["url"], format!("https://x.example/c/{}", c.id));
        assert!(wire.get("touser").is_none());
        assert!(wire.get("client_msg_id").is_none());
        let addressed = rendered.wire(Some("o1"), Some("test:1"));
        assert_eq!(addressed["touser"], "o1");
        assert_eq!(addressed["client_msg_id"], "test:1");
        assert_eq!(
            rendered.text(),
            format!(
                "thing1：心内科病例讨论\ntime2：2026-11-23 19:30\n链接：https://x.example/c/{}",
                c.id
            )
        );
    }

    #[test]
    fn every_channel_renders_for_its_account_kind() {
        let c = mapped_course();
        let cases = [
            (Channel::Subscribe, AccountKind::Subscription, "template_id"),
            (
                Channel::MiniProgramSubscribe,
                AccountKind::MiniProgram,
                "template_id",
            ),
            (Channel::CustomerService, AccountKind::Service, "news"),
            (Channel::Wecom, AccountKind::Wecom, "textcard"),
        ];
        for (channel, kind, key) in cases {
            let rendered = render_for_channel(&c, &account(kind), channel, "https://x").unwrap();
            assert_eq!(rendered.channel(), channel);
            let wire = rendered.wire(None, None);
            assert!(wire.get(key).is_some(), "{channel:?}: {wire}");
            for recipient in RECIPIENT_KEYS {
                assert!(wire.get(recipient).is_none(), "{channel:?}: {wire}");
            }
            assert!(rendered.text().contains("心内科病例讨论"), "{channel:?}");
        }
        let wecom = render_for_channel(
            &c,
            &account(AccountKind::Wecom),
            Channel::Wecom,
            "https://x",
        )
        .unwrap();
        assert_eq!(wecom.wire(Some("zhangsan"), None)["touser"], "zhangsan");
        assert_eq!(wecom.wire(Some("party:7"), None)["toparty"], "7");
        assert!(wecom.text().contains("按钮：进入课程"));
    }

    #[test]
    fn wrong_account_kind_and_long_fields_are_refused() {
        let c = mapped_course();
        let err = render_for_channel(
            &c,
            &account(AccountKind::Subscription),
            Channel::Template,
            "https://x",
        )
        .unwrap_err();
        assert!(matches!(err, NotificationError::ChannelUnavailable { .. }));
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
            NotificationError::Field(WechatError::InvalidTemplateData { ref key, .. })
                if key == "thing1"
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
