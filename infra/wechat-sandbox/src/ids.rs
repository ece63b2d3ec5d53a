//! Deterministic, decodable WeChat-looking identifiers.
//!
//! Openids are never stored: an openid is `o` + a 5-character account tag + 11 characters
//! encoding the person number through a keyed bijection + 11 check characters (28 in all,
//! WeChat's length and alphabet). Decoding it gives the account (by tag) and the person back,
//! which is what lets a million followers live in a few megabytes. Unionids use the same
//! layout keyed by the open-platform group, so one person has one unionid across its accounts.

use rand::Rng;
use rand::distr::Alphanumeric;

/// Characters WeChat uses in openids, unionids and tokens.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Length of an openid / unionid.
pub const ID_LEN: usize = 28;
/// Length of the account / group tag inside an id.
const TAG_LEN: usize = 5;

/// splitmix64's finaliser: a bijection on u64 that scatters consecutive inputs.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// Inverse of [`mix64`].
pub fn unmix64(mut z: u64) -> u64 {
    z = unxorshift(z, 31).wrapping_mul(inverse(M2));
    z = unxorshift(z, 27).wrapping_mul(inverse(M1));
    unxorshift(z, 30)
}

const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;

/// Undoes `z ^ (z >> shift)`.
fn unxorshift(z: u64, shift: u32) -> u64 {
    let mut x = z;
    // Each round recovers `shift` more high bits; 64 / shift rounds suffice.
    for _ in 0..(64 / shift + 1) {
        x = z ^ (x >> shift);
    }
    x
}

/// Multiplicative inverse of an odd number modulo 2^64 (Newton iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// A stable 64-bit hash of a string (FNV-1a, then mixed); not cryptographic.
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

/// 11 characters for a u64, most significant first (the first character carries 4 bits).
fn encode11(v: u64, out: &mut String) {
    for i in (0..11).rev() {
        let idx = ((v >> (i * 6)) & 63) as usize;
        out.push(char::from(ALPHABET[idx]));
    }
}

fn char_value(c: u8) -> Option<u64> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u64::from(v))
}

fn decode11(s: &[u8]) -> Option<u64> {
    if s.len() != 11 || char_value(s[0])? >= 16 {
        return None;
    }
    s.iter()
        .try_fold(0u64, |acc, &c| Some((acc << 6) | char_value(c)?))
}

/// The id namespace of one account (openids) or one open-platform group (unionids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSpace {
    tag: String,
    key: u64,
    check_key: u64,
}

impl IdSpace {
    /// The namespace derived from `label`; `salt` changes the tag when two labels collide.
    pub fn new(label: &str, salt: u32) -> Self {
        let h = hash_str(&format!("{label}#{salt}"));
        let mut tag = String::with_capacity(TAG_LEN);
        for i in 0..TAG_LEN {
            tag.push(char::from(ALPHABET[((h >> (i * 6)) & 63) as usize]));
        }
        Self {
            tag,
            key: mix64(h ^ 0x6f70_656e),
            check_key: mix64(h ^ 0x6368_6563),
        }
    }

    /// The 5-character tag every id of this namespace carries after its leading `o`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The id of person `pid`.
    pub fn encode(&self, pid: u64) -> String {
        let mut out = String::with_capacity(ID_LEN);
        out.push('o');
        out.push_str(&self.tag);
        encode11(mix64(pid ^ self.key), &mut out);
        encode11(mix64(pid.wrapping_add(self.check_key)), &mut out);
        out
    }

    /// The person behind `id`, if `id` belongs to this namespace.
    pub fn decode(&self, id: &str) -> Option<u64> {
        if tag_of(id)? != self.tag {
            return None;
        }
        let b = id.as_bytes();
        let pid = unmix64(decode11(&b[6..17])?) ^ self.key;
        (decode11(&b[17..28])? == mix64(pid.wrapping_add(self.check_key))).then_some(pid)
    }
}

/// The namespace tag of an openid/unionid-shaped string.
pub fn tag_of(id: &str) -> Option<&str> {
    if id.len() != ID_LEN || !id.starts_with('o') {
        return None;
    }
    id.get(1..1 + TAG_LEN)
}

