//! A local Lambda Runtime API (the 2018-06-01 interface a `provided.al2023` bootstrap talks
//! to): hands out queued events on `next`, records responses, errors and init errors, and
//! notes when the function first asked for an event, i.e. when its cold start ended.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// What happened to one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The function's response body.
    Response(Vec<u8>),
    /// The function reported an invocation error.
    Error(Vec<u8>),
}

#[derive(Debug, Default)]
struct Inner {
    events: VecDeque<(String, Vec<u8>)>,
    first_next: Option<Instant>,
    answers: Vec<(String, Answer, Instant)>,
    init_error: Option<Vec<u8>>,
}

/// The emulator's shared state; clone it to observe a run.
#[derive(Debug, Clone, Default)]
pub struct RuntimeApi {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

impl RuntimeApi {
    /// Queues an event under `request_id`.
    pub fn push_event(&self, request_id: &str, payload: Vec<u8>) {
        self.lock()
            .events
            .push_back((request_id.to_string(), payload));
        self.changed.notify_waiters();
    }

    /// When the function first called `next` (its cold start is over).
    pub fn first_next(&self) -> Option<Instant> {
        self.lock().first_next
    }

    /// Answers so far, with the time each arrived.
    pub fn answers(&self) -> Vec<(String, Answer, Instant)> {
        self.lock().answers.clone()
    }

    /// The init error the function reported, if any.
    pub fn init_error(&self) -> Option<Vec<u8>> {
        self.lock().init_error.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a handler panicked mid-update; the data is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The HTTP routes of the Runtime API.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(self.clone())
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    {
        let mut inner = api.lock();
        inner.first_next.get_or_insert_with(Instant::now);
    }
    api.changed.notify_waiters();
    loop {
        // Registered before the queue is looked at, so no push in between is missed.
        let waiting = api.changed.notified();
        tokio::pin!(waiting);
        waiting.as_mut().enable();
        if let Some((id, payload)) = api.lock().events.pop_front() {
            let deadline_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
                + 900_000;
            let mut headers = HeaderMap::new();
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:bench".to_string(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000".to_string(),
                ),
                ("content-type", "application/json".to_string()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            return (StatusCode::OK, headers, payload).into_response();
        }
        waiting.await;
    }
}

fn record(api: &RuntimeApi, id: String, answer: Answer) -> StatusCode {
    api.lock().answers.push((id, answer, Instant::now()));
    api.changed.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&api, id, Answer::Response(body.to_vec()))
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    record(&api, id, Answer::Error(body.to_vec()))
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    api.lock().init_error = Some(body.to_vec());
    api.changed.notify_waiters();
    StatusCode::ACCEPTED
}
