//! Access tokens: issue, replace with overlap, expire, revoke, validate.
//!
//! WeChat keeps `/cgi-bin/token` and `stable_token` credentials apart; a new `/cgi-bin/token`
//! replaces the previous one after a short overlap (so uncoordinated refreshers break each
//! other with 40001), `stable_token` hands back the same token while it is valid, and WeCom's
//! `gettoken` does too.

use crate::errcode::{self, WxError};
use crate::ids;
use std::collections::HashMap;

/// Which API issued a token; it decides where the token is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `/cgi-bin/token`.
    Regular,
    /// `/cgi-bin/stable_token`.
    Stable,
    /// WeCom `gettoken`.
    Wecom,
    /// Web OAuth user token (`/sns/oauth2/access_token`).
    Sns,
}

impl TokenKind {
    /// Whether an official-account API (`/cgi-bin/...`) accepts this token.
    pub fn is_official(self) -> bool {
        matches!(self, Self::Regular | Self::Stable)
    }
}

#[derive(Debug, Clone)]
struct TokenRecord {
    appid: String,
    kind: TokenKind,
    expires_at: i64,
    /// Set when a newer token replaced this one: it stops working at this time.
    invalid_after: Option<i64>,
    revoked: bool,
}

/// A freshly issued (or reused) token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The token.
    pub access_token: String,
    /// Seconds left.
    pub expires_in: i64,
}

/// Every token ever issued, and the current one per (appid, kind).
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, TokenRecord>,
    current: HashMap<(String, TokenKind), String>,
    issued: u64,
}

impl TokenStore {
    /// Issues a new token of `kind`; the previous current one dies after `overlap` seconds
    /// (0 = at once).
    pub fn issue(
        &mut self,
        appid: &str,
        kind: TokenKind,
        now: i64,
        ttl: i64,
        overlap: i64,
    ) -> Issued {
        let key = (appid.to_string(), kind);
        if let Some(old) = self.current.get(&key).and_then(|t| self.tokens.get_mut(t)) {
            let end = now.saturating_add(overlap);
            old.invalid_after = Some(old.invalid_after.map_or(end, |t| t.min(end)));
        }
        self.issued += 1;
        // WeChat tokens look like "86_" + ~130 URL-safe characters.
        let token = format!("{}_{}", 80 + self.issued % 20, ids::random_token_chars(130));
        self.tokens.insert(
            token.clone(),
            TokenRecord {
                appid: appid.to_string(),
                kind,
                expires_at: now.saturating_add(ttl),
                invalid_after: None,
                revoked: false,
            },
        );
        self.current.insert(key, token.clone());
        Issued {
            access_token: token,
            expires_in: ttl,
        }
    }

    /// The current token of `kind` if still valid, else a new one (stable_token, WeCom).
    pub fn current_or_issue(&mut self, appid: &str, kind: TokenKind, now: i64, ttl: i64) -> Issued {
        let key = (appid.to_string(), kind);
        if let Some(token) = self.current.get(&key)
            && let Some(rec) = self.tokens.get(token)
            && rec.usable(now)
        {
            return Issued {
                access_token: token.clone(),
                expires_in: rec.expires_at - now,
            };
        }
        self.issue(appid, kind, now, ttl, 0)
    }

    /// The appid a token belongs to, if it is valid for `accept`; else 40001 or 42001.
    pub fn validate(
        &self,
        token: &str,
        now: i64,
        accept: impl Fn(TokenKind) -> bool,
    ) -> Result<String, WxError> {
        let Some(rec) = self.tokens.get(token).filter(|r| accept(r.kind)) else {
            return Err(WxError::new(errcode::INVALID_CREDENTIAL));
        };
        if rec.revoked || rec.invalid_after.is_some_and(|t| now >= t) {
            return Err(WxError::new(errcode::INVALID_CREDENTIAL));
        }
        if now >= rec.expires_at {
            return Err(WxError::new(errcode::ACCESS_TOKEN_EXPIRED));
        }
        Ok(rec.appid.clone())
    }

    /// Makes every token of `appid` expired (42001 from now on).
    pub fn expire(&mut self, appid: &str, now: i64) {
        for rec in self.tokens.values_mut().filter(|r| r.appid == appid) {
            rec.expires_at = rec.expires_at.min(now);
        }
    }

    /// Makes every token of `appid` invalid (40001 from now on).
    pub fn revoke(&mut self, appid: &str) {
        for rec in self.tokens.values_mut().filter(|r| r.appid == appid) {
            rec.revoked = true;
        }
    }

    /// The token `/cgi-bin/token` last issued for `appid` (test convenience).
    pub fn current(&self, appid: &str, kind: TokenKind) -> Option<String> {
        self.current.get(&(appid.to_string(), kind)).cloned()
    }
}

impl TokenRecord {
    fn usable(&self, now: i64) -> bool {
        !self.revoked && now < self.expires_at && self.invalid_after.is_none_or(|t| now < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: TokenKind) -> bool {
        true
    }

    #[test]
    fn regular_tokens_replace_after_overlap() {
        let mut s = TokenStore::default();
        let a = s.issue("wx1", TokenKind::Regular, 0, 7200, 300);
        let b = s.issue("wx1", TokenKind::Regular, 10, 7200, 300);
        assert_ne!(a.access_token, b.access_token);
        assert_eq!(s.validate(&a.access_token, 100, any).as_deref(), Ok("wx1"));
        assert_eq!(
            s.validate(&a.access_token, 310, any).map_err(|e| e.errcode),
            Err(40001)
        );
        assert_eq!(s.validate(&b.access_token, 7209, any).as_deref(), Ok("wx1"));
        assert_eq!(
            s.validate(&b.access_token, 7210, any)
                .map_err(|e| e.errcode),
            Err(42001)
        );
    }

    #[test]
    fn stable_tokens_are_reused_until_invalid() {
        let mut s = TokenStore::default();
        let a = s.current_or_issue("wx1", TokenKind::Stable, 0, 7200);
        let b = s.current_or_issue("wx1", TokenKind::Stable, 100, 7200);
        assert_eq!(a.access_token, b.access_token);
        assert_eq!(b.expires_in, 7100);
        s.expire("wx1", 200);
        assert_eq!(
            s.validate(&a.access_token, 200, any).map_err(|e| e.errcode),
            Err(42001)
        );
        let c = s.current_or_issue("wx1", TokenKind::Stable, 200, 7200);
        assert_ne!(c.access_token, a.access_token);
        s.revoke("wx1");
        assert_eq!(
            s.validate(&c.access_token, 201, any).map_err(|e| e.errcode),
            Err(40001)
        );
    }

    #[test]
    fn kinds_are_kept_apart() {
        let mut s = TokenStore::default();
        let w = s.issue("ww1", TokenKind::Wecom, 0, 7200, 0);
        assert!(
            s.validate(&w.access_token, 1, TokenKind::is_official)
                .is_err()
        );
        assert!(s.validate("nope", 1, any).is_err());
    }
}
