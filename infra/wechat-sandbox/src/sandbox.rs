//! The cloneable [`Sandbox`] handle: the in-process Rust API over the shared state, and the
//! HTTP server around it.

use crate::accounts::{AccountPatch, SandboxAccount};
use crate::callbacks::CallbackOutcome;
use crate::consents::Consent;
use crate::errcode::WxError;
use crate::faults::{Fault, FaultState};
use crate::followers::{Churn, FollowerInfo, FollowerUpdate, MAX_NEW_PER_CALL};
use crate::messages::ReceivedMessage;
use crate::qr::QrTicket;
use crate::quotas::Quota;
use crate::settings::Settings;
use crate::state::State;
use crate::tokens::TokenKind;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Why a sandbox operation (control API, phone action) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// No account with this appid.
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    /// No person with this openid.
    #[error("unknown openid {0:?}")]
    UnknownOpenid(String),
    /// No QR code with this ticket or URL.
    #[error("unknown QR ticket {0:?}")]
    UnknownTicket(String),
    /// The temporary QR code has expired (WeChat shows "二维码已过期").
    #[error("QR code has expired")]
    TicketExpired,
    /// The user already follows the account.
    #[error("{0} already follows the account")]
    AlreadyFollowing(String),
    /// The user does not follow the account.
    #[error("{0} does not follow the account")]
    NotFollowing(String),
    /// The openid belongs to another account than the QR code / request.
    #[error("openid {openid:?} belongs to {actual:?}, not {expected:?}")]
    WrongAccount {
        /// The openid.
        openid: String,
        /// Its account.
        actual: String,
        /// The account the action needs.
        expected: String,
    },
    /// No message with this msgid was sent.
    #[error("no message with msgid {0}")]
    UnknownMsgid(u64),
    /// The action does not exist for this kind of account.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Bad input.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Refuses to create more than [`MAX_NEW_PER_CALL`] people at once.
fn check_new(n: usize) -> Result<(), SandboxError> {
    if n > MAX_NEW_PER_CALL {
        return Err(SandboxError::Invalid(format!(
            "at most {MAX_NEW_PER_CALL} people per call"
        )));
    }
    Ok(())
}

struct Inner {
    state: Mutex<State>,
    http: reqwest::Client,
}

/// The sandbox: cheap to clone, every clone sees the same accounts, followers and logs.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new(Settings::default())
    }
}

