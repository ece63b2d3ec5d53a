//! The template-message rendering of a course notification.

use super::placeholders::CourseFields;
use crate::domain::{AccountId, Course, CourseId};
use crate::wechat::api::message::validate_data;
use crate::wechat::{DataValue, MessageData, TemplateMessage, WechatError};

/// Why a course cannot be rendered as a notification. Shown to admins as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// The course has no template mapping for the sending account.
    #[error("课程未配置公众号 {account} 的消息模板")]
    NoTemplate {
        /// Account.
        account: AccountId,
    },
    /// A mapping has no template id or no fields.
    #[error("公众号 {account} 的模板配置不完整：{reason}")]
    IncompleteMapping {
        /// Account.
        account: AccountId,
        /// What is missing.
        reason: &'static str,
    },
    /// A field's text has a bad placeholder.
    #[error("模板字段 {key} 的占位符有误：{reason}")]
    Placeholder {
        /// Template key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A filled field breaks WeChat's rule for its type (what WeChat would refuse with 47003).
    #[error("模板字段不符合微信规则：{0}")]
    Field(WechatError),
    /// The push's channel cannot be used by the sending account (or lacks its settings).
    #[error("{account} 不能发送{channel}")]
    ChannelUnavailable {
        /// The channel's name.
        channel: &'static str,
        /// The account's name.
        account: String,
    },
    /// A rendered text is longer than the channel allows.
    #[error("{what}有 {len} 个字符，最多 {max} 个")]
    TooLong {
        /// Which text.
        what: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The landing page of a course (follow gate, then the live room): where a notification opens.
pub fn landing_url(public_base_url: &str, course: CourseId) -> String {
    format!("{}/c/{course}", public_base_url.trim_end_matches('/'))
}

/// A course's template message for one account, rendered and checked once, then addressed to
/// each recipient with [`PreparedTemplate::to`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedTemplate {
    /// WeChat template id.
    pub template_id: String,
    /// Filled, checked field values.
    pub data: MessageData,
    /// Page opened on tap.
    pub url: Option<String>,
}

impl PreparedTemplate {
    /// Renders `course` with its mapping for `account`, checking every field against WeChat's
    /// length and character rules. `url` is the page opened on tap (usually [`landing_url`]).
    pub fn render(
        course: &Course,
        account: &AccountId,
        url: Option<String>,
    ) -> Result<Self, NotificationError> {
        let mapping =
            course
                .templates
                .get(account)
                .ok_or_else(|| NotificationError::NoTemplate {
                    account: account.clone(),
                })?;
        let incomplete = |reason| NotificationError::IncompleteMapping {
            account: account.clone(),
            reason,
        };
        if mapping.template_id.trim().is_empty() {
            return Err(incomplete("缺少模板 ID"));
        }
        if mapping.fields.is_empty() {
            return Err(incomplete("没有字段"));
        }
        let fields = CourseFields::of(course);
        let mut data = MessageData::new();
        for (key, text) in &mapping.fields {
            let value = fields
                .fill(text)
                .map_err(|reason| NotificationError::Placeholder {
                    key: key.clone(),
                    reason,
                })?;
            data.insert(key.clone(), DataValue::new(value));
        }
        validate_data(&data).map_err(NotificationError::Field)?;
        Ok(Self {
            template_id: mapping.template_id.clone(),
            data,
            url,
        })
    }

    /// The message to `openid`, carrying the idempotency key `client_msg_id`.
    pub fn to(&self, openid: &str, client_msg_id: Option<String>) -> TemplateMessage {
        let mut message = TemplateMessage::new(openid, self.template_id.clone());
        message.data = self.data.clone();
        message.url = self.url.clone();
        message.client_msg_id = client_msg_id;
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TemplateMapping;
    use crate::notification::placeholders::tests::course;
    use std::collections::BTreeMap;

    fn account() -> AccountId {
        AccountId::new("wxhtology").unwrap()
    }

    fn with_fields(fields: &[(&str, &str)]) -> Course {
        let mut c = course();
        c.templates.insert(
            account(),
            TemplateMapping {
                template_id: "TPL1".into(),
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            },
        );
        c
    }

    #[test]
    fn renders_fields_url_and_recipient() {
        let c = with_fields(&[
            ("thing1", "{title}"),
            ("time2", "{start_time}"),
            ("name3", "{speaker}"),
        ]);
        let url = landing_url("https://x.example/", c.id);
        let prepared = PreparedTemplate::render(&c, &account(), Some(url.clone())).unwrap();
        let msg = prepared.to("o1", Some("p:o1".into()));
        assert_eq!(msg.touser, "o1");
        assert_eq!(msg.template_id, "TPL1");
        assert_eq!(msg.data["thing1"].value, "心内科病例讨论");
        assert_eq!(msg.data["time2"].value, "2026-11-23 19:30");
        assert_eq!(msg.data["name3"].value, "王医生");
        assert_eq!(msg.url.as_deref(), Some(url.as_str()));
        assert_eq!(url, format!("https://x.example/c/{}", c.id));
        assert_eq!(msg.client_msg_id.as_deref(), Some("p:o1"));
        msg.validate().unwrap();
    }

    #[test]
    fn too_long_field_is_refused_before_sending() {
        let mut c = with_fields(&[("thing1", "{title}{description}")]);
        c.title = "一个非常非常非常长的课程标题".into();
        c.description = "再加上一段很长很长的描述".into();
        let err = PreparedTemplate::render(&c, &account(), None).unwrap_err();
        assert!(
            matches!(err, NotificationError::Field(WechatError::InvalidTemplateData { ref key, .. }) if key == "thing1"),
            "{err}"
        );
        assert!(err.to_string().contains("thing1"));
    }

    #[test]
    fn missing_mapping_and_bad_placeholder_are_clear_errors() {
        let err = PreparedTemplate::render(&course(), &account(), None).unwrap_err();
        assert_eq!(err, NotificationError::NoTemplate { account: account() });
        let c = with_fields(&[("thing1", "{teacher}")]);
        let err = PreparedTemplate::render(&c, &account(), None).unwrap_err();
        assert!(matches!(err, NotificationError::Placeholder { ref key, .. } if key == "thing1"));
        let c = with_fields(&[]);
        assert!(matches!(
            PreparedTemplate::render(&c, &account(), None),
            Err(NotificationError::IncompleteMapping { .. })
        ));
    }
}
