//! admin-api: the admin backend's HTTP API under `/api`, one axum router inside one Lambda.
//!
//! This release serves the health check; the resource routes arrive with the admin-API work.

mod health;

use axum::Router;
use livenotify::function::FunctionInfo;
use livenotify::platform::Platform;
use tower_http::trace::TraceLayer;

livenotify::function_info!();

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
    /// The functions of this deployment (reported by `/api/health`).
    pub functions: Vec<FunctionInfo>,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/health", axum::routing::get(health::health))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
