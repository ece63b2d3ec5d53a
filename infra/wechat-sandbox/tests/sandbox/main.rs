//! End-to-end tests of the sandbox over real HTTP (reqwest against `spawn_local`).

mod callbacks;
mod control;
mod followers;
mod misc;
mod qrcode;
mod sending;
mod tokens;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wechat_sandbox::{Sandbox, SandboxAccount, Settings};

/// Service account used by most tests.
pub const SERVICE: &str = "wxservice00000001";
/// Subscription account in the same open-platform group.
pub const SUBSCRIPTION: &str = "wxsubscribe000001";
/// Mini program.
pub const MINI: &str = "wxmini00000000001";
/// WeCom corp.
pub const CORP: &str = "ww0000000000000001";
/// WeCom agentid.
pub const AGENT: i64 = 1_000_005;

/// A running sandbox with the standard accounts.
pub struct Env {
    pub sb: Sandbox,
    pub base: String,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn new() -> Self {
        Self::with_settings(Settings::default()).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let sb = Sandbox::new(settings);
        sb.add_account(SandboxAccount::service(SERVICE).in_open_platform("medu"));
        sb.add_account(SandboxAccount::subscription(SUBSCRIPTION).in_open_platform("medu"));
        sb.add_account(SandboxAccount::mini_program(MINI).in_open_platform("medu"));
        sb.add_account(SandboxAccount::wecom(CORP, AGENT));
        let base = sb.spawn_local().await.expect("bind sandbox");
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { sb, base, http }
    }

    pub fn secret(&self, appid: &str) -> String {
        self.sb.account(appid).expect("account").secret
    }

    /// GET returning (status, JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST raw body returning (status, JSON).
    pub async fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.to_string())
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON returning the JSON answer (any status).
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        self.post_raw(path, &body.to_string()).await.1
    }

    /// A fresh access token of an official account or mini program.
    pub async fn token(&self, appid: &str) -> String {
        let (_, v) = self
            .get(&format!(
                "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={}",
                self.secret(appid)
            ))
            .await;
        v["access_token"].as_str().expect("token").to_string()
    }
}

/// The errcode of a WeChat answer (0 when absent, as on success bodies without it).
pub fn errcode(v: &Value) -> i64 {
    v.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}

/// One request the test receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub query: HashMap<String, String>,
    pub body: String,
}

/// What the receiver does with request number `n` (0-based): delay, then status and body.
pub type Behaviour = Arc<dyn Fn(&Hit, usize) -> (Duration, u16, String) + Send + Sync>;

/// A tiny callback server recording every request.
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn spawn(behaviour: Behaviour) -> Self {
        use axum::extract::{Query, State};
        use axum::http::{Method, StatusCode};
        type Shared = (Arc<Mutex<Vec<Hit>>>, Behaviour);
        async fn handle(
            State((hits, behaviour)): State<Shared>,
            method: Method,
            Query(query): Query<HashMap<String, String>>,
            body: String,
        ) -> (StatusCode, String) {
            let hit = Hit {
                method: method.to_string(),
                query,
                body,
            };
            let n = {
                let mut h = hits.lock().expect("lock");
                h.push(hit.clone());
                h.len() - 1
            };
            let (delay, status, reply) = behaviour(&hit, n);
            tokio::time::sleep(delay).await;
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                reply,
            )
        }
        let hits = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/wechat/callback", axum::routing::any(handle))
            .with_state((hits.clone(), behaviour));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/wechat/callback?account=test"),
            hits,
        }
    }

    /// Always answers `success` at once.
    pub async fn success() -> Self {
        Self::spawn(Arc::new(|_, _| (Duration::ZERO, 200, "success".into()))).await
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }
}
