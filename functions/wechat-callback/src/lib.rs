//! wechat-callback: the server URL of every WeChat account (`/wechat/<appid>`), web OAuth of
//! service accounts, the course page with its follow gate (`/c/<course_id>`), and WeChat's
//! domain verification files (`/MP_verify_<code>.txt`).

mod account_cache;
mod events;
mod inbound;
mod landing;
mod oauth;
mod session;
mod verification_file;
mod verify;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use livenotify::platform::Platform;
use tower_http::trace::TraceLayer;

pub use account_cache::AccountCache;

livenotify::function_info!();

/// WeChat's callbacks are a few kilobytes; anything far larger is refused unread.
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

/// Runs before an event is applied and may fail it: tests use it to make an apply slow and
/// then fail (production never sets one).
pub type ApplyFault = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// What the handlers need, built once per cold start.
#[derive(Clone)]
pub struct AppState {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
    /// Accounts as callbacks need them, cached per process.
    pub accounts: AccountCache,
    /// Test seam, see [`ApplyFault`].
    pub apply_fault: Option<ApplyFault>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("platform", &self.platform)
            .field("apply_fault", &self.apply_fault.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `platform` with an empty account cache.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            accounts: AccountCache::default(),
            apply_fault: None,
        }
    }
}

/// Every route of the function.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/wechat/{appid}",
            get(verify::verify_server_url).post(inbound::receive),
        )
        .route("/wechat/{appid}/oauth/start", get(oauth::start))
        .route("/wechat/{appid}/oauth/callback", get(oauth::callback))
        .route("/c/{course_id}", get(landing::course_page))
        // WeChat's domain verification file, at the domain root as WeChat fetches it.
        .route("/{file}", get(verification_file::serve))
        .layer(DefaultBodyLimit::max(MAX_CALLBACK_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
