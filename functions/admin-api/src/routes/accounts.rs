//! WeChat accounts (super admins write, everyone reads). Credentials are accepted on write,
//! sealed by the store, and never returned or logged.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{Caller, SuperAdmin};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{PageQuery, Paged};
use crate::validate::Validator;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::domain::{
    Account, AccountId, AccountKind, AccountSecrets, CallbackMode, KeywordReply, now,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An account as the API shows it: no credentials.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// Platform id (the appid for official accounts and mini programs).
    pub id: String,
    /// Display name, e.g. "htology".
    pub name: String,
    /// Kind.
    #[schema(schema_with = crate::schema::account_kind)]
    pub kind: AccountKind,
    /// WeChat appid (or WeCom corpid).
    pub appid: String,
    /// Original id (`gh_…`).
    pub original_id: String,
    /// WeCom agent id.
    pub wecom_agent_id: Option<i64>,
    /// Callback encryption mode.
    #[schema(schema_with = crate::schema::callback_mode)]
    pub callback_mode: CallbackMode,
    /// Subscribed followers.
    pub follower_count: u64,
    /// Content of the account's own follow QR code, shown by a course's follow gate.
    pub follow_url: Option<String>,
    /// Automatic answers to users' text messages (checked before the built-in keywords).
    pub keyword_replies: Vec<KeywordReplyView>,
    /// Added.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An automatic answer to a text message equal to `keyword` (trimmed, case-insensitive).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeywordReplyView {
    /// The text a user sends (1 to 30 characters).
    pub keyword: String,
    /// The answer (1 to 600 characters).
    pub reply: String,
}

/// Most keyword replies per account.
pub const MAX_KEYWORD_REPLIES: usize = 200;
/// Longest keyword, in characters.
const MAX_KEYWORD_CHARS: usize = 30;
/// Longest reply, in characters (WeChat's passive text replies take about 2,000 bytes).
const MAX_REPLY_CHARS: usize = 600;

/// Checks a follow URL (empty clears it) and returns the value to store.
fn check_follow_url(v: &mut Validator, url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    v.url("follow_url", url);
    Some(url.to_string())
}

