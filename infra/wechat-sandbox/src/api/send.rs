//! Sending: template messages, subscription messages (official account and mini program),
//! customer-service messages.

use super::common::{Params, json_body, ok, params, str_field};
use crate::accounts::AccountKind;
use crate::clock::secs;
use crate::errcode::{self, WxError};
use crate::messages::{MessageKind, ReceivedMessage};
use crate::phone::TemplateStatus;
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use crate::state::State;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use serde_json::{Value, json};

/// Message types `custom/send` accepts.
const CUSTOM_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
];

/// Longest value per data key type (the key minus its trailing digits), in characters.
fn value_limit(key: &str, value: &str) -> Option<usize> {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    Some(match kind {
        "thing" | "const" => 20,
        "character_string" | "number" | "letter" => 32,
        "symbol" | "phrase" => 5,
        "phone_number" => 17,
        "car_number" => 8,
        "amount" => 16,
        // Names: 10 Chinese characters, or 20 letters and symbols.
        "name" if value.is_ascii() => 20,
        "name" => 10,
        _ => return None,
    })
}

/// Validates `data`: every entry must be `{"value": "..."}` within its type's length (47003).
pub fn validate_data(data: Option<&Value>) -> Result<(), WxError> {
    let Some(data) = data.filter(|d| !d.is_null()) else {
        return Ok(());
    };
    let Some(map) = data.as_object() else {
        return Err(WxError::with_detail(
            errcode::ARGUMENT_INVALID,
            "data must be an object",
        ));
    };
    for (key, entry) in map {
        let Some(value) = entry.get("value").and_then(Value::as_str) else {
            return Err(WxError::with_detail(
                errcode::ARGUMENT_INVALID,
                &format!("data.{key}.value must be a string"),
            ));
        };
        if let Some(limit) = value_limit(key, value)
            && value.chars().count() > limit
        {
            return Err(WxError::with_detail(
                errcode::ARGUMENT_INVALID,
                &format!("data.{key}.value exceeds {limit} characters"),
            ));
        }
    }
    Ok(())
}

/// 48001 unless the account is of one of `kinds`.
fn require_kind(s: &State, appid: &str, kinds: &[AccountKind]) -> Result<(), WxError> {
    if kinds.contains(&s.entry(appid)?.account.kind) {
        Ok(())
    } else {
        Err(WxError::new(errcode::API_UNAUTHORIZED))
    }
}

/// 40037 unless `template_id` is non-empty and, if the account lists templates, one of them.
fn check_template(s: &State, appid: &str, template_id: &str) -> Result<(), WxError> {
    let templates = &s.entry(appid)?.account.templates;
    if template_id.is_empty()
        || (!templates.is_empty() && !templates.iter().any(|t| t == template_id))
    {
        return Err(WxError::new(errcode::INVALID_TEMPLATE_ID));
    }
    Ok(())
}

fn record(
    s: &mut State,
    kind: MessageKind,
    appid: &str,
    touser: &str,
    msgid: Option<u64>,
    body: &Value,
) {
    let received_at = s.clock.now();
    s.messages.push(ReceivedMessage {
        kind,
        appid: appid.to_string(),
        touser: touser.to_string(),
        msgid,
        client_msg_id: body
            .get("client_msg_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        template_id: body
            .get("template_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        msgtype: body
            .get("msgtype")
            .and_then(Value::as_str)
            .map(str::to_string),
        body: body.clone(),
        received_at,
    });
}

/// `POST /cgi-bin/message/template/send` (service accounts): returns msgid; a repeated
/// `(touser, client_msg_id)` inside the window sends nothing and returns the first msgid.
pub async fn template(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::TEMPLATE_SEND).await?;
    let appid = sb.auth_official(&params(q), ep::TEMPLATE_SEND)?;
    let b = json_body(&body)?;
    let (msgid, receipt) = sb.with(|s| {
        require_kind(s, &appid, &[AccountKind::Service])?;
        s.take_quota(&appid, ep::TEMPLATE_SEND)?;
        let touser = str_field(&b, "touser");
        let pid = s.pid_in(&appid, touser)?;
        check_template(s, &appid, str_field(&b, "template_id"))?;
        validate_data(b.get("data"))?;
        let e = s.entry(&appid)?;
        if !e.pop.is_subscribed(pid) {
            return Err(WxError::new(errcode::REQUIRE_SUBSCRIBE));
        }
        if e.pop.extras(pid).is_some_and(|x| x.blocked) {
            return Err(WxError::new(errcode::USER_REFUSED));
        }
        let (now, window) = (s.now(), secs(s.settings.client_msg_id_window));
        let client_msg_id = str_field(&b, "client_msg_id");
        if !client_msg_id.is_empty()
            && let Some(first) =
                s.messages
                    .idempotent_hit(&appid, touser, client_msg_id, now, window)
        {
            return Ok((first, false));
        }
        let msgid = s.next_msgid();
        record(s, MessageKind::Template, &appid, touser, Some(msgid), &b);
        if !client_msg_id.is_empty() {
            s.messages
                .remember(&appid, touser, client_msg_id, msgid, now);
        }
        Ok((msgid, s.settings.auto_template_receipts))
    })?;
    if receipt {
        let sb = sb.clone();
        tokio::spawn(async move {
            if let Err(e) = sb
                .template_job_finished(msgid, TemplateStatus::Success)
                .await
            {
                tracing::warn!(error = %e, msgid, "automatic TEMPLATESENDJOBFINISH failed");
            }
        });
    }
    Ok(ok(json!({"msgid": msgid})))
}

/// `POST /cgi-bin/message/subscribe/bizsend` (official accounts): needs a consent of the user
/// for the template (43101 without), unless disabled in the settings.
pub async fn bizsend(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::BIZSEND).await?;
    let appid = sb.auth_official(&params(q), ep::BIZSEND)?;
    let b = json_body(&body)?;
    sb.with(|s| {
        require_kind(
            s,
            &appid,
            &[AccountKind::Service, AccountKind::Subscription],
        )?;
        s.take_quota(&appid, ep::BIZSEND)?;
        let touser = str_field(&b, "touser");
        s.pid_in(&appid, touser)?;
        let template_id = str_field(&b, "template_id");
        check_template(s, &appid, template_id)?;
        validate_data(b.get("data"))?;
        if s.settings.bizsend_requires_consent && !s.consents.consume(&appid, touser, template_id) {
            return Err(WxError::new(errcode::USER_REFUSED));
        }
        let msgid = s.next_msgid();
        record(s, MessageKind::Subscribe, &appid, touser, Some(msgid), &b);
        Ok(ok(json!({})))
    })
}

