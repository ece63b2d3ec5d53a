//! Records every mutating call in the audit log: who (from the bearer token), what (method
//! and route), when, target (path, or the id a handler reports) and result (from the status).

use crate::AppState;
use crate::auth::ActorSlot;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use livenotify::domain::{AuditEntry, AuditId, AuditOutcome, now};

/// Set by a handler (as a response extension) to name what it created or changed.
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

/// Set by a handler that records its own audit entry (login, whose actor is in the body).
#[derive(Debug, Clone, Copy)]
pub struct AuditedByHandler;

/// The middleware.
pub async fn audit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let Some(route) = route else {
        // No route matched: nothing was done, nothing to record.
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    let slot = ActorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    if response.extensions().get::<AuditedByHandler>().is_some() {
        return response;
    }
    let status = response.status();
    let outcome = if status.is_success() {
        AuditOutcome::Succeeded
    } else if status.is_client_error() {
        AuditOutcome::Refused
    } else {
        AuditOutcome::Failed
    };
    let target = response
        .extensions()
        .get::<AuditTarget>()
        .map(|t| t.0.clone())
        .unwrap_or(path);
    let entry = AuditEntry {
        id: AuditId::generate(),
        at: now(),
        actor: slot.get().unwrap_or_else(|| "anonymous".into()),
        action: format!("{method} {route}"),
        target,
        outcome,
        details: serde_json::json!({ "status": status.as_u16() }),
    };
    record(&state, &entry).await;
    response
}

/// Appends an entry; a failure is logged (the call itself already happened).
pub async fn record(state: &AppState, entry: &AuditEntry) {
    if let Err(e) = state.platform.store.record_audit(entry).await {
        tracing::error!(error = %e, action = %entry.action, actor = %entry.actor, "audit entry not recorded");
    }
}
