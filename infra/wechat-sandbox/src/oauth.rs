//! Web OAuth codes: issued by the authorize page, exchanged once for the user's openid.

use crate::errcode::{self, WxError};
use crate::ids;
use std::collections::HashMap;

/// An issued code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthCode {
    /// Account the code was issued for.
    pub appid: String,
    /// User who authorised.
    pub openid: String,
    /// `snsapi_base` or `snsapi_userinfo`.
    pub scope: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Already exchanged?
    pub used: bool,
}

/// Issued codes and the "current phone user" per account.
#[derive(Debug, Default)]
pub struct OauthStore {
    codes: HashMap<String, OauthCode>,
    phone_users: HashMap<String, String>,
}

impl OauthStore {
    /// Issues a single-use code.
    pub fn issue(&mut self, appid: &str, openid: &str, scope: &str, expires_at: i64) -> String {
        let code = ids::random_token_chars(32);
        self.codes.insert(
            code.clone(),
            OauthCode {
                appid: appid.to_string(),
                openid: openid.to_string(),
                scope: scope.to_string(),
                expires_at,
                used: false,
            },
        );
        code
    }

    /// Exchanges a code: 40029 unknown, expired or for another app; 40163 already used.
    pub fn redeem(&mut self, appid: &str, code: &str, now: i64) -> Result<OauthCode, WxError> {
        let Some(c) = self.codes.get_mut(code).filter(|c| c.appid == appid) else {
            return Err(WxError::new(errcode::INVALID_CODE));
        };
        if c.used {
            return Err(WxError::new(errcode::CODE_USED));
        }
        if now >= c.expires_at {
            return Err(WxError::new(errcode::INVALID_CODE));
        }
        c.used = true;
        Ok(c.clone())
    }

    /// Sets who holds the phone when the authorize page of `appid` opens without `sandbox_openid`.
    pub fn set_phone_user(&mut self, appid: &str, openid: Option<String>) {
        match openid {
            Some(o) => self.phone_users.insert(appid.to_string(), o),
            None => self.phone_users.remove(appid),
        };
    }

    /// The current phone user of `appid`.
    pub fn phone_user(&self, appid: &str) -> Option<&String> {
        self.phone_users.get(appid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_single_use_and_expire() {
        let mut s = OauthStore::default();
        let c = s.issue("wx1", "o1", "snsapi_base", 100);
        assert_eq!(s.redeem("wx2", &c, 0).map_err(|e| e.errcode), Err(40029));
        assert_eq!(
            s.redeem("wx1", &c, 0).map(|c| c.openid),
            Ok("o1".to_string())
        );
        assert_eq!(s.redeem("wx1", &c, 0).map_err(|e| e.errcode), Err(40163));
        let d = s.issue("wx1", "o1", "snsapi_base", 100);
        assert_eq!(s.redeem("wx1", &d, 100).map_err(|e| e.errcode), Err(40029));
    }
}
