//! Knobs of the sandbox. Defaults mirror WeChat; tests shrink the timeouts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Endpoint names used as keys for counters, faults and quotas.
pub mod endpoints {
    /// `GET /cgi-bin/token`.
    pub const TOKEN: &str = "/cgi-bin/token";
    /// `POST /cgi-bin/stable_token`.
    pub const STABLE_TOKEN: &str = "/cgi-bin/stable_token";
    /// `POST /cgi-bin/message/template/send`.
    pub const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";
    /// `POST /cgi-bin/message/subscribe/bizsend`.
    pub const BIZSEND: &str = "/cgi-bin/message/subscribe/bizsend";
    /// `POST /cgi-bin/message/subscribe/send` (mini program).
    pub const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";
    /// `POST /cgi-bin/message/custom/send`.
    pub const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";
    /// `POST /cgi-bin/qrcode/create`.
    pub const QRCODE_CREATE: &str = "/cgi-bin/qrcode/create";
    /// `GET /cgi-bin/showqrcode`.
    pub const SHOWQRCODE: &str = "/cgi-bin/showqrcode";
    /// `GET /cgi-bin/user/get`.
    pub const USER_GET: &str = "/cgi-bin/user/get";
    /// `GET /cgi-bin/user/info`.
    pub const USER_INFO: &str = "/cgi-bin/user/info";
    /// `POST /cgi-bin/user/info/batchget`.
    pub const USER_BATCHGET: &str = "/cgi-bin/user/info/batchget";
    /// `GET /connect/oauth2/authorize`.
    pub const OAUTH_AUTHORIZE: &str = "/connect/oauth2/authorize";
    /// `GET /sns/oauth2/access_token`.
    pub const OAUTH_ACCESS_TOKEN: &str = "/sns/oauth2/access_token";
    /// `GET /wecom/cgi-bin/gettoken` (WeCom, served under the `/wecom` prefix).
    pub const WECOM_GETTOKEN: &str = "/wecom/cgi-bin/gettoken";
    /// `POST /wecom/cgi-bin/message/send` (WeCom).
    pub const WECOM_SEND: &str = "/wecom/cgi-bin/message/send";

    /// Every emulated WeChat endpoint, for listings.
    pub const ALL: &[&str] = &[
        TOKEN,
        STABLE_TOKEN,
        TEMPLATE_SEND,
        BIZSEND,
        SUBSCRIBE_SEND,
        CUSTOM_SEND,
        QRCODE_CREATE,
        SHOWQRCODE,
        USER_GET,
        USER_INFO,
        USER_BATCHGET,
        OAUTH_AUTHORIZE,
        OAUTH_ACCESS_TOKEN,
        WECOM_GETTOKEN,
        WECOM_SEND,
    ];
}

/// Sandbox configuration; `Settings::default()` behaves like WeChat.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Lifetime of access tokens (`expires_in`), 7200 s by default.
    pub token_ttl: Duration,
    /// How long a replaced `/cgi-bin/token` token keeps working (WeChat: 5 minutes).
    pub token_overlap: Duration,
    /// How long the phone waits for the callback server before retrying (WeChat: 5 s).
    pub callback_timeout: Duration,
    /// Callback attempts in total, first one included (WeChat: 3).
    pub callback_attempts: u32,
    /// Window in which a repeated `(openid, client_msg_id)` sends nothing (WeChat: 10 min).
    pub client_msg_id_window: Duration,
    /// Customer-service window after the user's last interaction (WeChat: 48 h).
    pub custom_window: Duration,
    /// Customer-service messages allowed per window (WeChat: 20, then 45047).
    pub custom_messages_per_window: u32,
    /// Lifetime of an OAuth `code` (WeChat: 5 minutes).
    pub oauth_code_ttl: Duration,
    /// Openids per `user/get` page (WeChat: 10,000).
    pub user_get_page_size: usize,
    /// Daily quota per account, keyed by endpoint; endpoints absent here are unlimited.
    pub default_quotas: BTreeMap<String, u64>,
    /// Whether `subscribe/bizsend` needs a recorded consent, as on WeChat.
    pub bizsend_requires_consent: bool,
    /// Fire `TEMPLATESENDJOBFINISH` (success) automatically after each template send.
    pub auto_template_receipts: bool,
    /// Seed of the random source behind fault rates and churn (reproducible runs).
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        use endpoints::*;
        // WeChat's published daily limits for a verified service account.
        let default_quotas = [
            (TOKEN, 2_000),
            (STABLE_TOKEN, 500_000),
            (TEMPLATE_SEND, 100_000),
            (QRCODE_CREATE, 100_000),
            (USER_GET, 500),
            (USER_BATCHGET, 500_000),
            (CUSTOM_SEND, 500_000),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self {
            token_ttl: Duration::from_secs(7200),
            token_overlap: Duration::from_secs(300),
            callback_timeout: Duration::from_secs(5),
            callback_attempts: 3,
            client_msg_id_window: Duration::from_secs(600),
            custom_window: Duration::from_secs(48 * 3600),
            custom_messages_per_window: 20,
            oauth_code_ttl: Duration::from_secs(300),
            user_get_page_size: 10_000,
            default_quotas,
            bizsend_requires_consent: true,
            auto_template_receipts: false,
            seed: 0x5eed_1e55,
        }
    }
}

