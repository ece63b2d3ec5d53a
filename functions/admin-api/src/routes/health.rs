//! `GET /api/health`: is the API up, can it reach its table, which functions run.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use livenotify::function::FunctionInfo;
use serde::Serialize;
use utoipa::ToSchema;

/// Health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    status: &'static str,
    /// Each dependency and whether it answered.
    checks: Checks,
    /// Functions of this deployment with their versions.
    #[schema(value_type = Vec<Object>)]
    functions: Vec<FunctionInfo>,
}

/// Dependency checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    /// The DynamoDB table answered DescribeTable.
    dynamodb: &'static str,
}

#[utoipa::path(get, path = "/api/health", tag = "系统", summary = "健康检查",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
/// 200 when every dependency answers, 503 otherwise (load balancers and the local stack's
/// start-up wait read the status code).
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let dynamodb = match state.platform.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "health: table unreachable");
            "unreachable"
        }
    };
    let ok = dynamodb == "ok";
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        checks: Checks { dynamodb },
        functions: state.functions.clone(),
    };
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}
