//! Lambda entry point of admin-api.

use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, Env};
use livenotify::platform::Platform;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    livenotify::telemetry::init();
    let config = CoreConfig::from_env(&Env::process())?;
    let clients = AwsClients::from_env().await;
    let state = admin_api::AppState {
        platform: Platform::new(&clients, config)?,
        // One deployment ships every function from one build of this workspace.
        functions: livenotify::function::deployment(),
    };
    lambda_http::run(admin_api::router(state)).await
}