/// `POST /cgi-bin/message/subscribe/send` (mini programs): one send per recorded consent.
pub async fn subscribe_send(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::SUBSCRIBE_SEND).await?;
    let appid = sb.auth_official(&params(q), ep::SUBSCRIBE_SEND)?;
    let b = json_body(&body)?;
    sb.with(|s| {
        require_kind(s, &appid, &[AccountKind::MiniProgram])?;
        s.take_quota(&appid, ep::SUBSCRIBE_SEND)?;
        let touser = str_field(&b, "touser");
        s.pid_in(&appid, touser)?;
        let template_id = str_field(&b, "template_id");
        check_template(s, &appid, template_id)?;
        validate_data(b.get("data"))?;
        if let Some(state) = b.get("miniprogram_state")
            && !matches!(state.as_str(), Some("developer" | "trial" | "formal"))
        {
            return Err(WxError::with_detail(
                errcode::ARGUMENT_INVALID,
                "invalid miniprogram_state",
            ));
        }
        if let Some(lang) = b.get("lang")
            && !matches!(lang.as_str(), Some("zh_CN" | "en_US" | "zh_HK" | "zh_TW"))
        {
            return Err(WxError::with_detail(
                errcode::ARGUMENT_INVALID,
                "invalid lang",
            ));
        }
        if !s.consents.consume(&appid, touser, template_id) {
            return Err(WxError::new(errcode::USER_REFUSED));
        }
        let msgid = s.next_msgid();
        record(
            s,
            MessageKind::MiniProgramSubscribe,
            &appid,
            touser,
            Some(msgid),
            &b,
        );
        Ok(ok(json!({"msgid": msgid})))
    })
}

/// `POST /cgi-bin/message/custom/send`: only to followers who interacted within the window
/// (45015), at most N messages per interaction (45047).
pub async fn custom(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::CUSTOM_SEND).await?;
    let appid = sb.auth_official(&params(q), ep::CUSTOM_SEND)?;
    let b = json_body(&body)?;
    sb.with(|s| {
        require_kind(
            s,
            &appid,
            &[AccountKind::Service, AccountKind::Subscription],
        )?;
        s.take_quota(&appid, ep::CUSTOM_SEND)?;
        let touser = str_field(&b, "touser");
        let pid = s.pid_in(&appid, touser)?;
        let msgtype = str_field(&b, "msgtype");
        if !CUSTOM_TYPES.contains(&msgtype) {
            return Err(WxError::new(errcode::INVALID_MSG_TYPE));
        }
        if !b.get(msgtype).is_some_and(Value::is_object) {
            return Err(WxError::with_detail(
                errcode::DATA_FORMAT_ERROR,
                &format!("missing {msgtype} object"),
            ));
        }
        let (now, window, per_window) = (
            s.now(),
            secs(s.settings.custom_window),
            s.settings.custom_messages_per_window,
        );
        let e = s.entry_mut(&appid)?;
        if !e.pop.is_subscribed(pid) {
            return Err(WxError::new(errcode::OUT_OF_TIME_LIMIT));
        }
        let x = e.pop.extras_mut(pid);
        if x.last_interaction.is_none_or(|t| now - t > window) {
            return Err(WxError::new(errcode::OUT_OF_TIME_LIMIT));
        }
        if x.custom_sent >= per_window {
            return Err(WxError::new(errcode::OUT_OF_RESPONSE_COUNT));
        }
        x.custom_sent += 1;
        record(s, MessageKind::Custom, &appid, touser, None, &b);
        Ok(ok(json!({})))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_limits_follow_key_types() {
        assert!(validate_data(Some(&json!({"thing1": {"value": "一".repeat(20)}}))).is_ok());
        assert!(validate_data(Some(&json!({"thing1": {"value": "一".repeat(21)}}))).is_err());
        assert!(validate_data(Some(&json!({"phrase3": {"value": "abcdef"}}))).is_err());
        assert!(validate_data(Some(&json!({"name2": {"value": "a".repeat(20)}}))).is_ok());
        assert!(validate_data(Some(&json!({"name2": {"value": "张".repeat(11)}}))).is_err());
        assert!(validate_data(Some(&json!({"first": {"value": "x".repeat(500)}}))).is_ok());
        assert!(validate_data(Some(&json!({"thing1": {"value": 5}}))).is_err());
        assert!(validate_data(Some(&json!({"thing1": "plain"}))).is_err());
        assert!(validate_data(Some(&json!([1]))).is_err());
        assert!(validate_data(None).is_ok());
    }
}
