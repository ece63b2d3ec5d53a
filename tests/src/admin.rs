//! Admin-API client for tests: admins of each role, logged in, calling `/api/...` over HTTP.

use crate::TestStack;
use livenotify::domain::{AccountId, AdminUser, Role, now};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Password of every admin the helpers create.
pub const PASSWORD: &str = "correct horse battery";

/// A logged-in admin.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    /// Bearer token.
    pub token: String,
    /// Username.
    pub username: String,
}

/// A response: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Body.
    pub body: Value,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        self.body
    }

    /// The error `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

/// Writes an admin straight into the table (as the local stack's bootstrap does).
pub async fn create_admin(stack: &TestStack, username: &str, role: Role) {
    let at = now();
    let admin = AdminUser {
        username: username.to_string(),
        display_name: username.to_string(),
        role,
        password_hash: admin_api::auth::hash_password(PASSWORD).expect("hash"),
        disabled: false,
        session_epoch: 0,
        created_at: at,
        updated_at: at,
    };
    stack
        .store()
        .create_admin(&admin)
        .await
        .expect("create admin");
}

/// An operator role for these accounts.
pub fn operator(accounts: &[&str]) -> Role {
    Role::Operator {
        accounts: accounts
            .iter()
            .map(|a| AccountId::new(*a).expect("account id"))
            .collect(),
    }
}

/// A viewer role for these accounts.
pub fn viewer(accounts: &[&str]) -> Role {
    Role::Viewer {
        accounts: accounts
            .iter()
            .map(|a| AccountId::new(*a).expect("account id"))
            .collect(),
    }
}

/// Calls the API without a token.
pub async fn call(stack: &TestStack, method: Method, path: &str, body: Option<Value>) -> Reply {
    send(&stack.http, &stack.url(), None, method, path, body).await
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Creates an admin with `role` and logs them in.
pub async fn login_as(stack: &TestStack, username: &str, role: Role) -> AdminClient {
    create_admin(stack, username, role).await;
    login(stack, username).await
}

/// Logs in an existing admin (password [`PASSWORD`]).
pub async fn login(stack: &TestStack, username: &str) -> AdminClient {
    let body = call(
        stack,
        Method::POST,
        "/api/auth/login",
        Some(serde_json::json!({ "username": username, "password": PASSWORD })),
    )
    .await
    .expect(200);
    AdminClient {
        http: stack.http.clone(),
        base: stack.url(),
        token: body["token"].as_str().expect("token").to_string(),
        username: username.to_string(),
    }
}

impl AdminClient {
    /// Any call with this admin's token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        send(
            &self.http,
            &self.base,
            Some(&self.token),
            method,
            path,
            body,
        )
        .await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Every item of a paged list, following `next_cursor` with pages of `limit`.
    pub async fn all_pages(&self, path: &str, limit: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let separator = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut url = format!("{path}{separator}limit={limit}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = self.get(&url).await.expect(200);
            let batch = page["items"].as_array().cloned().unwrap_or_default();
            assert!(batch.len() <= limit as usize, "page larger than limit");
            items.extend(batch);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return items,
            }
        }
    }
}

/// Polls `GET /api/exports/{export_id}` until the job is `succeeded` or `failed` (the local
/// stack's export worker picks jobs up within a second or two); panics after 60 s.
pub async fn wait_for_export(client: &AdminClient, export_id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let job = client
            .get(&format!("/api/exports/{export_id}"))
            .await
            .expect(200);
        if matches!(job["status"].as_str(), Some("succeeded" | "failed")) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "export {export_id} not finished: {job}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

impl AdminClient {
    /// Queues an export (202) and waits for its job to finish.
    pub async fn export(&self, request: Value) -> Value {
        let queued = self.post("/api/exports", request).await.expect(202);
        assert!(
            matches!(
                queued["status"].as_str(),
                Some("pending" | "running" | "succeeded")
            ),
            "{queued}"
        );
        wait_for_export(self, queued["export_id"].as_str().expect("export_id")).await
    }
}
