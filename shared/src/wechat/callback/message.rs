//! The XML of a callback message or event, parsed into a typed [`Incoming`].

use super::CallbackError;
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// Result of a template message, from `TEMPLATESENDJOBFINISH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateJobStatus {
    /// `success`.
    Delivered,
    /// `failed:user block`: the user blocks the account's messages.
    UserBlocked,
    /// `failed: system failed` (or any other failure text).
    SystemFailed,
}

impl TemplateJobStatus {
    fn from_wechat(status: &str) -> Self {
        // WeChat's spacing varies ("failed:user block", "failed: system failed").
        let normal: String = status
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        match normal.as_str() {
            "success" => Self::Delivered,
            "failed:userblock" => Self::UserBlocked,
            _ => Self::SystemFailed,
        }
    }
}

/// One template decision of a subscription-message popup or settings change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentDecision {
    /// Template.
    pub template_id: String,
    /// Accepted (`accept`) or not (`reject`, or anything else).
    pub accepted: bool,
}

/// One result of `subscribe_msg_sent_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentResult {
    /// Template.
    pub template_id: String,
    /// WeChat's msgid of the message.
    pub msgid: String,
    /// 0 = delivered.
    pub error_code: i64,
    /// WeChat's words.
    pub error_status: String,
}

/// What happened, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomingKind {
    /// Followed; `event_key` is `qrscene_<scene>` through a parametric QR.
    Subscribe {
        /// EventKey, if not empty.
        event_key: Option<String>,
    },
    /// Unfollowed.
    Unsubscribe,
    /// Scanned a parametric QR while following; `event_key` is the scene.
    Scan {
        /// The scene.
        event_key: String,
    },
    /// Result of a template message.
    TemplateJobFinished {
        /// WeChat's msgid, as returned by the send.
        msgid: String,
        /// The outcome.
        status: TemplateJobStatus,
    },
    /// The user answered a subscription-message popup.
    ConsentPopup(Vec<ConsentDecision>),
    /// The user changed subscription-message settings.
    ConsentChange(Vec<ConsentDecision>),
    /// WeChat reports subscription messages sent.
    ConsentSent(Vec<SentResult>),
    /// A text message.
    Text {
        /// MsgId.
        msgid: String,
        /// The text.
        content: String,
    },
    /// Another message type (image, voice...).
    OtherMessage {
        /// MsgType.
        msg_type: String,
        /// MsgId, if any.
        msgid: Option<String>,
    },
    /// Another event (menu click, location...).
    OtherEvent {
        /// Event.
        event: String,
    },
}

/// A parsed callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The account's original id (`gh_…`).
    pub to: String,
    /// The user's openid.
    pub from: String,
    /// WeChat's time of the event, epoch seconds.
    pub create_time: i64,
    /// What happened.
    pub kind: IncomingKind,
}

impl Incoming {
    /// The key under which WeChat's retries of this callback are recognised: MsgId for
    /// messages, the msgid for receipts (unique per message), and for other events the
    /// sender plus a digest of the whole plaintext `xml` (a retry is byte-identical, while two
    /// genuine events in the same second, such as two consent popups, differ).
    pub fn dedupe_key(&self, xml: &str) -> String {
        match &self.kind {
            IncomingKind::Text { msgid, .. }
            | IncomingKind::OtherMessage {
                msgid: Some(msgid), ..
            } => format!("msg:{msgid}"),
            IncomingKind::TemplateJobFinished { msgid, .. } => format!("receipt:{msgid}"),
            _ => {
                let digest = Sha1::digest(xml.as_bytes());
                format!("event:{}:{}", self.from, hex::encode(&digest[..10]))
            }
        }
    }
}

impl IncomingKind {
    /// Short name for logs and dedupe keys.
    pub fn label(&self) -> &str {
        match self {
            Self::Subscribe { .. } => "subscribe",
            Self::Unsubscribe => "unsubscribe",
            Self::Scan { .. } => "SCAN",
            Self::TemplateJobFinished { .. } => "TEMPLATESENDJOBFINISH",
            Self::ConsentPopup(_) => "subscribe_msg_popup_event",
            Self::ConsentChange(_) => "subscribe_msg_change_event",
            Self::ConsentSent(_) => "subscribe_msg_sent_event",
            Self::Text { .. } => "text",
            Self::OtherMessage { msg_type, .. } => msg_type,
            Self::OtherEvent { event } => event,
        }
    }
}

