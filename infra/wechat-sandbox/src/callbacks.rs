//! Posting callbacks the way WeChat does: signed query, plaintext / compatible / safe body,
//! a timeout per attempt with retries, and decoding of the passive reply (decrypting it in
//! safe mode) so tests can read what the user saw.

use crate::accounts::EncryptionMode;
use crate::xml;
use livenotify::wechat::crypto::{self, MessageCrypto};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What WeChat shows the user when the account's server fails to answer properly.
pub const SERVICE_UNAVAILABLE: &str = "该公众号暂时无法提供服务，请稍后再试";

/// Where and how to post an account's callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// appid (the trailing id inside encrypted payloads).
    pub appid: String,
    /// Original id (`gh_...`).
    pub original_id: String,
    /// Server URL, if configured.
    pub url: Option<String>,
    /// Callback Token.
    pub token: String,
    /// EncodingAESKey.
    pub encoding_aes_key: String,
    /// Encryption mode.
    pub mode: EncryptionMode,
}

/// One HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// HTTP status, when the server answered in time.
    pub status: Option<u16>,
    /// Why the attempt failed (timeout, connection refused...).
    pub error: Option<String>,
    /// Time spent.
    pub elapsed_ms: u64,
}

/// The server's answer to a callback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackReply {
    /// HTTP status.
    pub status: u16,
    /// Raw body.
    pub body: String,
    /// Reply XML in plaintext (decrypted when the reply was encrypted); `None` for `success`/empty.
    pub xml: Option<String>,
    /// Whether the reply was encrypted.
    pub encrypted: bool,
    /// For encrypted replies: whether `MsgSignature` matched.
    pub signature_valid: Option<bool>,
    /// Top-level fields of the (decrypted) reply XML.
    pub fields: BTreeMap<String, String>,
    /// Why WeChat would reject this reply, if it would.
    pub error: Option<String>,
}

impl CallbackReply {
    /// `success` or an empty body: "nothing to say".
    pub fn is_ack(&self) -> bool {
        self.error.is_none() && self.xml.is_none()
    }

    /// The reply's MsgType.
    pub fn msg_type(&self) -> Option<&str> {
        self.fields.get("MsgType").map(String::as_str)
    }

    /// The text of a text reply.
    pub fn text(&self) -> Option<&str> {
        (self.msg_type() == Some("text"))
            .then(|| self.fields.get("Content").map(String::as_str))
            .flatten()
    }
}

/// What the user's phone showed after a callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserSaw {
    /// Nothing (reply `success` / empty, or callbacks not configured).
    Nothing,
    /// A passive reply.
    Message {
        /// MsgType of the reply.
        msg_type: String,
        /// Content of a text reply.
        content: Option<String>,
    },
    /// WeChat's "service unavailable" notice: no valid answer in time.
    ServiceUnavailable {
        /// Why.
        reason: String,
    },
}

/// A callback the phone fired and how the server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackOutcome {
    /// Account.
    pub appid: String,
    /// User.
    pub openid: String,
    /// Event (`subscribe`, `SCAN`, `TEMPLATESENDJOBFINISH`...) or MsgType (`text`).
    pub event: String,
    /// URL posted to (without the query).
    pub url: Option<String>,
    /// Query parameters sent.
    pub query: Vec<(String, String)>,
    /// The message in plaintext XML.
    pub xml: String,
    /// The HTTP body sent (encrypted envelope in safe mode).
    pub body: String,
    /// Every attempt, first one included.
    pub attempts: Vec<Attempt>,
    /// The answer, if any attempt got one.
    pub reply: Option<CallbackReply>,
    /// Why nothing was posted (no callback URL, unusable key).
    pub skipped: Option<String>,
}

impl CallbackOutcome {
    /// Whether the server answered some attempt.
    pub fn delivered(&self) -> bool {
        self.reply.is_some()
    }

    /// The text the user got back, if the reply was a text message.
    pub fn reply_text(&self) -> Option<&str> {
        self.reply.as_ref().and_then(CallbackReply::text)
    }

