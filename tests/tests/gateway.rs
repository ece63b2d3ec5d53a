//! The local gateway against moto: provisioning is idempotent, `/api/health` reports the
//! functions, and the SQS poller behaves like Lambda's event-source mapping.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use livenotify::config::CoreConfig;
use livenotify_tests::{TestAws, unique};
use local_gateway::poller::{PollSettings, poll};
use local_gateway::provision::{ResourceNames, provision};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

fn core_config(resources: &local_gateway::provision::Resources, table: &str) -> CoreConfig {
    let mut config = local_gateway::local_config(
        resources,
        &local_gateway::WechatBases::sandbox("http://127.0.0.1:9"),
        "http://127.0.0.1:9",
    );
    config.table_name = table.into();
    config
}

#[tokio::test]
async fn provisioning_twice_is_harmless_and_complete() {
    let aws = TestAws::connect().await;
    let names = ResourceNames {
        table: unique("t"),
        queue_prefix: unique("q"),
        bucket: unique("b"),
    };
    let first = provision(&aws.clients, &names).await.unwrap();
    let second = provision(&aws.clients, &names).await.unwrap();
    assert_eq!(first.push.url, second.push.url);
    let table = aws
        .clients
        .dynamodb
        .describe_table()
        .table_name(&names.table)
        .send()
        .await
        .unwrap();
    let gsis = table
        .table
        .unwrap()
        .global_secondary_indexes
        .unwrap_or_default();
    assert_eq!(gsis.len(), 3);
    let redrive = aws
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&first.push.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    assert!(
        redrive.values().any(|v| v.contains("-push-dlq")),
        "push queue has a DLQ: {redrive:?}"
    );
    aws.clients
        .s3
        .head_bucket()
        .bucket(&names.bucket)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn health_reports_every_function_and_the_table() {
    let aws = TestAws::connect().await;
    let resources = aws.fresh_resources().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = local_gateway::start(
        aws.clients.clone(),
        core_config(&resources, &resources.table),
        resources.clone(),
        listener,
    )
    .await
    .unwrap();
    let response = reqwest::get(format!("{}/api/health", gateway.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["dynamodb"], "ok");
    let names: Vec<_> = body["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, livenotify::function::FUNCTION_NAMES);
    assert!(
        body["functions"][0]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );

    // Unknown WeChat accounts are 404, unsigned verification of nothing never 5xx.
    let response = reqwest::get(format!(
        "{}/wechat/wxunknown?signature=a&timestamp=1&nonce=n&echostr=e",
        gateway.url()
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    gateway.shutdown().await;

    // With the table gone, health says so with 503 rather than pretending.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = local_gateway::start(
        aws.clients.clone(),
        core_config(&resources, "no-such-table"),
        resources,
        listener,
    )
    .await
    .unwrap();
    let response = reqwest::get(format!("{}/api/health", gateway.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    gateway.shutdown().await;
}

#[tokio::test]
async fn poller_deletes_successes_and_redelivers_failures_until_the_dlq() {
    let aws = TestAws::connect().await;
    let resources = aws.fresh_resources().await;
    // A short visibility timeout so failed messages come back quickly.
    aws.clients
        .sqs
        .set_queue_attributes()
        .queue_url(&resources.qr.url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .send()
        .await
        .unwrap();
    for body in ["ok-1", "fail", "ok-2"] {
        aws.clients
            .sqs
            .send_message()
            .queue_url(&resources.qr.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (stop_tx, stop) = watch::channel(false);
    let settings = PollSettings {
        queue_url: resources.qr.url.clone(),
        batch_size: 10,
        wait: Duration::from_secs(1),
    };
    let recorder = seen.clone();
    let poller = tokio::spawn(poll(
        aws.clients.sqs.clone(),
        settings,
        stop,
        move |event| {
            let recorder = recorder.clone();
            async move {
                let mut response = SqsBatchResponse::default();
                for record in event.records {
                    let body = record.body.unwrap_or_default();
                    if body == "fail" {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = record.message_id.unwrap_or_default();
                        response.batch_item_failures.push(failure);
                    }
                    recorder.lock().unwrap().push(body);
                }
                response
            }
        },
    ));

    // The failing message is received MAX_RECEIVES times, then lands in the DLQ.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let dlq_body = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "message never reached the DLQ; seen {:?}",
            seen.lock().unwrap()
        );
        let out = aws
            .clients
            .sqs
            .receive_message()
            .queue_url(&resources.qr.dlq_url)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
            break m.body.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    stop_tx.send(true).unwrap();
    poller.await.unwrap();
    assert_eq!(dlq_body, "fail");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|b| *b == "ok-1").count(),
        1,
        "successes are deleted, not redelivered: {seen:?}"
    );
    assert_eq!(seen.iter().filter(|b| *b == "ok-2").count(), 1);
    assert_eq!(
        seen.iter().filter(|b| *b == "fail").count(),
        local_gateway::provision::MAX_RECEIVES as usize
    );
}
