//! Lambda entry point of push-worker.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, Env};
use livenotify::platform::Platform;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    livenotify::telemetry::init();
    let env = Env::process();
    let config = CoreConfig::from_env(&env)?;
    let settings = push_worker::Settings::from_env(&env)?;
    let clients = AwsClients::from_env().await;
    let deps = push_worker::Deps::new(Platform::new(&clients, config)?, settings);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(push_worker::handle(deps, event.payload).await)
    }))
    .await
}
