//! The users' phones: actions that change the sandbox state the way WeChat would and fire
//! the matching callback at the account's server, returning what the server answered.

use crate::accounts::AccountKind;
use crate::callbacks::{self, CallbackOutcome, CallbackTarget, RetryPolicy, VerifyOutcome};
use crate::followers::{SCENE_QR_CODE, SCENE_SEARCH};
use crate::qr::Scene;
use crate::sandbox::{Sandbox, SandboxError};
use crate::state::State;
use crate::xml::{self, XmlMessage};
use serde::{Deserialize, Serialize};

/// Result of a template send, as reported by `TEMPLATESENDJOBFINISH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// `success`.
    Success,
    /// `failed:user block`.
    UserBlock,
    /// `failed: system failed`.
    SystemFailed,
}

impl TemplateStatus {
    /// The `Status` text WeChat sends (spacing as WeChat has it).
    pub fn as_wechat(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::UserBlock => "failed:user block",
            Self::SystemFailed => "failed: system failed",
        }
    }
}

/// A message ready to post: target, user, event label, plaintext XML, sandbox time.
struct Pending {
    target: CallbackTarget,
    openid: String,
    event: String,
    xml: String,
    now: i64,
}

/// The header every message from this user to this account carries.
fn header(
    s: &State,
    appid: &str,
    openid: &str,
    msg_type: &str,
) -> Result<XmlMessage, SandboxError> {
    let e = s
        .accounts
        .get(appid)
        .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
    Ok(XmlMessage {
        to: e.account.original_id.clone(),
        from: openid.to_string(),
        create_time: s.now(),
        msg_type: msg_type.to_string(),
        fields: Vec::new(),
    })
}

fn pending(
    s: &State,
    appid: &str,
    openid: &str,
    event: &str,
    msg: &XmlMessage,
) -> Result<Pending, SandboxError> {
    let e = s
        .accounts
        .get(appid)
        .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
    Ok(Pending {
        target: e.callback_target(),
        openid: openid.to_string(),
        event: event.to_string(),
        xml: msg.to_xml(),
        now: s.now(),
    })
}

/// The account and person of an official-account openid.
fn official(s: &State, openid: &str) -> Result<(String, u64), SandboxError> {
    let (appid, pid) = s
        .locate(openid)
        .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
    match s.accounts.get(&appid).map(|e| e.account.kind) {
        Some(k) if k.is_official() => Ok((appid, pid)),
        _ => Err(SandboxError::Unsupported(format!(
            "{appid} is not an official account"
        ))),
    }
}

fn event_msg(
    s: &State,
    appid: &str,
    openid: &str,
    event: &str,
) -> Result<XmlMessage, SandboxError> {
    Ok(header(s, appid, openid, "event")?.text("Event", event))
}

impl Sandbox {
    /// Posts a prepared message and logs the outcome.
    async fn fire(&self, p: Pending) -> CallbackOutcome {
        let policy = self.with(|s| RetryPolicy {
            timeout: s.settings.callback_timeout,
            attempts: s.settings.callback_attempts,
        });
        let outcome = callbacks::deliver(
            self.http(),
            &p.target,
            &p.openid,
            &p.event,
            p.xml,
            p.now,
            policy,
        )
        .await;
        self.with(|s| s.callbacks.push(outcome.clone()));
        outcome
    }