impl Sandbox {
    /// An empty sandbox.
    pub fn new(settings: Settings) -> Self {
        // Callbacks go to local servers: never through a proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(settings)),
                http,
            }),
        }
    }

    /// Runs `f` with the state locked. A panic elsewhere must not wedge the sandbox, so a
    /// poisoned lock is taken over rather than propagated.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// HTTP client used for callbacks.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// How long the answer to a served call of `endpoint` is held back (late-answer faults).
    pub(crate) fn late_answer(&self, endpoint: &str) -> std::time::Duration {
        self.with(|s| s.faults.late_answer(endpoint, &mut s.rng))
    }

    /// Counts a call of `endpoint` and applies its injected latency and errcode.
    pub(crate) async fn enter(&self, endpoint: &str) -> Result<(), WxError> {
        let decision = self.with(|s| {
            s.counters.hit(endpoint);
            s.faults.decide(endpoint, &mut s.rng)
        });
        tracing::debug!(endpoint, injected = ?decision.errcode, "wechat api call");
        if !decision.latency.is_zero() {
            tokio::time::sleep(decision.latency).await;
        }
        match decision.errcode {
            Some(code) => Err(WxError::new(code)),
            None => Ok(()),
        }
    }

    /// The whole HTTP surface: WeChat APIs, WeCom under `/wecom`, control API under `/sandbox`.
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }

    /// Serves on 127.0.0.1 with a free port in a background task; returns `http://127.0.0.1:PORT`.
    pub async fn spawn_local(&self) -> std::io::Result<String> {
        self.spawn_on("127.0.0.1:0").await
    }

    /// Serves on `addr` in a background task; returns the base URL.
    pub async fn spawn_on(&self, addr: &str) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(format!("http://{local}"))
    }

    // ----- accounts -----

    /// Adds an account, or replaces the configuration of an existing one (its people stay).
    pub fn add_account(&self, account: SandboxAccount) {
        if let Err(e) = account.validate() {
            tracing::warn!(appid = %account.appid, error = %e, "account has unusable settings");
        }
        self.with(|s| s.upsert_account(account));
    }

    /// An account's configuration.
    pub fn account(&self, appid: &str) -> Option<SandboxAccount> {
        self.with(|s| s.accounts.get(appid).map(|e| e.account.clone()))
    }

    /// Every account.
    pub fn accounts(&self) -> Vec<SandboxAccount> {
        self.with(|s| s.accounts.values().map(|e| e.account.clone()).collect())
    }

    /// Changes an account's callback settings or credentials.
    pub fn update_account(
        &self,
        appid: &str,
        patch: &AccountPatch,
    ) -> Result<SandboxAccount, SandboxError> {
        self.with(|s| {
            let e = s
                .accounts
                .get_mut(appid)
                .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
            let mut updated = e.account.clone();
            patch.apply(&mut updated);
            updated.validate().map_err(SandboxError::Invalid)?;
            e.account = updated.clone();
            Ok(updated)
        })
    }

    // ----- followers -----

    /// Creates `n` followers of `appid` (WeCom: members) and returns their openids (userids).
    /// Unknown appid: nothing is created and the list is empty.
    pub fn add_followers(&self, appid: &str, n: usize) -> Vec<String> {
        if n > MAX_NEW_PER_CALL {
            tracing::warn!(
                appid,
                n,
                "add_followers: more than {MAX_NEW_PER_CALL} at once, nothing created"
            );
            return Vec::new();
        }
        self.with(|s| {
            let now = s.now();
            let Some(e) = s.accounts.get_mut(appid) else {
                tracing::warn!(appid, "add_followers: unknown account");
                return Vec::new();
            };
            let first = e.pop.add_followers(n, now);
            (first..first + n as u64).map(|pid| e.openid(pid)).collect()
        })
    }

    /// Creates `n` followers without materialising their openids (fast path for huge counts);
    /// returns the account's follower total.
    pub fn add_follower_count(&self, appid: &str, n: usize) -> Result<u64, SandboxError> {
        check_new(n)?;
        self.with(|s| {
            let now = s.now();
            let e = s
                .accounts
                .get_mut(appid)
                .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
            e.pop.add_followers(n, now);
            Ok(e.pop.total())
        })
    }

    /// A new person who has never followed `appid` (a visitor); returns their openid.
    pub fn new_user(&self, appid: &str) -> Result<String, SandboxError> {
        self.with(|s| {
            let e = s
                .accounts
                .get_mut(appid)
                .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
            let pid = e.pop.add_visitor();
            Ok(e.openid(pid))
        })
    }

    /// The sandbox view of one person.
    pub fn follower(&self, openid: &str) -> Option<FollowerInfo> {
        self.with(|s| {
            let (appid, pid) = s.locate(openid)?;
            Some(s.accounts.get(&appid)?.info(pid))
        })
    }

    /// A page of an account's people in person order (`only_followers` skips non-followers).
    pub fn followers(
        &self,
        appid: &str,
        offset: u64,
        limit: usize,
        only_followers: bool,
    ) -> Vec<FollowerInfo> {
        self.with(|s| {
            let Some(e) = s.accounts.get(appid) else {
                return Vec::new();
            };
            if only_followers {
                e.pop
                    .page(offset, limit)
                    .into_iter()
                    .map(|pid| e.info(pid))
                    .collect()
            } else {
                (offset..e.pop.persons())
                    .take(limit)
                    .map(|pid| e.info(pid))
                    .collect()
            }
        })
    }

    /// Current follower count of `appid`.
    pub fn follower_count(&self, appid: &str) -> u64 {
        self.with(|s| s.accounts.get(appid).map_or(0, |e| e.pop.total()))
    }

    /// Follows or unfollows silently (no callback); returns whether anything changed.
    pub fn set_following(&self, openid: &str, following: bool) -> Result<bool, SandboxError> {
        self.with(|s| {
            let (appid, pid) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            let now = s.now();
            let e = s
                .accounts
                .get_mut(&appid)
                .ok_or(SandboxError::UnknownAccount(appid))?;
            Ok(if following {
                e.pop
                    .subscribe(pid, now, crate::followers::SCENE_SEARCH, None)
            } else {
                e.pop.unsubscribe(pid)
            })
        })
    }

    /// Changes remark, tags, language, block flag or following state of one person.
    pub fn update_follower(
        &self,
        openid: &str,
        update: &FollowerUpdate,
    ) -> Result<FollowerInfo, SandboxError> {
        if let Some(f) = update.subscribed {
            self.set_following(openid, f)?;
        }
        self.with(|s| {
            let (appid, pid) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            let e = s
                .accounts
                .get_mut(&appid)
                .ok_or(SandboxError::UnknownAccount(appid))?;
            let x = e.pop.extras_mut(pid);
            if let Some(r) = &update.remark {
                x.remark.clone_from(r);
            }
            if let Some(t) = &update.tagid_list {
                x.tagid_list.clone_from(t);
            }
            if let Some(l) = &update.language {
                x.language = Some(l.clone());
            }
            if let Some(b) = update.blocked {
                x.blocked = b;
            }
            Ok(e.info(pid))
        })
    }

    /// Follower churn for sync tests: `follow` new followers, `unfollow` random followers
    /// leave, `change` other random followers get a new remark and tags. Deterministic for a
    /// given [`Settings::seed`].
    pub fn churn(
        &self,
        appid: &str,
        follow: usize,
        unfollow: usize,
        change: usize,
    ) -> Result<Churn, SandboxError> {
        check_new(follow)?;
        self.with(|s| {
            let now = s.now();
            let State { accounts, rng, .. } = s;
            let e = accounts
                .get_mut(appid)
                .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
            let gone = e.pop.sample_followers(rng, unfollow, &HashSet::new());
            let gone_set: HashSet<u64> = gone.iter().copied().collect();
            let changed = e.pop.sample_followers(rng, change, &gone_set);
            for pid in &gone {
                e.pop.unsubscribe(*pid);
            }
            for (i, pid) in changed.iter().enumerate() {
                let x = e.pop.extras_mut(*pid);
                x.remark = format!("remark-{now}-{i}");
                x.tagid_list = vec![100 + (i as u32 % 7)];
            }
            let first = e.pop.add_followers(follow, now);
            Ok(Churn {
                followed: (first..first + follow as u64)
                    .map(|p| e.openid(p))
                    .collect(),
                unfollowed: gone.iter().map(|p| e.openid(*p)).collect(),
                changed: changed.iter().map(|p| e.openid(*p)).collect(),
            })
        })
    }

    /// The openid of the same person in another account (meaningful inside an open-platform
    /// group, where it shares the unionid). The person is created there if needed, not following.
    pub fn openid_in(&self, openid: &str, other_appid: &str) -> Option<String> {
        self.with(|s| {
            let (_, pid) = s.locate(openid)?;
            let e = s.accounts.get_mut(other_appid)?;
            while e.pop.persons() <= pid {
                e.pop.add_visitor();
            }
            Some(e.openid(pid))
        })
    }

    /// Records an interaction of the user now (reopens the 48 h customer-service window).
    pub fn touch(&self, openid: &str) -> Result<(), SandboxError> {
        self.with(|s| {
            let (appid, pid) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            s.touch(&appid, pid);
            Ok(())
        })
    }

    // ----- tokens, counters, faults, quotas -----

    /// Calls received by `endpoint` (e.g. `/cgi-bin/token`), faulted ones included.
    pub fn call_count(&self, endpoint: &str) -> u64 {
        self.with(|s| s.counters.get(endpoint))
    }

    /// Calls of `endpoint` that named or authenticated as `appid`.
    pub fn call_count_for(&self, endpoint: &str, appid: &str) -> u64 {
        self.with(|s| s.counters.get_account(endpoint, appid))
    }

    /// Every endpoint's call count.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.with(|s| s.counters.all())
    }

    /// Sets all call counters to zero.
    pub fn reset_counters(&self) {
        self.with(|s| s.counters.reset());
    }

    /// Invalidates every token of `appid` (40001 from now on).
    pub fn revoke_token(&self, appid: &str) {
        self.with(|s| s.tokens.revoke(appid));
    }

    /// Expires every token of `appid` (42001 from now on).
    pub fn expire_token(&self, appid: &str) {
        self.with(|s| {
            let now = s.now();
            s.tokens.expire(appid, now);
        });
    }

    /// The token `/cgi-bin/token` (or WeCom `gettoken`) last issued for `appid`.
    pub fn current_token(&self, appid: &str) -> Option<String> {
        self.with(|s| {
            s.tokens
                .current(appid, TokenKind::Regular)
                .or_else(|| s.tokens.current(appid, TokenKind::Wecom))
        })
    }

    /// The token `stable_token` last issued for `appid`.
    pub fn current_stable_token(&self, appid: &str) -> Option<String> {
        self.with(|s| s.tokens.current(appid, TokenKind::Stable))
    }

    /// Injects a fault (latency, error rate, errcode sequence) on an endpoint or `*`.
    pub fn inject(&self, fault: Fault) {
        self.with(|s| s.faults.inject(&fault));
    }

    /// Removes the faults of one endpoint.
    pub fn clear_fault(&self, endpoint: &str) {
        self.with(|s| s.faults.clear(endpoint));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear_all());
    }

    /// Current faults per endpoint.
    pub fn faults(&self) -> BTreeMap<String, FaultState> {
        self.with(|s| s.faults.all())
    }

    /// Sets the daily quota of `api` (an endpoint path) for `appid`; `None` = unlimited.
    pub fn set_quota(&self, appid: &str, api: &str, limit: Option<u64>) {
        self.with(|s| s.quotas.set_limit(appid, api, limit));
    }

    /// Quota limit and usage of one API.
    pub fn quota(&self, appid: &str, api: &str) -> Quota {
        self.with(|s| {
            s.quotas
                .get(appid, api, s.clock.now_secs(), &s.settings.default_quotas)
        })
    }

    /// Every quota of `appid`.
    pub fn quotas(&self, appid: &str) -> BTreeMap<String, Quota> {
        self.with(|s| {
            s.quotas
                .all(appid, s.clock.now_secs(), &s.settings.default_quotas)
        })
    }

    /// Forgets today's usage of `appid` (like the midnight reset or the console's "clear quota").
    pub fn reset_quotas(&self, appid: &str) {
        self.with(|s| s.quotas.reset(appid));
    }

    // ----- inspection -----

    /// Every message received by `openid` (or WeCom userid / `party:<id>` / `tag:<id>` / `@all`).
    pub fn messages_to(&self, openid: &str) -> Vec<ReceivedMessage> {
        self.with(|s| s.messages.to(openid))
    }

    /// Every message received, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.with(|s| s.messages.all().to_vec())
    }

    /// The message with this msgid.
    pub fn message(&self, msgid: u64) -> Option<ReceivedMessage> {
        self.with(|s| s.messages.by_msgid(msgid).cloned())
    }

    /// Forgets every message and idempotency key.
    pub fn clear_messages(&self) {
        self.with(|s| s.messages.clear());
    }

    /// Every callback the phone fired, oldest first.
    pub fn callbacks(&self) -> Vec<CallbackOutcome> {
        self.with(|s| s.callbacks.clone())
    }

    /// Forgets the callback log.
    pub fn clear_callbacks(&self) {
        self.with(|s| s.callbacks.clear());
    }

    /// QR codes of `appid` (all if `None`), oldest first.
    pub fn qr_tickets(&self, appid: Option<&str>) -> Vec<QrTicket> {
        self.with(|s| s.qr.list(appid))
    }

    /// The QR code with this ticket or URL.
    pub fn qr_ticket(&self, ticket_or_url: &str) -> Option<QrTicket> {
        self.with(|s| s.qr.resolve(ticket_or_url).cloned())
    }

    // ----- consents, OAuth -----

    /// Records a subscription-message consent silently (no popup event).
    pub fn grant_consent(
        &self,
        openid: &str,
        template_id: &str,
        long_term: bool,
    ) -> Result<(), SandboxError> {
        self.with(|s| {
            let (appid, _) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            s.consents.grant(&appid, openid, template_id, long_term);
            Ok(())
        })
    }

    /// Consents of one user (template id -> consent).
    pub fn consents(&self, openid: &str) -> HashMap<String, Consent> {
        self.with(|s| {
            s.locate(openid)
                .map(|(appid, _)| s.consents.of(&appid, openid))
                .unwrap_or_default()
        })
    }

    /// Sets who opens the OAuth page of `appid` when the URL has no `sandbox_openid`
    /// (`None`: a new visitor each time).
    pub fn set_phone_user(&self, appid: &str, openid: Option<&str>) {
        self.with(|s| s.oauth.set_phone_user(appid, openid.map(str::to_string)));
    }

    // ----- time and settings -----

    /// Moves sandbox time forward (token expiry, 48 h window, QR expiry, daily quotas).
    pub fn advance_clock(&self, by: Duration) {
        self.with(|s| s.clock.advance(by));
    }

    /// Sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        self.with(|s| s.clock.now())
    }

    /// Settings in force.
    pub fn settings(&self) -> Settings {
        self.with(|s| s.settings.clone())
    }

    /// Changes settings in place (e.g. a short callback timeout for a test).
    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) {
        self.with(|s| f(&mut s.settings));
    }
}