    /// What the user's phone showed.
    pub fn user_saw(&self) -> UserSaw {
        if self.skipped.is_some() {
            return UserSaw::Nothing;
        }
        let Some(reply) = &self.reply else {
            return UserSaw::ServiceUnavailable {
                reason: "no answer in time".into(),
            };
        };
        if let Some(e) = &reply.error {
            return UserSaw::ServiceUnavailable { reason: e.clone() };
        }
        match reply.msg_type() {
            None => UserSaw::Nothing,
            Some(t) => UserSaw::Message {
                msg_type: t.to_string(),
                content: reply.fields.get("Content").cloned(),
            },
        }
    }
}

/// Result of a GET URL verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOutcome {
    /// URL checked.
    pub url: String,
    /// HTTP status, if the server answered.
    pub status: Option<u16>,
    /// Body of the answer.
    pub body: String,
    /// Whether the server echoed `echostr` (what WeChat's console requires).
    pub verified: bool,
    /// Transport error, if any.
    pub error: Option<String>,
}

/// How long to wait for an answer and how many times to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts in total.
    pub attempts: u32,
}

/// Posts `plain_xml` to the target at sandbox time `now`, retrying like WeChat.
pub async fn deliver(
    http: &reqwest::Client,
    target: &CallbackTarget,
    openid: &str,
    event: &str,
    plain_xml: String,
    now: i64,
    policy: RetryPolicy,
) -> CallbackOutcome {
    let RetryPolicy { timeout, attempts } = policy;
    let mut outcome = CallbackOutcome {
        appid: target.appid.clone(),
        openid: openid.to_string(),
        event: event.to_string(),
        url: target.url.clone(),
        query: Vec::new(),
        xml: plain_xml.clone(),
        body: String::new(),
        attempts: Vec::new(),
        reply: None,
        skipped: None,
    };
    let Some(url) = target.url.clone() else {
        outcome.skipped = Some("account has no callback URL".into());
        return outcome;
    };
    let timestamp = now.to_string();
    let nonce = crate::ids::random_nonce();
    let mut query = vec![
        (
            "signature".to_string(),
            crypto::signature(&target.token, &timestamp, &nonce),
        ),
        ("timestamp".to_string(), timestamp.clone()),
        ("nonce".to_string(), nonce.clone()),
        ("openid".to_string(), openid.to_string()),
    ];
    outcome.body = match target.mode {
        EncryptionMode::Plaintext => plain_xml,
        mode => {
            let crypto = match MessageCrypto::new(&target.encoding_aes_key, &target.appid) {
                Ok(c) => c,
                Err(e) => {
                    outcome.skipped = Some(format!("unusable EncodingAESKey: {e}"));
                    return outcome;
                }
            };
            let encrypt = crypto.encrypt(plain_xml.as_bytes());
            query.push(("encrypt_type".into(), "aes".into()));
            query.push((
                "msg_signature".into(),
                crypto::msg_signature(&target.token, &timestamp, &nonce, &encrypt),
            ));
            if mode == EncryptionMode::Safe {
                xml::safe_envelope(&target.original_id, &encrypt)
            } else {
                xml::compatible_envelope(&plain_xml, &encrypt)
            }
        }
    };
    outcome.query = query;
    for _ in 0..attempts.max(1) {
        let started = Instant::now();
        let request = http
            .post(&url)
            .query(&outcome.query)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(outcome.body.clone());
        let answer = tokio::time::timeout(timeout, async {
            let resp = request.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        })
        .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match answer {
            Err(_) => outcome.attempts.push(Attempt {
                status: None,
                error: Some(format!("no answer within {} ms", timeout.as_millis())),
                elapsed_ms,
            }),
            Ok(Err(e)) => outcome.attempts.push(Attempt {
                status: None,
                error: Some(e.to_string()),
                elapsed_ms,
            }),
            Ok(Ok((status, body))) => {
                outcome.attempts.push(Attempt {
                    status: Some(status),
                    error: None,
                    elapsed_ms,
                });
                outcome.reply = Some(decode_reply(target, openid, status, body));
                break;
            }
        }
    }
    tracing::info!(
        appid = %target.appid,
        event,
        attempts = outcome.attempts.len(),
        delivered = outcome.delivered(),
        "callback fired"
    );
    outcome
}