    /// User `openid` scans QR `ticket` (or its URL). Not following: they follow, and the
    /// account gets `subscribe` with EventKey `qrscene_<scene>` and Ticket; following: `SCAN`
    /// with EventKey `<scene>`.
    pub async fn scan(&self, openid: &str, ticket: &str) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let qr =
                s.qr.resolve(ticket)
                    .cloned()
                    .ok_or_else(|| SandboxError::UnknownTicket(ticket.into()))?;
            if qr.expired(s.now()) {
                return Err(SandboxError::TicketExpired);
            }
            let (appid, pid) = official(s, openid)?;
            if appid != qr.appid {
                return Err(SandboxError::WrongAccount {
                    openid: openid.into(),
                    actual: appid,
                    expected: qr.appid,
                });
            }
            let now = s.now();
            let e = s
                .entry_mut(&appid)
                .map_err(|_| SandboxError::UnknownAccount(appid.clone()))?;
            let (event, key) = if e.pop.is_subscribed(pid) {
                ("SCAN", qr.scene.to_string())
            } else {
                let scene = match &qr.scene {
                    Scene::Id(id) => (*id, String::new()),
                    Scene::Str(st) => (0, st.clone()),
                };
                e.pop.subscribe(pid, now, SCENE_QR_CODE, Some(scene));
                ("subscribe", format!("qrscene_{}", qr.scene))
            };
            s.touch(&appid, pid);
            let msg = event_msg(s, &appid, openid, event)?
                .text("EventKey", key)
                .text("Ticket", qr.ticket.clone());
            pending(s, &appid, openid, event, &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// User `openid` follows the account (search / profile): `subscribe` with an empty EventKey.
    pub async fn follow(&self, openid: &str) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, pid) = official(s, openid)?;
            let now = s.now();
            let e = s
                .entry_mut(&appid)
                .map_err(|_| SandboxError::UnknownAccount(appid.clone()))?;
            if !e.pop.subscribe(pid, now, SCENE_SEARCH, None) {
                return Err(SandboxError::AlreadyFollowing(openid.into()));
            }
            s.touch(&appid, pid);
            let msg = event_msg(s, &appid, openid, "subscribe")?.text("EventKey", "");
            pending(s, &appid, openid, "subscribe", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// User `openid` unfollows: `unsubscribe` with an empty EventKey.
    pub async fn unfollow(&self, openid: &str) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, pid) = official(s, openid)?;
            let e = s
                .entry_mut(&appid)
                .map_err(|_| SandboxError::UnknownAccount(appid.clone()))?;
            if !e.pop.unsubscribe(pid) {
                return Err(SandboxError::NotFollowing(openid.into()));
            }
            let msg = event_msg(s, &appid, openid, "unsubscribe")?.text("EventKey", "");
            pending(s, &appid, openid, "unsubscribe", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// User `openid` sends a text message (they must follow); it carries a fresh MsgId.
    pub async fn send_text(
        &self,
        openid: &str,
        content: &str,
    ) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, pid) = official(s, openid)?;
            if !s.entry(&appid).is_ok_and(|e| e.pop.is_subscribed(pid)) {
                return Err(SandboxError::NotFollowing(openid.into()));
            }
            s.touch(&appid, pid);
            let msgid = s.next_text_msgid();
            let msg = header(s, &appid, openid, "text")?
                .text("Content", content)
                .num("MsgId", msgid);
            pending(s, &appid, openid, "text", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// WeChat reports the result of template message `msgid` (`TEMPLATESENDJOBFINISH`).
    pub async fn template_job_finished(
        &self,
        msgid: u64,
        status: TemplateStatus,
    ) -> Result<CallbackOutcome, SandboxError> {
        let (appid, openid) = self.with(|s| {
            s.messages
                .by_msgid(msgid)
                .map(|m| (m.appid.clone(), m.touser.clone()))
                .ok_or(SandboxError::UnknownMsgid(msgid))
        })?;
        self.template_job_finished_as(&appid, &openid, msgid, status)
            .await
    }

    /// `TEMPLATESENDJOBFINISH` for any msgid, even one the sandbox never sent.
    pub async fn template_job_finished_as(
        &self,
        appid: &str,
        openid: &str,
        msgid: u64,
        status: TemplateStatus,
    ) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let msg = event_msg(s, appid, openid, "TEMPLATESENDJOBFINISH")?
                .num("MsgID", msgid)
                .text("Status", status.as_wechat());
            pending(s, appid, openid, "TEMPLATESENDJOBFINISH", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// The user answers a subscription-message popup: accepted templates get a one-time
    /// consent; the account gets `subscribe_msg_popup_event` listing every decision.
    pub async fn subscription_popup(
        &self,
        openid: &str,
        decisions: &[(String, bool)],
    ) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, _) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            let mut list = String::from("<SubscribeMsgPopupEvent>");
            for (template_id, accept) in decisions {
                if *accept {
                    s.consents.grant(&appid, openid, template_id, false);
                }
                list.push_str("<List>");
                xml::push_text(&mut list, "TemplateId", template_id);
                xml::push_text(
                    &mut list,
                    "SubscribeStatusString",
                    if *accept { "accept" } else { "reject" },
                );
                // PopupScene 2: the popup was shown from a web page (the course page).
                xml::push_num(&mut list, "PopupScene", "2");
                list.push_str("</List>");
            }
            list.push_str("</SubscribeMsgPopupEvent>");
            let msg = event_msg(s, &appid, openid, "subscribe_msg_popup_event")?.raw(list);
            pending(s, &appid, openid, "subscribe_msg_popup_event", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// The user changes a subscription in settings (`subscribe_msg_change_event`); rejecting
    /// withdraws every consent for that template.
    pub async fn subscription_change(
        &self,
        openid: &str,
        template_id: &str,
        accept: bool,
    ) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, _) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            if accept {
                s.consents.grant(&appid, openid, template_id, true);
            } else {
                s.consents.revoke(&appid, openid, template_id);
            }
            let mut list = String::from("<SubscribeMsgChangeEvent><List>");
            xml::push_text(&mut list, "TemplateId", template_id);
            xml::push_text(
                &mut list,
                "SubscribeStatusString",
                if accept { "accept" } else { "reject" },
            );
            list.push_str("</List></SubscribeMsgChangeEvent>");
            let msg = event_msg(s, &appid, openid, "subscribe_msg_change_event")?.raw(list);
            pending(s, &appid, openid, "subscribe_msg_change_event", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// WeChat reports the delivery of a subscription message (`subscribe_msg_sent_event`).
    pub async fn subscription_sent(
        &self,
        openid: &str,
        template_id: &str,
        msgid: u64,
        ok: bool,
    ) -> Result<CallbackOutcome, SandboxError> {
        let p = self.with(|s| {
            let (appid, _) = s
                .locate(openid)
                .ok_or_else(|| SandboxError::UnknownOpenid(openid.into()))?;
            let mut list = String::from("<SubscribeMsgSentEvent><List>");
            xml::push_text(&mut list, "TemplateId", template_id);
            xml::push_num(&mut list, "MsgID", &msgid.to_string());
            xml::push_num(&mut list, "ErrorCode", if ok { "0" } else { "43101" });
            xml::push_text(
                &mut list,
                "ErrorStatus",
                if ok { "success" } else { "failed:user block" },
            );
            list.push_str("</List></SubscribeMsgSentEvent>");
            let msg = event_msg(s, &appid, openid, "subscribe_msg_sent_event")?.raw(list);
            pending(s, &appid, openid, "subscribe_msg_sent_event", &msg)
        })?;
        Ok(self.fire(p).await)
    }

    /// The console's "submit server URL": GET with signature and echostr.
    pub async fn verify_callback(&self, appid: &str) -> Result<VerifyOutcome, SandboxError> {
        let (target, now, timeout) = self.with(|s| {
            let e = s
                .accounts
                .get(appid)
                .ok_or_else(|| SandboxError::UnknownAccount(appid.into()))?;
            if e.account.kind == AccountKind::Wecom {
                return Err(SandboxError::Unsupported("WeCom URL verification".into()));
            }
            Ok((e.callback_target(), s.now(), s.settings.callback_timeout))
        })?;
        Ok(callbacks::verify(self.http(), &target, now, timeout).await)
    }
}
