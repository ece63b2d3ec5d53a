//! Lambda entry point of wechat-callback.

use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, Env};
use livenotify::platform::Platform;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    livenotify::telemetry::init();
    let config = CoreConfig::from_env(&Env::process())?;
    let clients = AwsClients::from_env().await;
    let state = wechat_callback::AppState::new(Platform::new(&clients, config)?);
    lambda_http::run(wechat_callback::router(state)).await
}
