//! Followers: `user/get` pages, `user/info`, `user/info/batchget`.

use super::common::{Params, json_body, param, params};
use crate::errcode::{self, WxError};
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use crate::state::State;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use serde_json::{Value, json};

/// Largest `user_list` of one batchget.
pub const BATCHGET_MAX: usize = 100;

fn require_official(s: &State, appid: &str) -> Result<(), WxError> {
    if s.entry(appid)?.account.kind.is_official() {
        Ok(())
    } else {
        Err(WxError::new(errcode::API_UNAUTHORIZED))
    }
}

/// `GET /cgi-bin/user/get?next_openid=`: up to a page of openids after `next_openid`.
/// Like WeChat, `next_openid` is the last openid of the page (also on the last page); a call
/// after the end returns `count: 0` and `next_openid: ""` without `data`.
pub async fn list(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::USER_GET).await?;
    let p = params(q);
    let appid = sb.auth_official(&p, ep::USER_GET)?;
    sb.with(|s| {
        require_official(s, &appid)?;
        s.take_quota(&appid, ep::USER_GET)?;
        let start = match param(&p, "next_openid") {
            None => 0,
            Some(next) => s.pid_in(&appid, next)? + 1,
        };
        let e = s.entry(&appid)?;
        let page = e.pop.page(start, s.settings.user_get_page_size);
        let total = e.pop.total();
        if page.is_empty() {
            return Ok(Json(json!({"total": total, "count": 0, "next_openid": ""})));
        }
        let openids: Vec<String> = page.iter().map(|pid| e.openid(*pid)).collect();
        let next = openids.last().cloned().unwrap_or_default();
        Ok(Json(json!({
            "total": total,
            "count": openids.len(),
            "data": {"openid": openids},
            "next_openid": next,
        })))
    })
}

/// `GET /cgi-bin/user/info?openid&lang`: one user's info (same shape as a batchget entry).
pub async fn info(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::USER_INFO).await?;
    let p = params(q);
    let appid = sb.auth_official(&p, ep::USER_INFO)?;
    sb.with(|s| {
        require_official(s, &appid)?;
        s.take_quota(&appid, ep::USER_INFO)?;
        let pid = s.pid_in(&appid, param(&p, "openid").unwrap_or_default())?;
        Ok(Json(s.entry(&appid)?.info(pid).to_wechat_json()))
    })
}

/// `POST /cgi-bin/user/info/batchget {user_list:[{openid, lang}]}`: 1 to 100 users; one bad
/// openid fails the whole call (40003).
pub async fn batchget(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::USER_BATCHGET).await?;
    let appid = sb.auth_official(&params(q), ep::USER_BATCHGET)?;
    let b = json_body(&body)?;
    let Some(list) = b.get("user_list").and_then(Value::as_array) else {
        return Err(WxError::with_detail(
            errcode::DATA_FORMAT_ERROR,
            "user_list must be an array",
        ));
    };
    if list.is_empty() || list.len() > BATCHGET_MAX {
        return Err(WxError::new(errcode::INVALID_OPENID_LIST_SIZE));
    }
    sb.with(|s| {
        require_official(s, &appid)?;
        s.take_quota(&appid, ep::USER_BATCHGET)?;
        let e = s.entry(&appid)?;
        let infos = list
            .iter()
            .map(|u| {
                let openid = u.get("openid").and_then(Value::as_str).unwrap_or_default();
                let pid = e
                    .pid(openid)
                    .ok_or_else(|| WxError::new(errcode::INVALID_OPENID))?;
                Ok(e.info(pid).to_wechat_json())
            })
            .collect::<Result<Vec<_>, WxError>>()?;
        Ok(Json(json!({"user_info_list": infos})))
    })
}