/// Every element the platform reads; the rest is ignored.
#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "ToUserName")]
    to: Option<String>,
    #[serde(rename = "FromUserName")]
    from: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "EventKey")]
    event_key: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "MsgID")]
    msg_id_upper: Option<String>,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "Content")]
    content: Option<String>,
    #[serde(rename = "SubscribeMsgPopupEvent")]
    popup: Option<RawList<RawConsent>>,
    #[serde(rename = "SubscribeMsgChangeEvent")]
    change: Option<RawList<RawConsent>>,
    #[serde(rename = "SubscribeMsgSentEvent")]
    sent: Option<RawList<RawSent>>,
}

#[derive(Deserialize)]
struct RawList<T> {
    #[serde(rename = "List", default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Deserialize)]
struct RawConsent {
    #[serde(rename = "TemplateId")]
    template_id: Option<String>,
    #[serde(rename = "SubscribeStatusString")]
    status: Option<String>,
}

#[derive(Deserialize)]
struct RawSent {
    #[serde(rename = "TemplateId")]
    template_id: Option<String>,
    #[serde(rename = "MsgID")]
    msg_id: Option<String>,
    #[serde(rename = "ErrorCode")]
    error_code: Option<String>,
    #[serde(rename = "ErrorStatus")]
    error_status: Option<String>,
}

fn present(value: Option<String>, name: &'static str) -> Result<String, CallbackError> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::MissingElement(name))
}

fn optional(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn consents(list: Option<RawList<RawConsent>>) -> Vec<ConsentDecision> {
    list.map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            Some(ConsentDecision {
                template_id: optional(c.template_id)?,
                accepted: c
                    .status
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("accept")),
            })
        })
        .collect()
}

