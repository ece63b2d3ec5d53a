//! The idempotency key WeChat gets for one (push, recipient).

use crate::domain::PushId;
use crate::wechat::api::message::CLIENT_MSG_ID_MAX_BYTES;
use sha2::{Digest, Sha256};

/// `client_msg_id` of the message of `push` to `openid`: the same for every retry and every
/// redelivered batch, so WeChat drops a repeated send inside its idempotency window.
/// `<push>:<openid>` when that fits WeChat's 64 bytes, else `<push>:` + a hash of the openid.
pub fn client_msg_id(push: PushId, openid: &str) -> String {
    let plain = format!("{push}:{openid}");
    if plain.len() <= CLIENT_MSG_ID_MAX_BYTES {
        return plain;
    }
    let digest = Sha256::digest(openid.as_bytes());
    // 26 (ULID) + 1 + 32 hex characters = 59 bytes.
    format!("{push}:{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_within_limit() {
        let push = PushId::generate();
        let a = client_msg_id(push, "oAbc123");
        assert_eq!(a, client_msg_id(push, "oAbc123"));
        assert_eq!(a, format!("{push}:oAbc123"));
        assert_ne!(a, client_msg_id(push, "oAbc124"));
        assert_ne!(a, client_msg_id(PushId::generate(), "oAbc123"));
    }

    #[test]
    fn long_openids_are_hashed_and_stay_distinct() {
        let push = PushId::generate();
        let long_a = "a".repeat(100);
        let long_b = format!("{}b", "a".repeat(99));
        let a = client_msg_id(push, &long_a);
        let b = client_msg_id(push, &long_b);
        assert!(a.len() <= CLIENT_MSG_ID_MAX_BYTES);
        assert!(b.len() <= CLIENT_MSG_ID_MAX_BYTES);
        assert_ne!(a, b);
        assert!(a.starts_with(&push.to_string()));
    }
}
