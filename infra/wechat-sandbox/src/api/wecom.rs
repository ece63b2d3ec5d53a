//! WeCom (企业微信), served under `/wecom` so one sandbox plays both hosts:
//! `GET /wecom/cgi-bin/gettoken` and `POST /wecom/cgi-bin/message/send`.

use super::common::{Params, json_body, ok, param, params, str_field};
use crate::accounts::AccountKind;
use crate::errcode::{self, WxError};
use crate::ids;
use crate::messages::{MessageKind, ReceivedMessage};
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use crate::tokens::TokenKind;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use serde_json::{Value, json};

/// Message types WeCom app messages support.
const MSG_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
    "miniprogram_notice",
    "template_card",
];

/// Default and largest duplicate-check interval (seconds).
const DUP_DEFAULT: i64 = 1800;
const DUP_MAX: i64 = 4 * 3600;

/// `GET /wecom/cgi-bin/gettoken?corpid&corpsecret`: the same token while it is valid.
pub async fn gettoken(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::WECOM_GETTOKEN).await?;
    let p = params(q);
    let corpid = param(&p, "corpid").ok_or_else(|| WxError::new(errcode::APPID_MISSING))?;
    let secret = param(&p, "corpsecret").ok_or_else(|| WxError::new(errcode::APPSECRET_MISSING))?;
    sb.with(|s| {
        let e = s.entry(corpid)?;
        if e.account.kind != AccountKind::Wecom {
            return Err(WxError::new(errcode::INVALID_APPID));
        }
        let matches = e.account.secret == secret;
        s.counters.hit_account(ep::WECOM_GETTOKEN, corpid);
        if !matches {
            return Err(WxError::new(errcode::INVALID_CREDENTIAL));
        }
        s.take_quota(corpid, ep::WECOM_GETTOKEN)?;
        let (now, ttl) = (s.now(), s.token_ttl());
        let issued = s
            .tokens
            .current_or_issue(corpid, TokenKind::Wecom, now, ttl);
        Ok(ok(
            json!({"access_token": issued.access_token, "expires_in": issued.expires_in}),
        ))
    })
}

/// `|`-separated ids.
fn split(v: &Value, name: &str) -> Vec<String> {
    str_field(v, name)
        .split('|')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The agentid of the body, as a number or numeric string.
fn agentid(b: &Value) -> Option<i64> {
    match b.get("agentid")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `POST /wecom/cgi-bin/message/send`: app message to users / parties / tags. Unknown users
/// are listed in `invaliduser`; all recipients invalid is 81013.
pub async fn send(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::WECOM_SEND).await?;
    let corpid = sb.auth_wecom(&params(q), ep::WECOM_SEND)?;
    let b = json_body(&body)?;
    sb.with(|s| {
        let e = s.entry(&corpid)?;
        let Some(agent) = agentid(&b).filter(|a| Some(*a) == e.account.agentid) else {
            return Err(WxError::new(errcode::INVALID_AGENTID));
        };
        let msgtype = str_field(&b, "msgtype");
        if !MSG_TYPES.contains(&msgtype) {
            return Err(WxError::new(errcode::INVALID_MSG_TYPE));
        }
        if !b.get(msgtype).is_some_and(Value::is_object) {
            return Err(WxError::with_detail(
                errcode::DATA_FORMAT_ERROR,
                &format!("missing {msgtype} object"),
            ));
        }
        let (mut users, mut invalid_users) = (Vec::new(), Vec::new());
        for u in split(&b, "touser") {
            let known = u == "@all"
                || ids::parse_wecom_userid(&u).is_some_and(|pid| e.pop.is_subscribed(pid));
            if known {
                users.push(u)
            } else {
                invalid_users.push(u)
            }
        }
        // Departments and tags are not modelled: any positive number is a valid one.
        let valid_id = |x: &String| x.parse::<u64>().is_ok_and(|n| n > 0);
        let (parties, invalid_parties): (Vec<_>, Vec<_>) =
            split(&b, "toparty").into_iter().partition(valid_id);
        let (tags, invalid_tags): (Vec<_>, Vec<_>) =
            split(&b, "totag").into_iter().partition(valid_id);
        if users.is_empty() && parties.is_empty() && tags.is_empty() {
            return Err(WxError::new(errcode::ALL_RECIPIENTS_INVALID));
        }
        let now = s.now();
        let dedupe = b.get("enable_duplicate_check").and_then(Value::as_i64) == Some(1);
        let window = b
            .get("duplicate_check_interval")
            .and_then(Value::as_i64)
            .unwrap_or(DUP_DEFAULT)
            .clamp(1, DUP_MAX);
        let canonical = canonical_content(&b);
        let earlier = dedupe
            .then(|| {
                s.messages
                    .wecom_duplicate(&corpid, agent, &canonical, now, window)
            })
            .flatten();
        let msgid = match earlier {
            Some(id) => id,
            None => {
                let msgid = s.next_msgid();
                let received_at = s.clock.now();
                let recipients = users
                    .iter()
                    .cloned()
                    .chain(parties.iter().map(|p| format!("party:{p}")))
                    .chain(tags.iter().map(|t| format!("tag:{t}")));
                for touser in recipients {
                    s.messages.push(ReceivedMessage {
                        kind: MessageKind::Wecom,
                        appid: corpid.clone(),
                        touser,
                        msgid: Some(msgid),
                        client_msg_id: None,
                        template_id: None,
                        msgtype: Some(msgtype.to_string()),
                        body: b.clone(),
                        received_at,
                    });
                }
                if dedupe {
                    s.messages
                        .remember_wecom(&corpid, agent, canonical, msgid, now);
                }
                msgid
            }
        };
        Ok(ok(json!({
            "invaliduser": invalid_users.join("|"),
            "invalidparty": invalid_parties.join("|"),
            "invalidtag": invalid_tags.join("|"),
            "unlicenseduser": "",
            "msgid": msgid.to_string(),
            "response_code": ids::random_token_chars(40),
        })))
    })
}

/// What WeCom compares for duplicates: recipients, type and content, not the check settings.
fn canonical_content(b: &Value) -> String {
    let mut v = b.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("enable_duplicate_check");
        m.remove("duplicate_check_interval");
    }
    // serde_json's map is ordered by key, so equal bodies serialise equally.
    v.to_string()
}