/// WeCom member userid of person `pid` (members have readable ids, not openids).
pub fn wecom_userid(pid: u64) -> String {
    format!("user{pid:06}")
}

/// The person behind a WeCom userid made by [`wecom_userid`].
pub fn parse_wecom_userid(userid: &str) -> Option<u64> {
    let digits = userid.strip_prefix("user")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `len` random characters from WeChat's id alphabet.
pub fn random_token_chars(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..64)]))
        .collect()
}

/// `len` random ASCII letters and digits.
pub fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A numeric nonce like the ones WeChat puts on callbacks.
pub fn random_nonce() -> String {
    rand::rng()
        .random_range(100_000_000u64..10_000_000_000)
        .to_string()
}

/// `n` deterministic characters from `alphabet`, derived from `label`.
fn derived_chars(label: &str, alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut h = hash_str(label);
    let len = alphabet.len() as u64;
    while out.len() < n {
        h = mix64(h.wrapping_add(0x9e37_79b9_7f4a_7c15));
        let mut x = h;
        for _ in 0..8 {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[(x % len) as usize]));
            x /= len;
        }
    }
    out
}

/// Default AppSecret of an appid: 32 lowercase hex characters, like WeChat's.
pub fn derived_secret(appid: &str) -> String {
    derived_chars(&format!("secret:{appid}"), b"0123456789abcdef", 32)
}

/// Default callback Token of an appid.
pub fn derived_callback_token(appid: &str) -> String {
    derived_chars(
        &format!("token:{appid}"),
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        16,
    )
}

/// Default EncodingAESKey of an appid: 43 letters and digits, as WeChat generates them.
pub fn derived_aes_key(appid: &str) -> String {
    derived_chars(
        &format!("aes:{appid}"),
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        43,
    )
}

/// Default original id (`gh_` + 12 hex) of an appid, the `ToUserName` of its callbacks.
pub fn derived_original_id(appid: &str) -> String {
    format!(
        "gh_{}",
        derived_chars(&format!("gh:{appid}"), b"0123456789abcdef", 12)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_invertible() {
        for x in [0u64, 1, 2, 42, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(unmix64(mix64(x)), x);
        }
    }

    #[test]
    fn ids_round_trip_and_reject_strangers() {
        let a = IdSpace::new("wxaaaa", 0);
        let b = IdSpace::new("wxbbbb", 0);
        for pid in [0u64, 1, 999_999, u64::MAX] {
            let id = a.encode(pid);
            assert_eq!(id.len(), ID_LEN);
            assert!(id.starts_with('o'));
            assert_eq!(a.decode(&id), Some(pid));
            assert_eq!(b.decode(&id), None);
        }
        let mut forged = a.encode(5).into_bytes();
        forged[27] = if forged[27] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            a.decode(&String::from_utf8(forged).unwrap_or_default()),
            None
        );
        assert_eq!(a.decode("short"), None);
        assert_eq!(a.decode("é".repeat(14).as_str()), None);
    }

    #[test]
    fn consecutive_ids_look_unrelated() {
        let a = IdSpace::new("wxaaaa", 0);
        assert_ne!(a.encode(1)[6..12], a.encode(2)[6..12]);
    }

    #[test]
    fn derived_credentials_are_stable_and_shaped() {
        assert_eq!(derived_secret("wx1"), derived_secret("wx1"));
        assert_eq!(derived_secret("wx1").len(), 32);
        assert_eq!(derived_aes_key("wx1").len(), 43);
        assert!(derived_original_id("wx1").starts_with("gh_"));
        assert_eq!(derived_original_id("wx1").len(), 15);
        assert!(
            livenotify::wechat::crypto::MessageCrypto::new(&derived_aes_key("wx1"), "wx1").is_ok()
        );
    }

    #[test]
    fn wecom_userids_round_trip() {
        assert_eq!(parse_wecom_userid(&wecom_userid(42)), Some(42));
        assert_eq!(parse_wecom_userid("user12"), None);
        assert_eq!(parse_wecom_userid("zhangsan"), None);
    }
}
