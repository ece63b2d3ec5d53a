//! Every message the sandbox accepted, indexed by recipient, plus the `client_msg_id`
//! idempotency window of template sends.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which API delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// `message/template/send`.
    Template,
    /// `message/subscribe/bizsend` (official-account subscription message).
    Subscribe,
    /// `message/subscribe/send` (mini program subscription message).
    MiniProgramSubscribe,
    /// `message/custom/send`.
    Custom,
    /// WeCom `message/send`.
    Wecom,
}

/// One message as the recipient's phone got it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    /// API that delivered it.
    pub kind: MessageKind,
    /// Sending account (WeCom: corpid).
    pub appid: String,
    /// Recipient: openid, WeCom userid, or `party:<id>` / `tag:<id>` / `@all` for WeCom.
    pub touser: String,
    /// msgid WeChat returned (custom messages have none).
    pub msgid: Option<u64>,
    /// `client_msg_id` of the request, if any.
    pub client_msg_id: Option<String>,
    /// Template id (template and subscription messages).
    pub template_id: Option<String>,
    /// `msgtype` (custom and WeCom messages).
    pub msgtype: Option<String>,
    /// The request body as sent.
    pub body: serde_json::Value,
    /// When the sandbox accepted it.
    pub received_at: DateTime<Utc>,
}

/// Received messages and the idempotency window.
#[derive(Debug, Default)]
pub struct MessageLog {
    all: Vec<ReceivedMessage>,
    by_recipient: HashMap<String, Vec<usize>>,
    by_msgid: HashMap<u64, usize>,
    /// (appid, openid, client_msg_id) -> (msgid, accepted at).
    idempotency: HashMap<(String, String, String), (u64, i64)>,
    /// WeCom duplicate check: (corpid, agentid, canonical body) -> (msgid, accepted at).
    wecom_duplicates: HashMap<(String, i64, String), (u64, i64)>,
}

impl MessageLog {
    /// Records a message.
    pub fn push(&mut self, m: ReceivedMessage) {
        let i = self.all.len();
        self.by_recipient
            .entry(m.touser.clone())
            .or_default()
            .push(i);
        if let Some(id) = m.msgid {
            self.by_msgid.entry(id).or_insert(i);
        }
        self.all.push(m);
    }

    /// Messages to one recipient, oldest first.
    pub fn to(&self, touser: &str) -> Vec<ReceivedMessage> {
        self.by_recipient
            .get(touser)
            .map(|ix| {
                ix.iter()
                    .filter_map(|i| self.all.get(*i).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every message, oldest first.
    pub fn all(&self) -> &[ReceivedMessage] {
        &self.all
    }

    /// The (first) message with this msgid.
    pub fn by_msgid(&self, msgid: u64) -> Option<&ReceivedMessage> {
        self.by_msgid.get(&msgid).and_then(|i| self.all.get(*i))
    }

    /// The msgid of an earlier send with the same `client_msg_id` inside `window` seconds.
    pub fn idempotent_hit(
        &self,
        appid: &str,
        openid: &str,
        client_msg_id: &str,
        now: i64,
        window: i64,
    ) -> Option<u64> {
        self.idempotency
            .get(&(
                appid.to_string(),
                openid.to_string(),
                client_msg_id.to_string(),
            ))
            .filter(|(_, at)| now - at < window)
            .map(|(id, _)| *id)
    }

    /// Remembers a send for the idempotency window.
    pub fn remember(
        &mut self,
        appid: &str,
        openid: &str,
        client_msg_id: &str,
        msgid: u64,
        now: i64,
    ) {
        self.idempotency.insert(
            (
                appid.to_string(),
                openid.to_string(),
                client_msg_id.to_string(),
            ),
            (msgid, now),
        );
    }

    /// The msgid of an identical WeCom message inside `window` seconds, if any.
    pub fn wecom_duplicate(
        &self,
        corpid: &str,
        agentid: i64,
        canonical: &str,
        now: i64,
        window: i64,
    ) -> Option<u64> {
        self.wecom_duplicates
            .get(&(corpid.to_string(), agentid, canonical.to_string()))
            .filter(|(_, at)| now - at < window)
            .map(|(id, _)| *id)
    }

    /// Remembers a WeCom message for duplicate checks.
    pub fn remember_wecom(
        &mut self,
        corpid: &str,
        agentid: i64,
        canonical: String,
        msgid: u64,
        now: i64,
    ) {
        self.wecom_duplicates
            .insert((corpid.to_string(), agentid, canonical), (msgid, now));
    }

    /// Forgets every message and idempotency key.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(touser: &str, msgid: u64) -> ReceivedMessage {
        ReceivedMessage {
            kind: MessageKind::Template,
            appid: "wx1".into(),
            touser: touser.into(),
            msgid: Some(msgid),
            client_msg_id: None,
            template_id: None,
            msgtype: None,
            body: serde_json::Value::Null,
            received_at: Utc::now(),
        }
    }

    #[test]
    fn indexes_by_recipient_and_msgid() {
        let mut log = MessageLog::default();
        log.push(msg("a", 1));
        log.push(msg("b", 2));
        log.push(msg("a", 3));
        assert_eq!(
            log.to("a")
                .iter()
                .filter_map(|m| m.msgid)
                .collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(log.by_msgid(2).map(|m| m.touser.as_str()), Some("b"));
        assert!(log.to("zz").is_empty());
    }

    #[test]
    fn idempotency_window() {
        let mut log = MessageLog::default();
        log.remember("wx1", "o1", "c1", 9, 100);
        assert_eq!(log.idempotent_hit("wx1", "o1", "c1", 699, 600), Some(9));
        assert_eq!(log.idempotent_hit("wx1", "o1", "c1", 700, 600), None);
        assert_eq!(log.idempotent_hit("wx1", "o2", "c1", 101, 600), None);
    }
}
