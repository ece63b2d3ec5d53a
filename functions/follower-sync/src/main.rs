//! Lambda entry point of follower-sync.

// The sync future nests deeply (SDK calls inside the engine inside the batch loop).
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, Env};
use livenotify::platform::Platform;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Left for saving the checkpoint and enqueueing the continuation after the budget.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

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
        let budget = budget_until(event.context.deadline);
        Ok::<_, lambda_runtime::Error>(
            follower_sync::handle_with_budget(deps, event.payload, budget).await,
        )
    }))
    .await
}

/// Time left before the invocation's deadline (epoch milliseconds), minus the safety margin.
fn budget_until(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(SAFETY_MARGIN)
}
