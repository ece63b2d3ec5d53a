//! Lambda entry point of the export worker (SQS export queue).

// The export future (paged reads feeding the CSV/XLSX writer) nests deeper than rustc's
// default layout-query limit.
#![recursion_limit = "256"]

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
    let deps = admin_api::export_worker::ExportDeps {
        platform: Platform::new(&clients, config)?,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(admin_api::export_worker::handle(deps, event.payload).await)
    }))
    .await
}
