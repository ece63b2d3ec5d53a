//! The JSON control API under `/sandbox/...`: the same operations as the Rust [`Sandbox`]
//! API, for the local stack and for tests in other languages. Errors are `{"error": "..."}`
//! with 400 (bad input), 404 (unknown thing) or 409 (state conflict).

use crate::accounts::{AccountPatch, AccountSpec};
use crate::callbacks::CallbackOutcome;
use crate::faults::Fault;
use crate::followers::FollowerUpdate;
use crate::phone::TemplateStatus;
use crate::sandbox::{Sandbox, SandboxError};
use crate::settings::SettingsPatch;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rand::SeedableRng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Largest page of `GET /sandbox/accounts/{appid}/followers`.
const MAX_LIST: usize = 10_000;
/// Largest `count` that may ask for the openids back.
const MAX_RETURNED_OPENIDS: usize = 100_000;

/// A control-API failure.
#[derive(Debug)]
pub struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<SandboxError> for ControlError {
    fn from(e: SandboxError) -> Self {
        let status = match &e {
            SandboxError::UnknownAccount(_)
            | SandboxError::UnknownOpenid(_)
            | SandboxError::UnknownTicket(_)
            | SandboxError::UnknownMsgid(_) => StatusCode::NOT_FOUND,
            SandboxError::TicketExpired
            | SandboxError::AlreadyFollowing(_)
            | SandboxError::NotFollowing(_)
            | SandboxError::WrongAccount { .. } => StatusCode::CONFLICT,
            SandboxError::Unsupported(_) | SandboxError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        Self(status, e.to_string())
    }
}

type Res = Result<Json<Value>, ControlError>;

fn bad(msg: impl Into<String>) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, msg.into())
}

/// Parses a JSON body; an empty body reads as `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    let raw: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(raw).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

fn query(q: Result<Query<HashMap<String, String>>, QueryRejection>) -> HashMap<String, String> {
    q.map(|Query(p)| p).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

/// A callback outcome plus what the user saw.
fn outcome_json(o: &CallbackOutcome) -> Value {
    let mut v = to_json(o);
    if let Some(m) = v.as_object_mut() {
        m.insert("user_saw".into(), to_json(&o.user_saw()));
        m.insert("delivered".into(), o.delivered().into());
    }
    v
}

/// Every control route.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/sandbox/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/sandbox/accounts", get(list_accounts).post(create_account))
        .route(
            "/sandbox/accounts/{appid}",
            get(get_account).patch(patch_account),
        )
        .route(
            "/sandbox/accounts/{appid}/followers",
            get(list_followers).post(add_followers),
        )
        .route("/sandbox/accounts/{appid}/followers/churn", post(churn))
        .route("/sandbox/accounts/{appid}/users", post(new_user))
        .route("/sandbox/accounts/{appid}/token", get(current_token))
        .route("/sandbox/accounts/{appid}/token/revoke", post(revoke_token))
        .route("/sandbox/accounts/{appid}/token/expire", post(expire_token))
        .route(
            "/sandbox/accounts/{appid}/quotas",
            get(quotas).put(set_quota),
        )
        .route("/sandbox/accounts/{appid}/quotas/reset", post(reset_quotas))
        .route(
            "/sandbox/accounts/{appid}/phone-user",
            put(set_phone_user).delete(clear_phone_user),
        )
        .route("/sandbox/accounts/{appid}/qrcodes", get(qrcodes))
        .route(
            "/sandbox/followers/{openid}",
            get(get_follower).patch(patch_follower),
        )
        .route(
            "/sandbox/followers/{openid}/consents",
            get(consents).post(grant_consent),
        )
        .route("/sandbox/followers/{openid}/touch", post(touch))
        .route("/sandbox/followers/{openid}/in/{appid}", get(openid_in))
        .route("/sandbox/calls", get(calls).delete(reset_calls))
        .route(
            "/sandbox/faults",
            get(faults).post(inject).delete(clear_faults),
        )
        .route("/sandbox/messages", get(messages).delete(clear_messages))
        .route("/sandbox/callbacks", get(callbacks).delete(clear_callbacks))
        .route("/sandbox/clock", get(clock))
        .route("/sandbox/clock/advance", post(advance_clock))
        .route("/sandbox/settings", get(settings).patch(patch_settings))
        .route("/sandbox/phone/scan", post(phone_scan))
        .route("/sandbox/phone/follow", post(phone_follow))
        .route("/sandbox/phone/unfollow", post(phone_unfollow))
        .route("/sandbox/phone/text", post(phone_text))
        .route(
            "/sandbox/phone/template-job-finished",
            post(phone_template_finished),
        )
        .route("/sandbox/phone/subscription-popup", post(phone_popup))
        .route("/sandbox/phone/subscription-change", post(phone_change))
        .route("/sandbox/phone/subscription-sent", post(phone_sent))
        .route("/sandbox/phone/verify-callback", post(phone_verify))
}