/// Reads a passive reply as WeChat would.
pub fn decode_reply(
    target: &CallbackTarget,
    openid: &str,
    status: u16,
    body: String,
) -> CallbackReply {
    let mut reply = CallbackReply {
        status,
        body,
        ..CallbackReply::default()
    };
    if !(200..300).contains(&status) {
        reply.error = Some(format!("HTTP {status}"));
        return reply;
    }
    let trimmed = reply.body.trim();
    if trimmed.is_empty() || trimmed == "success" {
        return reply;
    }
    let outer = match xml::parse_flat(trimmed) {
        Ok(f) => f,
        Err(e) => {
            reply.error = Some(format!("reply is neither `success` nor XML: {e}"));
            return reply;
        }
    };
    let inner_xml = if let Some(encrypt) = outer.get("Encrypt") {
        reply.encrypted = true;
        let ts = outer
            .get("TimeStamp")
            .map(String::as_str)
            .unwrap_or_default();
        let nonce = outer.get("Nonce").map(String::as_str).unwrap_or_default();
        let sig = outer
            .get("MsgSignature")
            .map(String::as_str)
            .unwrap_or_default();
        let valid = crypto::verify_msg_signature(sig, &target.token, ts, nonce, encrypt);
        reply.signature_valid = Some(valid);
        if !valid {
            reply.error = Some("MsgSignature of the encrypted reply does not match".into());
        }
        let decrypted = MessageCrypto::new(&target.encoding_aes_key, &target.appid)
            .map_err(|e| e.to_string())
            .and_then(|c| c.decrypt(encrypt).map_err(|e| e.to_string()))
            .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()));
        match decrypted {
            Ok(x) => x,
            Err(e) => {
                reply.error = Some(format!("cannot decrypt reply: {e}"));
                return reply;
            }
        }
    } else {
        if target.mode == EncryptionMode::Safe {
            reply.error = Some("safe mode requires an encrypted reply".into());
        }
        trimmed.to_string()
    };
    match xml::parse_flat(&inner_xml) {
        Ok(fields) => {
            if reply.error.is_none() {
                reply.error = check_reply_fields(&fields, target, openid);
            }
            reply.fields = fields;
        }
        Err(e) => reply.error = Some(format!("decrypted reply is not XML: {e}")),
    }
    reply.xml = Some(inner_xml);
    reply
}

/// WeChat drops replies not addressed back to the user or without a MsgType.
fn check_reply_fields(
    fields: &BTreeMap<String, String>,
    target: &CallbackTarget,
    openid: &str,
) -> Option<String> {
    if fields.get("ToUserName").map(String::as_str) != Some(openid) {
        return Some("reply ToUserName is not the user's openid".into());
    }
    if fields.get("FromUserName").map(String::as_str) != Some(target.original_id.as_str()) {
        return Some("reply FromUserName is not the account's original id".into());
    }
    if fields.get("MsgType").is_none_or(String::is_empty) {
        return Some("reply has no MsgType".into());
    }
    None
}

/// GET URL verification: signature, timestamp, nonce, echostr; the server must echo echostr.
pub async fn verify(
    http: &reqwest::Client,
    target: &CallbackTarget,
    now: i64,
    timeout: Duration,
) -> VerifyOutcome {
    let url = target.url.clone().unwrap_or_default();
    let timestamp = now.to_string();
    let nonce = crate::ids::random_nonce();
    let echostr = crate::ids::random_nonce() + &crate::ids::random_nonce();
    let query = [
        (
            "signature",
            crypto::signature(&target.token, &timestamp, &nonce),
        ),
        ("timestamp", timestamp),
        ("nonce", nonce),
        ("echostr", echostr.clone()),
    ];
    let mut out = VerifyOutcome {
        url: url.clone(),
        status: None,
        body: String::new(),
        verified: false,
        error: None,
    };
    if url.is_empty() {
        out.error = Some("account has no callback URL".into());
        return out;
    }
    let answer = tokio::time::timeout(timeout, async {
        let resp = http.get(&url).query(&query).send().await?;
        let status = resp.status().as_u16();
        Ok::<_, reqwest::Error>((status, resp.text().await?))
    })
    .await;
    match answer {
        Err(_) => out.error = Some(format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(e)) => out.error = Some(e.to_string()),
        Ok(Ok((status, body))) => {
            out.verified = status == 200 && body.trim() == echostr;
            out.status = Some(status);
            out.body = body;
        }
    }
    out
}
