//! Everything the sandbox remembers, behind one lock (held briefly, never across an await).

use crate::accounts::{AccountKind, SandboxAccount};
use crate::callbacks::{CallbackOutcome, CallbackTarget};
use crate::clock::{Clock, secs};
use crate::consents::Consents;
use crate::counters::Counters;
use crate::errcode::{self, WxError};
use crate::faults::Faults;
use crate::followers::{FollowerInfo, Population};
use crate::ids::{self, IdSpace};
use crate::messages::MessageLog;
use crate::oauth::OauthStore;
use crate::qr::QrStore;
use crate::quotas::QuotaStore;
use crate::settings::Settings;
use crate::tokens::TokenStore;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeMap, HashMap};

/// One account with its id namespace and people.
#[derive(Debug)]
pub struct AccountEntry {
    /// Configuration and credentials.
    pub account: SandboxAccount,
    /// Openid namespace.
    pub ids: IdSpace,
    /// Unionid namespace of its open-platform group.
    pub union: Option<IdSpace>,
    /// Followers, former followers and visitors.
    pub pop: Population,
}

impl AccountEntry {
    /// The openid (WeCom: userid) of person `pid`.
    pub fn openid(&self, pid: u64) -> String {
        if self.account.kind == AccountKind::Wecom {
            ids::wecom_userid(pid)
        } else {
            self.ids.encode(pid)
        }
    }

    /// The unionid of person `pid`, if the account is in an open-platform group.
    pub fn unionid(&self, pid: u64) -> Option<String> {
        self.union.as_ref().map(|u| u.encode(pid))
    }

    /// The person behind `openid`, if it is a known person of this account.
    pub fn pid(&self, openid: &str) -> Option<u64> {
        let pid = if self.account.kind == AccountKind::Wecom {
            ids::parse_wecom_userid(openid)?
        } else {
            self.ids.decode(openid)?
        };
        self.pop.exists(pid).then_some(pid)
    }

    /// The sandbox view of person `pid`.
    pub fn info(&self, pid: u64) -> FollowerInfo {
        FollowerInfo::build(
            &self.account.appid,
            &self.pop,
            pid,
            self.openid(pid),
            self.unionid(pid),
        )
    }

    /// Where and how callbacks of this account go.
    pub fn callback_target(&self) -> CallbackTarget {
        CallbackTarget {
            appid: self.account.appid.clone(),
            original_id: self.account.original_id.clone(),
            url: self.account.callback_url.clone(),
            token: self.account.token.clone(),
            encoding_aes_key: self.account.encoding_aes_key.clone(),
            mode: self.account.encryption_mode,
        }
    }
}

/// The whole sandbox state.
#[derive(Debug)]
pub struct State {
    /// Settings in force.
    pub settings: Settings,
    /// Sandbox time.
    pub clock: Clock,
    /// Accounts by appid.
    pub accounts: BTreeMap<String, AccountEntry>,
    /// Openid tag -> appid.
    pub tags: HashMap<String, String>,
    /// Access tokens.
    pub tokens: TokenStore,
    /// Daily quotas.
    pub quotas: QuotaStore,
    /// Call counters.
    pub counters: Counters,
    /// Injected faults.
    pub faults: Faults,
    /// Received messages.
    pub messages: MessageLog,
    /// Subscription consents.
    pub consents: Consents,
    /// QR codes.
    pub qr: QrStore,
    /// OAuth codes and phone users.
    pub oauth: OauthStore,
    /// Callbacks fired so far.
    pub callbacks: Vec<CallbackOutcome>,
    /// Seeded random source (fault rates, churn).
    pub rng: StdRng,
    msgid_seq: u64,
    text_msgid_seq: u64,
}

impl State {
    /// Empty state with `settings`.
    pub fn new(settings: Settings) -> Self {
        Self {
            rng: StdRng::seed_from_u64(settings.seed),
            settings,
            clock: Clock::default(),
            accounts: BTreeMap::new(),
            tags: HashMap::new(),
            tokens: TokenStore::default(),
            quotas: QuotaStore::default(),
            counters: Counters::default(),
            faults: Faults::default(),
            messages: MessageLog::default(),
            consents: Consents::default(),
            qr: QrStore::default(),
            oauth: OauthStore::default(),
            callbacks: Vec::new(),
            msgid_seq: 0,
            text_msgid_seq: 0,
        }
    }

    /// Sandbox time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Adds or replaces an account; people and the openid namespace survive a replacement.
    pub fn upsert_account(&mut self, account: SandboxAccount) {
        let union = account
            .open_platform
            .as_ref()
            .map(|g| IdSpace::new(&format!("union:{g}"), 0));
        if let Some(e) = self.accounts.get_mut(&account.appid) {
            e.account = account;
            e.union = union;
            return;
        }
        // Two appids hashing to the same 5-character tag would make openids ambiguous: re-salt.
        let mut salt = 0;
        let ids = loop {
            let ids = IdSpace::new(&account.appid, salt);
            if !self.tags.contains_key(ids.tag()) {
                break ids;
            }
            salt += 1;
        };
        self.tags
            .insert(ids.tag().to_string(), account.appid.clone());
        self.accounts.insert(
            account.appid.clone(),
            AccountEntry {
                account,
                ids,
                union,
                pop: Population::default(),
            },
        );
    }

    /// The account `appid`, or 40013.
    pub fn entry(&self, appid: &str) -> Result<&AccountEntry, WxError> {
        self.accounts
            .get(appid)
            .ok_or_else(|| WxError::new(errcode::INVALID_APPID))
    }

    /// The account `appid` for changes, or 40013.
    pub fn entry_mut(&mut self, appid: &str) -> Result<&mut AccountEntry, WxError> {
        self.accounts
            .get_mut(appid)
            .ok_or_else(|| WxError::new(errcode::INVALID_APPID))
    }

    /// The account and person behind an official-account or mini-program openid.
    pub fn locate(&self, openid: &str) -> Option<(String, u64)> {
        let appid = self.tags.get(ids::tag_of(openid)?)?;
        let pid = self.accounts.get(appid)?.pid(openid)?;
        Some((appid.clone(), pid))
    }

    /// The person behind `openid` inside account `appid`, or 40003.
    pub fn pid_in(&self, appid: &str, openid: &str) -> Result<u64, WxError> {
        self.entry(appid)?
            .pid(openid)
            .ok_or_else(|| WxError::new(errcode::INVALID_OPENID))
    }

    /// Counts one call of `api` against the daily quota of `appid` (45009 when used up).
    pub fn take_quota(&mut self, appid: &str, api: &str) -> Result<(), WxError> {
        let now = self.now();
        self.quotas
            .take(appid, api, now, &self.settings.default_quotas)
    }

    /// A fresh template/subscription msgid (64-bit, like WeChat's).
    pub fn next_msgid(&mut self) -> u64 {
        self.msgid_seq += 1;
        2_900_000_000_000_000_000 + self.msgid_seq * 4_099
    }

    /// A fresh MsgId for a user's text message.
    pub fn next_text_msgid(&mut self) -> u64 {
        self.text_msgid_seq += 1;
        24_000_000_000_000_000 + self.text_msgid_seq
    }

    /// Records a user interaction (opens the customer-service window again).
    pub fn touch(&mut self, appid: &str, pid: u64) {
        let now = self.now();
        if let Some(e) = self.accounts.get_mut(appid) {
            let x = e.pop.extras_mut(pid);
            x.last_interaction = Some(now);
            x.custom_sent = 0;
        }
    }

    /// Token lifetime in seconds.
    pub fn token_ttl(&self) -> i64 {
        secs(self.settings.token_ttl)
    }
}
