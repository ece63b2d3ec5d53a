//! wechat-callback: the server URL of every WeChat account (`/wechat/<appid>`).
//!
//! This release answers WeChat's server-URL verification (GET); event handling (POST), OAuth
//! and the course landing page arrive with the callback work.

mod verify;

use axum::Router;
use livenotify::platform::Platform;
use tower_http::trace::TraceLayer;

livenotify::function_info!();

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
}

/// Every route of the function.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/wechat/{appid}",
            axum::routing::get(verify::verify_server_url),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
