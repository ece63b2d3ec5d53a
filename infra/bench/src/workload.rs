//! The callback workload every implementation runs: safe-mode `subscribe` events exactly as
//! WeChat sends them (signed query, AES envelope), written to one JSON file.

use livenotify::domain::CourseId;
use livenotify::wechat::MessageCrypto;
use livenotify::wechat::callback::CallbackQuery;
use livenotify::wechat::crypto;
use serde::{Deserialize, Serialize};

/// Share of events that come through a course QR code (`qrscene_course_<id>`); the rest are
/// plain follows.
const COURSE_SCAN_PERCENT: usize = 80;

/// One callback request: query parameters and body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// `timestamp` query parameter.
    pub timestamp: String,
    /// `nonce` query parameter.
    pub nonce: String,
    /// `signature` query parameter.
    pub signature: String,
    /// `msg_signature` query parameter.
    pub msg_signature: String,
    /// The POST body (AES envelope XML).
    pub body: String,
}

impl Event {
    /// The query as the callback function receives it.
    pub fn query(&self) -> CallbackQuery {
        CallbackQuery {
            signature: Some(self.signature.clone()),
            timestamp: Some(self.timestamp.clone()),
            nonce: Some(self.nonce.clone()),
            openid: None,
            encrypt_type: Some("aes".into()),
            msg_signature: Some(self.msg_signature.clone()),
        }
    }
}

/// The account's settings and the events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workload {
    /// Server token.
    pub token: String,
    /// EncodingAESKey (43 characters).
    pub encoding_aes_key: String,
    /// The account's appid.
    pub appid: String,
    /// The account's original id (`gh_…`).
    pub original_id: String,
    /// "Now" for the replay-window check and reply times, epoch seconds.
    pub now: i64,
    /// The callbacks.
    pub events: Vec<Event>,
}

impl Workload {
    /// `count` distinct subscribe events of distinct users, signed and encrypted.
    pub fn generate(count: usize, now: i64) -> Self {
        let token = "livenotifybenchtoken".to_string();
        let encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".to_string();
        let appid = "wx0123456789abcdef".to_string();
        let original_id = "gh_0123456789ab".to_string();
        let crypto = MessageCrypto::new(&encoding_aes_key, &appid)
            .expect("the benchmark's EncodingAESKey has 43 characters");
        let events = (0..count)
            .map(|i| {
                let openid = format!("oBench{i:022}");
                let event_key = if i % 100 < COURSE_SCAN_PERCENT {
                    format!("qrscene_course_{}", CourseId::generate())
                } else {
                    String::new()
                };
                let plain = format!(
                    "<xml><ToUserName><![CDATA[{original_id}]]></ToUserName>\
                     <FromUserName><![CDATA[{openid}]]></FromUserName>\
                     <CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                     <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[{event_key}]]></EventKey>\
                     <Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==]]></Ticket></xml>"
                );
                let encrypt = crypto.encrypt(plain.as_bytes());
                let timestamp = now.to_string();
                let nonce = format!("{}", 100_000_000 + i);
                Event {
                    signature: crypto::signature(&token, &timestamp, &nonce),
                    msg_signature: crypto::msg_signature(&token, &timestamp, &nonce, &encrypt),
                    body: format!(
                        "<xml><ToUserName><![CDATA[{original_id}]]></ToUserName>\
                         <Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                    ),
                    timestamp,
                    nonce,
                }
            })
            .collect();
        Self {
            token,
            encoding_aes_key,
            appid,
            original_id,
            now,
            events,
        }
    }

    /// How many events come through a course code (each implementation must count the same).
    pub fn expected_signups(&self) -> usize {
        (0..self.events.len())
            .filter(|i| i % 100 < COURSE_SCAN_PERCENT)
            .count()
    }
}