// ----- accounts -----

async fn list_accounts(State(sb): State<Sandbox>) -> Json<Value> {
    Json(to_json(&sb.accounts()))
}

async fn create_account(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let spec: AccountSpec = body(&b)?;
    let account = spec.to_account();
    account.validate().map_err(bad)?;
    sb.add_account(account.clone());
    let total = match spec.followers {
        Some(n) => sb.add_follower_count(
            &account.appid,
            usize::try_from(n).map_err(|_| bad("followers too large"))?,
        )?,
        None => sb.follower_count(&account.appid),
    };
    Ok(Json(json!({"account": account, "follower_count": total})))
}

async fn get_account(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Res {
    let a = sb
        .account(&appid)
        .ok_or(SandboxError::UnknownAccount(appid.clone()))?;
    Ok(Json(
        json!({"account": a, "follower_count": sb.follower_count(&appid)}),
    ))
}

async fn patch_account(State(sb): State<Sandbox>, Path(appid): Path<String>, b: Bytes) -> Res {
    let patch: AccountPatch = body(&b)?;
    Ok(Json(json!({"account": sb.update_account(&appid, &patch)?})))
}

// ----- followers -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddFollowers {
    count: usize,
    #[serde(default)]
    return_openids: bool,
}

async fn add_followers(State(sb): State<Sandbox>, Path(appid): Path<String>, b: Bytes) -> Res {
    let req: AddFollowers = body(&b)?;
    if req.count > crate::followers::MAX_NEW_PER_CALL {
        return Err(bad(format!(
            "count is limited to {} per call",
            crate::followers::MAX_NEW_PER_CALL
        )));
    }
    if req.return_openids && req.count > MAX_RETURNED_OPENIDS {
        return Err(bad(format!(
            "return_openids is limited to {MAX_RETURNED_OPENIDS} followers"
        )));
    }
    let (first, last, total) = sb.with(|s| {
        let now = s.now();
        let e = s
            .accounts
            .get_mut(&appid)
            .ok_or_else(|| SandboxError::UnknownAccount(appid.clone()))?;
        let first = e.pop.add_followers(req.count, now);
        let ends =
            (req.count > 0).then(|| (e.openid(first), e.openid(first + req.count as u64 - 1)));
        Ok::<_, SandboxError>((
            ends.as_ref().map(|x| x.0.clone()),
            ends.map(|x| x.1),
            e.pop.total(),
        ))
    })?;
    let mut out =
        json!({"created": req.count, "total": total, "first_openid": first, "last_openid": last});
    if req.return_openids {
        out["openids"] = to_json(&openids_between(&sb, &appid, first.as_deref(), req.count));
    }
    Ok(Json(out))
}

/// The `count` openids starting at `first` (consecutive persons).
fn openids_between(sb: &Sandbox, appid: &str, first: Option<&str>, count: usize) -> Vec<String> {
    let Some(first) = first else {
        return Vec::new();
    };
    sb.with(|s| {
        let Some(e) = s.accounts.get(appid) else {
            return Vec::new();
        };
        let Some(start) = e.pid(first) else {
            return Vec::new();
        };
        (start..start + count as u64).map(|p| e.openid(p)).collect()
    })
}