/// Parses the (plaintext) XML of a callback.
pub fn parse(xml: &str) -> Result<Incoming, CallbackError> {
    let raw: Raw =
        quick_xml::de::from_str(xml).map_err(|e| CallbackError::MalformedXml(e.to_string()))?;
    let to = present(raw.to, "ToUserName")?;
    let from = present(raw.from, "FromUserName")?;
    let create_time = present(raw.create_time, "CreateTime")?
        .parse::<i64>()
        .map_err(|_| CallbackError::MalformedXml("CreateTime is not a number".into()))?;
    let msg_type = present(raw.msg_type, "MsgType")?;
    let kind = if msg_type.eq_ignore_ascii_case("event") {
        let event = present(raw.event, "Event")?;
        match event.to_ascii_lowercase().as_str() {
            "subscribe" => IncomingKind::Subscribe {
                event_key: optional(raw.event_key),
            },
            "unsubscribe" => IncomingKind::Unsubscribe,
            "scan" => IncomingKind::Scan {
                event_key: present(raw.event_key, "EventKey")?,
            },
            "templatesendjobfinish" => IncomingKind::TemplateJobFinished {
                msgid: present(raw.msg_id_upper.or(raw.msg_id), "MsgID")?,
                status: TemplateJobStatus::from_wechat(&present(raw.status, "Status")?),
            },
            "subscribe_msg_popup_event" => IncomingKind::ConsentPopup(consents(raw.popup)),
            "subscribe_msg_change_event" => IncomingKind::ConsentChange(consents(raw.change)),
            "subscribe_msg_sent_event" => IncomingKind::ConsentSent(
                raw.sent
                    .map(|l| l.items)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|s| {
                        Some(SentResult {
                            template_id: optional(s.template_id)?,
                            msgid: optional(s.msg_id)?,
                            error_code: optional(s.error_code)
                                .and_then(|c| c.parse().ok())
                                .unwrap_or(-1),
                            error_status: optional(s.error_status).unwrap_or_default(),
                        })
                    })
                    .collect(),
            ),
            _ => IncomingKind::OtherEvent { event },
        }
    } else if msg_type.eq_ignore_ascii_case("text") {
        IncomingKind::Text {
            msgid: present(raw.msg_id.or(raw.msg_id_upper), "MsgId")?,
            content: raw.content.unwrap_or_default(),
        }
    } else {
        IncomingKind::OtherMessage {
            msg_type,
            msgid: optional(raw.msg_id.or(raw.msg_id_upper)),
        }
    };
    Ok(Incoming {
        to,
        from,
        create_time,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(body: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>{body}</xml>"
        )
    }

    #[test]
    fn subscribe_with_and_without_scene() {
        let m = parse(&event("<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_course_1]]></EventKey><Ticket>t</Ticket>")).unwrap();
        assert_eq!(m.from, "o1");
        assert_eq!(m.to, "gh_1");
        assert_eq!(
            m.kind,
            IncomingKind::Subscribe {
                event_key: Some("qrscene_course_1".into())
            }
        );
        let xml = event("<Event>subscribe</Event><EventKey><![CDATA[]]></EventKey>");
        let m = parse(&xml).unwrap();
        assert_eq!(m.kind, IncomingKind::Subscribe { event_key: None });
        assert_eq!(m.dedupe_key(&xml), m.dedupe_key(&xml.clone()));
        assert_ne!(
            m.dedupe_key(&xml),
            m.dedupe_key(&xml.replace("CreateTime>1", "CreateTime>2"))
        );
        assert!(m.dedupe_key(&xml).starts_with("event:o1:"));
    }

    #[test]
    fn receipts_and_their_statuses() {
        for (text, status) in [
            ("success", TemplateJobStatus::Delivered),
            ("failed:user block", TemplateJobStatus::UserBlocked),
            ("failed: system failed", TemplateJobStatus::SystemFailed),
        ] {
            let m = parse(&event(&format!(
                "<Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status><![CDATA[{text}]]></Status>"
            )))
            .unwrap();
            assert_eq!(
                m.kind,
                IncomingKind::TemplateJobFinished {
                    msgid: "200163836".into(),
                    status
                }
            );
            assert_eq!(m.dedupe_key(""), "receipt:200163836");
        }
    }

    #[test]
    fn consent_lists() {
        let m = parse(&event(
            "<Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent>\
             <List><TemplateId>t1</TemplateId><SubscribeStatusString>accept</SubscribeStatusString><PopupScene>2</PopupScene></List>\
             <List><TemplateId>t2</TemplateId><SubscribeStatusString>reject</SubscribeStatusString><PopupScene>2</PopupScene></List>\
             </SubscribeMsgPopupEvent>",
        ))
        .unwrap();
        assert_eq!(
            m.kind,
            IncomingKind::ConsentPopup(vec![
                ConsentDecision {
                    template_id: "t1".into(),
                    accepted: true
                },
                ConsentDecision {
                    template_id: "t2".into(),
                    accepted: false
                },
            ])
        );
        let m = parse(&event(
            "<Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent><List><TemplateId>t1</TemplateId>\
             <MsgID>7</MsgID><ErrorCode>43101</ErrorCode><ErrorStatus>failed:user block</ErrorStatus></List></SubscribeMsgSentEvent>",
        ))
        .unwrap();
        assert_eq!(
            m.kind,
            IncomingKind::ConsentSent(vec![SentResult {
                template_id: "t1".into(),
                msgid: "7".into(),
                error_code: 43101,
                error_status: "failed:user block".into()
            }])
        );
    }

    #[test]
    fn text_message() {
        let m = parse(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o2</FromUserName><CreateTime>1</CreateTime>\
             <MsgType>text</MsgType><Content><![CDATA[课程]]></Content><MsgId>1234567890123456</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(
            m.kind,
            IncomingKind::Text {
                msgid: "1234567890123456".into(),
                content: "课程".into()
            }
        );
        assert_eq!(m.dedupe_key(""), "msg:1234567890123456");
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        for bad in [
            "",
            "not xml",
            "<xml>",
            "<xml><ToUserName>gh</ToUserName></xml>",
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>",
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>",
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>SCAN</Event></xml>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Arbitrary text never panics the parser.
        #[test]
        fn parser_never_panics(input in ".{0,400}") {
            let _ = parse(&input);
        }

        /// Mutated valid messages never panic the parser either.
        #[test]
        fn mutated_messages_never_panic(cut in 0usize..400, insert in ".{0,20}") {
            let valid = event("<Event>TEMPLATESENDJOBFINISH</Event><MsgID>1</MsgID><Status>success</Status>");
            let cut = cut.min(valid.len());
            let at = (0..=cut).rev().find(|i| valid.is_char_boundary(*i)).unwrap_or(0);
            let mutated = format!("{}{}{}", &valid[..at], insert, &valid[at..]);
            let _ = parse(&mutated);
        }
    }
}