/// Checks keyword replies: non-empty, bounded, no keyword twice (as matched: trimmed,
/// case-insensitive). Returns them trimmed.
fn check_keyword_replies(v: &mut Validator, replies: &[KeywordReplyView]) -> Vec<KeywordReply> {
    if replies.len() > MAX_KEYWORD_REPLIES {
        v.add(
            "keyword_replies",
            "too_many",
            format!("最多 {MAX_KEYWORD_REPLIES} 条关键词回复"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(replies.len());
    for (i, r) in replies.iter().enumerate() {
        let keyword = r.keyword.trim();
        let field = format!("keyword_replies[{i}].keyword");
        v.required_text(&field, keyword, MAX_KEYWORD_CHARS);
        if !keyword.is_empty() && !seen.insert(keyword.to_lowercase()) {
            v.add(&field, "duplicate", "关键词重复");
        }
        v.required_text(
            &format!("keyword_replies[{i}].reply"),
            &r.reply,
            MAX_REPLY_CHARS,
        );
        out.push(KeywordReply {
            keyword: keyword.to_string(),
            reply: r.reply.clone(),
        });
    }
    out
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            kind: a.kind,
            appid: a.appid,
            original_id: a.original_id,
            wecom_agent_id: a.wecom_agent_id,
            callback_mode: a.callback_mode,
            follower_count: a.follower_count,
            follow_url: a.follow_url,
            keyword_replies: a
                .keyword_replies
                .into_iter()
                .map(|r| KeywordReplyView {
                    keyword: r.keyword,
                    reply: r.reply,
                })
                .collect(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A new account with its credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountCreate {
    /// Platform id; defaults to `appid` (required for WeCom apps).
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Kind.
    #[schema(schema_with = crate::schema::account_kind)]
    pub kind: AccountKind,
    /// WeChat appid (or WeCom corpid).
    pub appid: String,
    /// Original id (`gh_…`).
    #[serde(default)]
    pub original_id: String,
    /// WeCom agent id (required for WeCom apps).
    pub wecom_agent_id: Option<i64>,
    /// Callback encryption mode.
    #[serde(default)]
    #[schema(schema_with = crate::schema::callback_mode)]
    pub callback_mode: CallbackMode,
    /// AppSecret (or WeCom corpsecret). Write-only.
    pub app_secret: String,
    /// Callback Token. Write-only.
    pub callback_token: String,
    /// 43-character EncodingAESKey (compatible and safe mode). Write-only.
    pub encoding_aes_key: Option<String>,
    /// Content of the account's own follow QR code (`http(s)://…`).
    pub follow_url: Option<String>,
    /// Automatic answers to users' text messages.
    #[serde(default)]
    pub keyword_replies: Vec<KeywordReplyView>,
}

/// Changes to an account; absent fields stay. Credentials given here replace the stored ones.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Original id.
    pub original_id: Option<String>,
    /// WeCom agent id.
    pub wecom_agent_id: Option<i64>,
    /// Callback encryption mode.
    #[schema(schema_with = crate::schema::callback_mode)]
    pub callback_mode: Option<CallbackMode>,
    /// New AppSecret. Write-only.
    pub app_secret: Option<String>,
    /// New callback Token. Write-only.
    pub callback_token: Option<String>,
    /// New EncodingAESKey. Write-only.
    pub encoding_aes_key: Option<String>,
    /// New follow QR content; `""` removes it.
    pub follow_url: Option<String>,
    /// Replaces every keyword reply (`[]` removes them all).
    pub keyword_replies: Option<Vec<KeywordReplyView>>,
}

/// Account list filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only this kind.
    #[param(schema_with = crate::schema::account_kind)]
    pub kind: Option<AccountKind>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

fn check_secret_fields(
    v: &mut Validator,
    app_secret: Option<&str>,
    token: Option<&str>,
    aes_key: Option<&str>,
) {
    if let Some(secret) = app_secret {
        v.required_text("app_secret", secret, 256);
    }
    if let Some(token) = token {
        // WeChat's console accepts 3 to 32 letters and digits.
        if !(3..=32).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            v.add(
                "callback_token",
                "invalid_token",
                "Token 须为 3 到 32 位字母或数字",
            );
        }
    }
    if let Some(key) = aes_key.filter(|k| !k.is_empty())
        && (key.len() != 43 || !key.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        v.add(
            "encoding_aes_key",
            "invalid_aes_key",
            "EncodingAESKey 须为 43 位字母或数字",
        );
    }
}

#[utoipa::path(get, path = "/api/accounts", tag = "公众号", summary = "公众号列表",
    params(AccountQuery), responses((status = 200, body = Paged<AccountView>)))]
/// Accounts by kind then id (only those in the caller's scope).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Paged<AccountView>>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = state
        .platform
        .store
        .list_accounts(query.kind, &caller.scope(), &page.request()?)
        .await?;
    Ok(Json(Paged::from_page(page, AccountView::from)))
}

#[utoipa::path(post, path = "/api/accounts", tag = "公众号", summary = "添加公众号",
    request_body = AccountCreate, responses((status = 201, body = AccountView)))]
/// Adds an account with its credentials (super admins).
pub async fn create(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    ApiJson(input): ApiJson<AccountCreate>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<AccountView>)> {
    let mut v = Validator::new();
    v.required_text("name", &input.name, 64);
    v.required_text("appid", &input.appid, 64);
    v.max_len("original_id", &input.original_id, 64);
    let id_text = input
        .id
        .clone()
        .unwrap_or_else(|| input.appid.trim().to_string());
    let id = v.id::<AccountId>("id", &id_text);
    if input.kind == AccountKind::Wecom && input.wecom_agent_id.is_none() {
        v.add("wecom_agent_id", "required", "企业微信应用须填写 AgentId");
    }
    check_secret_fields(
        &mut v,
        Some(&input.app_secret),
        Some(&input.callback_token),
        input.encoding_aes_key.as_deref(),
    );
    if input.callback_mode != CallbackMode::Plaintext
        && input
            .encoding_aes_key
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    {
        v.add(
            "encoding_aes_key",
            "required",
            "兼容模式和安全模式须填写 EncodingAESKey",
        );
    }
    let follow_url = input
        .follow_url
        .as_deref()
        .and_then(|url| check_follow_url(&mut v, url));
    let keyword_replies = check_keyword_replies(&mut v, &input.keyword_replies);
    v.finish()?;
    let Some(id) = id else {
        return Err(ApiError::internal("validated id missing"));
    };
    let at = now();
    let account = Account {
        id: id.clone(),
        name: input.name.trim().to_string(),
        kind: input.kind,
        appid: input.appid.trim().to_string(),
        original_id: input.original_id.trim().to_string(),
        wecom_agent_id: input.wecom_agent_id,
        callback_mode: input.callback_mode,
        follower_count: 0,
        follow_url,
        keyword_replies,
        created_at: at,
        updated_at: at,
    };
    let secrets = AccountSecrets {
        app_secret: input.app_secret,
        callback_token: input.callback_token,
        encoding_aes_key: input.encoding_aes_key.filter(|k| !k.is_empty()),
    };
    state
        .platform
        .store
        .create_account(&account, &secrets)
        .await?;
    tracing::info!(account = %id, "account added");
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(format!("account/{id}"))),
        Json(account.into()),
    ))
}