/// JSON form of [`Settings`] (durations in seconds or milliseconds); every field optional, so
/// it doubles as a patch over the current settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// [`Settings::token_ttl`] in seconds.
    pub token_ttl_secs: Option<u64>,
    /// [`Settings::token_overlap`] in seconds.
    pub token_overlap_secs: Option<u64>,
    /// [`Settings::callback_timeout`] in milliseconds.
    pub callback_timeout_ms: Option<u64>,
    /// [`Settings::callback_attempts`].
    pub callback_attempts: Option<u32>,
    /// [`Settings::client_msg_id_window`] in seconds.
    pub client_msg_id_window_secs: Option<u64>,
    /// [`Settings::custom_window`] in seconds.
    pub custom_window_secs: Option<u64>,
    /// [`Settings::custom_messages_per_window`].
    pub custom_messages_per_window: Option<u32>,
    /// [`Settings::oauth_code_ttl`] in seconds.
    pub oauth_code_ttl_secs: Option<u64>,
    /// [`Settings::user_get_page_size`].
    pub user_get_page_size: Option<usize>,
    /// Entries merged into [`Settings::default_quotas`].
    pub default_quotas: Option<BTreeMap<String, u64>>,
    /// [`Settings::bizsend_requires_consent`].
    pub bizsend_requires_consent: Option<bool>,
    /// [`Settings::auto_template_receipts`].
    pub auto_template_receipts: Option<bool>,
    /// [`Settings::seed`].
    pub seed: Option<u64>,
}

impl SettingsPatch {
    /// Applies the fields that are set; a page size or attempt count of 0 is raised to 1.
    pub fn apply(&self, s: &mut Settings) {
        if let Some(v) = self.token_ttl_secs {
            s.token_ttl = Duration::from_secs(v);
        }
        if let Some(v) = self.token_overlap_secs {
            s.token_overlap = Duration::from_secs(v);
        }
        if let Some(v) = self.callback_timeout_ms {
            s.callback_timeout = Duration::from_millis(v);
        }
        if let Some(v) = self.callback_attempts {
            s.callback_attempts = v.max(1);
        }
        if let Some(v) = self.client_msg_id_window_secs {
            s.client_msg_id_window = Duration::from_secs(v);
        }
        if let Some(v) = self.custom_window_secs {
            s.custom_window = Duration::from_secs(v);
        }
        if let Some(v) = self.custom_messages_per_window {
            s.custom_messages_per_window = v;
        }
        if let Some(v) = self.oauth_code_ttl_secs {
            s.oauth_code_ttl = Duration::from_secs(v);
        }
        if let Some(v) = self.user_get_page_size {
            s.user_get_page_size = v.max(1);
        }
        if let Some(q) = &self.default_quotas {
            s.default_quotas
                .extend(q.iter().map(|(k, v)| (k.clone(), *v)));
        }
        if let Some(v) = self.bizsend_requires_consent {
            s.bizsend_requires_consent = v;
        }
        if let Some(v) = self.auto_template_receipts {
            s.auto_template_receipts = v;
        }
        if let Some(v) = self.seed {
            s.seed = v;
        }
    }

    /// The full JSON view of `s`.
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            token_ttl_secs: Some(s.token_ttl.as_secs()),
            token_overlap_secs: Some(s.token_overlap.as_secs()),
            callback_timeout_ms: Some(
                u64::try_from(s.callback_timeout.as_millis()).unwrap_or(u64::MAX),
            ),
            callback_attempts: Some(s.callback_attempts),
            client_msg_id_window_secs: Some(s.client_msg_id_window.as_secs()),
            custom_window_secs: Some(s.custom_window.as_secs()),
            custom_messages_per_window: Some(s.custom_messages_per_window),
            oauth_code_ttl_secs: Some(s.oauth_code_ttl.as_secs()),
            user_get_page_size: Some(s.user_get_page_size),
            default_quotas: Some(s.default_quotas.clone()),
            bizsend_requires_consent: Some(s.bizsend_requires_consent),
            auto_template_receipts: Some(s.auto_template_receipts),
            seed: Some(s.seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_round_trips_and_clamps() {
        let mut s = Settings::default();
        let view = SettingsPatch::from_settings(&s);
        let mut copy = Settings::default();
        view.apply(&mut copy);
        assert_eq!(copy, s);
        SettingsPatch {
            callback_attempts: Some(0),
            user_get_page_size: Some(0),
            ..Default::default()
        }
        .apply(&mut s);
        assert_eq!(s.callback_attempts, 1);
        assert_eq!(s.user_get_page_size, 1);
    }
}