async fn list_followers(
    State(sb): State<Sandbox>,
    Path(appid): Path<String>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Res {
    let q = query(q);
    let num = |k: &str, d: u64| {
        q.get(k).map_or(Ok(d), |v| {
            v.parse::<u64>()
                .map_err(|_| bad(format!("{k} must be a number")))
        })
    };
    let offset = num("offset", 0)?;
    let limit = usize::try_from(num("limit", 100)?)
        .unwrap_or(MAX_LIST)
        .min(MAX_LIST);
    let only = q.get("subscribed").is_some_and(|v| v == "true" || v == "1");
    sb.account(&appid)
        .ok_or(SandboxError::UnknownAccount(appid.clone()))?;
    let persons = sb.with(|s| s.accounts.get(&appid).map_or(0, |e| e.pop.persons()));
    Ok(Json(json!({
        "total": sb.follower_count(&appid),
        "persons": persons,
        "followers": sb.followers(&appid, offset, limit, only),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChurnReq {
    #[serde(default)]
    follow: usize,
    #[serde(default)]
    unfollow: usize,
    #[serde(default)]
    change: usize,
}

async fn churn(State(sb): State<Sandbox>, Path(appid): Path<String>, b: Bytes) -> Res {
    let r: ChurnReq = body(&b)?;
    Ok(Json(to_json(
        &sb.churn(&appid, r.follow, r.unfollow, r.change)?,
    )))
}

async fn new_user(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Res {
    Ok(Json(json!({"openid": sb.new_user(&appid)?})))
}

async fn get_follower(State(sb): State<Sandbox>, Path(openid): Path<String>) -> Res {
    Ok(Json(to_json(
        &sb.follower(&openid)
            .ok_or(SandboxError::UnknownOpenid(openid))?,
    )))
}

async fn patch_follower(State(sb): State<Sandbox>, Path(openid): Path<String>, b: Bytes) -> Res {
    let u: FollowerUpdate = body(&b)?;
    Ok(Json(to_json(&sb.update_follower(&openid, &u)?)))
}

async fn consents(State(sb): State<Sandbox>, Path(openid): Path<String>) -> Json<Value> {
    Json(to_json(&sb.consents(&openid)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantReq {
    template_id: String,
    #[serde(default)]
    long_term: bool,
}

async fn grant_consent(State(sb): State<Sandbox>, Path(openid): Path<String>, b: Bytes) -> Res {
    let r: GrantReq = body(&b)?;
    sb.grant_consent(&openid, &r.template_id, r.long_term)?;
    Ok(Json(to_json(&sb.consents(&openid))))
}

async fn touch(State(sb): State<Sandbox>, Path(openid): Path<String>) -> Res {
    sb.touch(&openid)?;
    Ok(Json(json!({"ok": true})))
}

async fn openid_in(
    State(sb): State<Sandbox>,
    Path((openid, appid)): Path<(String, String)>,
) -> Res {
    let other = sb
        .openid_in(&openid, &appid)
        .ok_or(SandboxError::UnknownOpenid(openid))?;
    Ok(Json(json!({"openid": other})))
}

// ----- tokens, quotas, phone user, QR codes -----

async fn current_token(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Json<Value> {
    Json(
        json!({"access_token": sb.current_token(&appid), "stable_access_token": sb.current_stable_token(&appid)}),
    )
}

async fn revoke_token(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Res {
    sb.account(&appid)
        .ok_or(SandboxError::UnknownAccount(appid.clone()))?;
    sb.revoke_token(&appid);
    Ok(Json(json!({"revoked": appid})))
}

async fn expire_token(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Res {
    sb.account(&appid)
        .ok_or(SandboxError::UnknownAccount(appid.clone()))?;
    sb.expire_token(&appid);
    Ok(Json(json!({"expired": appid})))
}

async fn quotas(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Json<Value> {
    Json(to_json(&sb.quotas(&appid)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaReq {
    api: String,
    limit: Option<u64>,
}

async fn set_quota(State(sb): State<Sandbox>, Path(appid): Path<String>, b: Bytes) -> Res {
    let r: QuotaReq = body(&b)?;
    sb.set_quota(&appid, &r.api, r.limit);
    Ok(Json(to_json(&sb.quota(&appid, &r.api))))
}

async fn reset_quotas(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Json<Value> {
    sb.reset_quotas(&appid);
    Json(to_json(&sb.quotas(&appid)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneUser {
    openid: String,
}

async fn set_phone_user(State(sb): State<Sandbox>, Path(appid): Path<String>, b: Bytes) -> Res {
    let r: PhoneUser = body(&b)?;
    sb.set_phone_user(&appid, Some(&r.openid));
    Ok(Json(json!({"appid": appid, "openid": r.openid})))
}

async fn clear_phone_user(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Json<Value> {
    sb.set_phone_user(&appid, None);
    Json(json!({"appid": appid, "openid": null}))
}

async fn qrcodes(State(sb): State<Sandbox>, Path(appid): Path<String>) -> Json<Value> {
    Json(to_json(&sb.qr_tickets(Some(&appid))))
}

// ----- counters, faults, messages, callbacks -----

async fn calls(
    State(sb): State<Sandbox>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Json<Value> {
    let q = query(q);
    match (q.get("endpoint"), q.get("appid")) {
        (Some(e), Some(a)) => Json(Value::Object(
            [(e.clone(), sb.call_count_for(e, a).into())]
                .into_iter()
                .collect(),
        )),
        (Some(e), None) => Json(Value::Object(
            [(e.clone(), sb.call_count(e).into())].into_iter().collect(),
        )),
        _ => Json(to_json(&sb.call_counts())),
    }
}

async fn reset_calls(State(sb): State<Sandbox>) -> Json<Value> {
    sb.reset_counters();
    Json(json!({}))
}

async fn faults(State(sb): State<Sandbox>) -> Json<Value> {
    Json(to_json(&sb.faults()))
}

async fn inject(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let f: Fault = body(&b)?;
    if f.endpoint.is_empty() {
        return Err(bad(
            "endpoint is required (a path like /cgi-bin/token, or *)",
        ));
    }
    sb.inject(f);
    Ok(Json(to_json(&sb.faults())))
}

async fn clear_faults(
    State(sb): State<Sandbox>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Json<Value> {
    match query(q).get("endpoint") {
        Some(e) => sb.clear_fault(e),
        None => sb.clear_faults(),
    }
    Json(to_json(&sb.faults()))
}

async fn messages(
    State(sb): State<Sandbox>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Res {
    let q = query(q);
    if let Some(m) = q.get("msgid") {
        let id: u64 = m.parse().map_err(|_| bad("msgid must be a number"))?;
        return Ok(Json(to_json(
            &sb.message(id).ok_or(SandboxError::UnknownMsgid(id))?,
        )));
    }
    Ok(Json(match q.get("openid").or_else(|| q.get("touser")) {
        Some(o) => to_json(&sb.messages_to(o)),
        None => to_json(&sb.messages()),
    }))
}

async fn clear_messages(State(sb): State<Sandbox>) -> Json<Value> {
    sb.clear_messages();
    Json(json!([]))
}

async fn callbacks(
    State(sb): State<Sandbox>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Json<Value> {
    let q = query(q);
    let list: Vec<Value> = sb
        .callbacks()
        .iter()
        .filter(|c| q.get("appid").is_none_or(|a| &c.appid == a))
        .filter(|c| q.get("openid").is_none_or(|o| &c.openid == o))
        .map(outcome_json)
        .collect();
    Json(Value::Array(list))
}

async fn clear_callbacks(State(sb): State<Sandbox>) -> Json<Value> {
    sb.clear_callbacks();
    Json(json!([]))
}

// ----- clock, settings -----

async fn clock(State(sb): State<Sandbox>) -> Json<Value> {
    let now = sb.now();
    Json(json!({"now": now.to_rfc3339(), "unix": now.timestamp()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let a: Advance = body(&b)?;
    sb.advance_clock(Duration::from_secs(a.seconds));
    Ok(clock(State(sb)).await)
}

async fn settings(State(sb): State<Sandbox>) -> Json<Value> {
    Json(to_json(&SettingsPatch::from_settings(&sb.settings())))
}

async fn patch_settings(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let p: SettingsPatch = body(&b)?;
    sb.with(|s| {
        p.apply(&mut s.settings);
        if let Some(seed) = p.seed {
            s.rng = rand::rngs::StdRng::seed_from_u64(seed);
        }
    });
    Ok(settings(State(sb)).await)
}

// ----- phone -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanReq {
    openid: String,
    ticket: String,
}

async fn phone_scan(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: ScanReq = body(&b)?;
    Ok(Json(outcome_json(&sb.scan(&r.openid, &r.ticket).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserReq {
    openid: Option<String>,
    appid: Option<String>,
}

async fn phone_follow(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: UserReq = body(&b)?;
    let openid = match (r.openid, r.appid) {
        (Some(o), _) => o,
        (None, Some(a)) => sb.new_user(&a)?,
        (None, None) => return Err(bad("openid (or appid for a new user) is required")),
    };
    Ok(Json(outcome_json(&sb.follow(&openid).await?)))
}

async fn phone_unfollow(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: UserReq = body(&b)?;
    let openid = r.openid.ok_or_else(|| bad("openid is required"))?;
    Ok(Json(outcome_json(&sb.unfollow(&openid).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextReq {
    openid: String,
    content: String,
}

async fn phone_text(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: TextReq = body(&b)?;
    Ok(Json(outcome_json(
        &sb.send_text(&r.openid, &r.content).await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishedReq {
    msgid: u64,
    #[serde(default = "success")]
    status: TemplateStatus,
    openid: Option<String>,
    appid: Option<String>,
}

fn success() -> TemplateStatus {
    TemplateStatus::Success
}

async fn phone_template_finished(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: FinishedReq = body(&b)?;
    let outcome = match (r.appid, r.openid) {
        (Some(a), Some(o)) => {
            sb.template_job_finished_as(&a, &o, r.msgid, r.status)
                .await?
        }
        _ => sb.template_job_finished(r.msgid, r.status).await?,
    };
    Ok(Json(outcome_json(&outcome)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    template_id: String,
    #[serde(default = "yes")]
    accept: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PopupReq {
    openid: String,
    templates: Vec<Decision>,
}

async fn phone_popup(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: PopupReq = body(&b)?;
    let decisions: Vec<(String, bool)> = r
        .templates
        .into_iter()
        .map(|d| (d.template_id, d.accept))
        .collect();
    Ok(Json(outcome_json(
        &sb.subscription_popup(&r.openid, &decisions).await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeReq {
    openid: String,
    template_id: String,
    accept: bool,
}

async fn phone_change(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: ChangeReq = body(&b)?;
    Ok(Json(outcome_json(
        &sb.subscription_change(&r.openid, &r.template_id, r.accept)
            .await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SentReq {
    openid: String,
    template_id: String,
    msgid: u64,
    #[serde(default = "yes")]
    ok: bool,
}

async fn phone_sent(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: SentReq = body(&b)?;
    Ok(Json(outcome_json(
        &sb.subscription_sent(&r.openid, &r.template_id, r.msgid, r.ok)
            .await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyReq {
    appid: String,
}

async fn phone_verify(State(sb): State<Sandbox>, b: Bytes) -> Res {
    let r: VerifyReq = body(&b)?;
    Ok(Json(to_json(&sb.verify_callback(&r.appid).await?)))
}
