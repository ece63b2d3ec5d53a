//! Lambda entry point of follower-sync.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, Env};
use livenotify::platform::Platform;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    livenotify::telemetry::init();
    let config = CoreConfig::from_env(&Env::process())?;
    let clients = AwsClients::from_env().await;
    let deps = follower_sync::Deps {
        platform: Platform::new(&clients, config)?,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(follower_sync::handle(deps, event.payload).await)
    }))
    .await
}
