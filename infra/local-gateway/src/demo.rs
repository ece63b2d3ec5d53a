//! Demo accounts for `make dev`: the seed's two service accounts (htology, onco) and a
//! subscription account, created in the WeChat sandbox with their server URLs pointing at
//! this gateway, and registered with the platform, so the stack is usable at once.

use livenotify::domain::{Account, AccountId, AccountKind, AccountSecrets, CallbackMode, now};
use livenotify::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::json;

/// Followers each demo account starts with.
pub const DEMO_FOLLOWERS: u64 = 200;

/// (appid, name, kind, encryption mode)
const DEMO_ACCOUNTS: [(&str, &str, &str, &str); 3] = [
    ("wxhtology00000001", "htology", "service", "safe"),
    ("wxonco00000000001", "onco", "service", "compatible"),
    (
        "wxsubscribe000001",
        "医学前沿订阅号",
        "subscription",
        "plaintext",
    ),
];

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The sandbox refused or could not be reached.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// The table refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A demo id is invalid (a bug).
    #[error(transparent)]
    Id(#[from] livenotify::domain::IdError),
}

#[derive(Deserialize)]
struct SandboxAccountView {
    account: SandboxCredentials,
}

#[derive(Deserialize)]
struct SandboxCredentials {
    secret: String,
    token: String,
    encoding_aes_key: String,
    original_id: String,
}

fn sandbox_error(e: reqwest::Error) -> DemoError {
    DemoError::Sandbox(e.without_url().to_string())
}

/// Creates the demo accounts (once: existing ones are left alone) and returns their ids.
pub async fn seed(
    store: &Store,
    sandbox_url: &str,
    gateway_url: &str,
) -> Result<Vec<AccountId>, DemoError> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (appid, name, kind, mode) in DEMO_ACCOUNTS {
        let id = AccountId::new(appid)?;
        ids.push(id.clone());
        match store.get_account(&id).await {
            Ok(_) => continue,
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let created = http
            .post(format!("{sandbox_url}/sandbox/accounts"))
            .json(&json!({
                "appid": appid,
                "kind": kind,
                "open_platform": "medu",
                "callback_url": format!("{gateway_url}/wechat/{appid}"),
                "encryption_mode": mode,
                "followers": DEMO_FOLLOWERS,
            }))
            .send()
            .await
            .map_err(sandbox_error)?;
        // 409: the sandbox already has it (the gateway restarted against a running sandbox).
        if !created.status().is_success() && created.status().as_u16() != 409 {
            return Err(DemoError::Sandbox(format!(
                "creating {appid} answered {}",
                created.status()
            )));
        }
        let view: SandboxAccountView = http
            .get(format!("{sandbox_url}/sandbox/accounts/{appid}"))
            .send()
            .await
            .map_err(sandbox_error)?
            .json()
            .await
            .map_err(sandbox_error)?;
        let at = now();
        let account = Account {
            id: id.clone(),
            name: name.to_string(),
            kind: if kind == "service" {
                AccountKind::Service
            } else {
                AccountKind::Subscription
            },
            appid: appid.to_string(),
            original_id: view.account.original_id,
            wecom_agent_id: None,
            callback_mode: match mode {
                "safe" => CallbackMode::Safe,
                "compatible" => CallbackMode::Compatible,
                _ => CallbackMode::Plaintext,
            },
            follower_count: 0,
            follow_url: Some(format!("http://weixin.qq.com/r/{appid}")),
            keyword_replies: Vec::new(),
            created_at: at,
            updated_at: at,
        };
        let secrets = AccountSecrets {
            app_secret: view.account.secret,
            callback_token: view.account.token,
            encoding_aes_key: Some(view.account.encoding_aes_key),
        };
        store.create_account(&account, &secrets).await?;
    }
    Ok(ids)
}