/// Parses an account id from a path.
pub fn account_id(text: &str) -> ApiResult<AccountId> {
    let mut v = Validator::new();
    let id = v.id::<AccountId>("account_id", text);
    v.finish()?;
    id.ok_or_else(|| ApiError::internal("validated id missing"))
}

#[utoipa::path(get, path = "/api/accounts/{account_id}", tag = "公众号", summary = "公众号详情",
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView)))]
/// One account (without credentials).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let id = account_id(&id)?;
    caller.see_account(&id)?;
    Ok(Json(state.platform.store.get_account(&id).await?.into()))
}

#[utoipa::path(patch, path = "/api/accounts/{account_id}", tag = "公众号", summary = "修改公众号（含更换密钥）",
    params(("account_id" = String, Path, description = "Account id")),
    request_body = AccountUpdate, responses((status = 200, body = AccountView)))]
/// Changes an account; given credentials replace the stored ones (super admins).
pub async fn update(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AccountUpdate>,
) -> ApiResult<Json<AccountView>> {
    let id = account_id(&id)?;
    let store = &state.platform.store;
    let mut account = store.get_account(&id).await?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        v.required_text("name", name, 64);
        account.name = name.trim().to_string();
    }
    if let Some(original) = &input.original_id {
        v.max_len("original_id", original, 64);
        account.original_id = original.trim().to_string();
    }
    if let Some(agent) = input.wecom_agent_id {
        account.wecom_agent_id = Some(agent);
    }
    if let Some(mode) = input.callback_mode {
        account.callback_mode = mode;
    }
    if let Some(url) = &input.follow_url {
        account.follow_url = check_follow_url(&mut v, url);
    }
    if let Some(replies) = &input.keyword_replies {
        account.keyword_replies = check_keyword_replies(&mut v, replies);
    }
    check_secret_fields(
        &mut v,
        input.app_secret.as_deref(),
        input.callback_token.as_deref(),
        input.encoding_aes_key.as_deref(),
    );
    v.finish()?;
    let secrets_change = input.app_secret.is_some()
        || input.callback_token.is_some()
        || input.encoding_aes_key.is_some();
    if secrets_change || account.callback_mode != CallbackMode::Plaintext {
        let mut secrets = store.get_account_secrets(&id).await?;
        if let Some(secret) = input.app_secret {
            secrets.app_secret = secret;
        }
        if let Some(token) = input.callback_token {
            secrets.callback_token = token;
        }
        if let Some(key) = input.encoding_aes_key {
            secrets.encoding_aes_key = Some(key).filter(|k| !k.is_empty());
        }
        if account.callback_mode != CallbackMode::Plaintext && secrets.encoding_aes_key.is_none() {
            let mut v = Validator::new();
            v.add(
                "encoding_aes_key",
                "required",
                "兼容模式和安全模式须填写 EncodingAESKey",
            );
            v.finish()?;
        }
        if secrets_change {
            store.set_account_secrets(&id, &secrets).await?;
            tracing::info!(account = %id, "account credentials replaced");
        }
    }
    store.update_account(&account).await?;
    Ok(Json(store.get_account(&id).await?.into()))
}

#[utoipa::path(delete, path = "/api/accounts/{account_id}", tag = "公众号", summary = "删除公众号",
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Deleted (its followers and records stay as history)")))]
/// Removes an account and its credentials (super admins).
pub async fn delete(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = account_id(&id)?;
    state.platform.store.delete_account(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
