//! Lambda entry point of qr-generator.

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
    let deps = qr_generator::Deps {
        platform: Platform::new(&clients, config)?,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(qr_generator::handle(deps, event.payload).await)
    }))
    .await
}
