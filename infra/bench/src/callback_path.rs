//! livenotify's callback CPU path, the same steps the wechat-callback function takes before and
//! after its table writes: verify, decrypt, parse, decide, build and encrypt the reply.

use crate::workload::{Event, Workload};
use livenotify::domain::Scene;
use livenotify::wechat::MessageCrypto;
use livenotify::wechat::callback::{self, CallbackError, IncomingKind};

/// What one callback produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The encrypted reply body.
    pub reply: String,
    /// The event signs the user up for a course.
    pub signup: bool,
    /// The retry key the function would write its dedupe marker under.
    pub dedupe_key: String,
}

/// The account context, built once (as the function caches it per account).
#[derive(Debug, Clone)]
pub struct CallbackPath {
    token: String,
    crypto: MessageCrypto,
    now: i64,
}

impl CallbackPath {
    /// The context of the workload's account.
    pub fn new(workload: &Workload) -> Result<Self, livenotify::wechat::CryptoError> {
        Ok(Self {
            token: workload.token.clone(),
            crypto: MessageCrypto::new(&workload.encoding_aes_key, &workload.appid)?,
            now: workload.now,
        })
    }

    /// Handles one callback.
    pub fn handle(&self, event: &Event) -> Result<Outcome, CallbackError> {
        let opened = callback::open(
            &event.query(),
            event.body.as_bytes(),
            &self.token,
            Some(&self.crypto),
            livenotify::domain::CallbackMode::Safe,
            self.now,
        )?;
        let incoming = callback::parse(&opened.xml)?;
        let dedupe_key = incoming.dedupe_key(&opened.xml);
        let (content, signup) = match &incoming.kind {
            IncomingKind::Subscribe { event_key } => {
                match event_key.as_deref().and_then(Scene::from_event_key) {
                    Some(Scene::Course(course)) => {
                        (format!("报名成功：课程 {course}，开课前会提醒您。"), true)
                    }
                    None => ("感谢关注！发送“课程”查看近期直播。".to_string(), false),
                }
            }
            _ => (String::new(), false),
        };
        let reply = callback::text_reply(&incoming.from, &incoming.to, &content, self.now);
        let reply = callback::encrypt_reply(
            &self.crypto,
            &self.token,
            &reply,
            &opened.timestamp,
            &opened.nonce,
        );
        Ok(Outcome {
            reply,
            signup,
            dedupe_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livenotify::wechat::callback::CallbackQuery;

    /// Smoke version of the benchmark: every event is accepted, course scans are recognised,
    /// and every reply is a valid encrypted envelope of a text reply to the sender.
    #[test]
    fn every_event_gets_a_verifiable_encrypted_reply() {
        let workload = Workload::generate(20, 1_700_000_000);
        let path = CallbackPath::new(&workload).unwrap();
        let mut signups = 0;
        for (i, event) in workload.events.iter().enumerate() {
            let outcome = path.handle(event).unwrap();
            signups += usize::from(outcome.signup);
            // Open the reply as a WeChat client would: it is signed over its Encrypt.
            let query = CallbackQuery {
                signature: event.query().signature,
                msg_signature: Some(extract(&outcome.reply, "MsgSignature").expect("MsgSignature")),
                ..event.query()
            };
            let opened = callback::open(
                &query,
                outcome.reply.as_bytes(),
                &workload.token,
                Some(&MessageCrypto::new(&workload.encoding_aes_key, &workload.appid).unwrap()),
                livenotify::domain::CallbackMode::Safe,
                workload.now,
            )
            .unwrap();
            assert!(
                opened.xml.contains(&format!("oBench{i:022}")),
                "{}",
                opened.xml
            );
            assert!(opened.xml.contains(if outcome.signup {
                "报名成功"
            } else {
                "感谢关注"
            }));
        }
        assert_eq!(signups, workload.expected_signups());
    }

    #[test]
    fn a_tampered_event_is_refused() {
        let workload = Workload::generate(1, 1_700_000_000);
        let path = CallbackPath::new(&workload).unwrap();
        let mut event = workload.events[0].clone();
        event.body = event.body.replacen("<![CDATA[", "<![CDATA[x", 2);
        assert!(path.handle(&event).is_err());
        let mut event = workload.events[0].clone();
        event.signature = "0".repeat(40);
        assert!(matches!(
            path.handle(&event),
            Err(CallbackError::BadSignature)
        ));
    }

    fn extract(xml: &str, tag: &str) -> Option<String> {
        let start = xml.find(&format!("<{tag}><![CDATA["))? + tag.len() + 11;
        let end = start + xml[start..].find("]]>")?;
        Some(xml[start..end].to_string())
    }
}
