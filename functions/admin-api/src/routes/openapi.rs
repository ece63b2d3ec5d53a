//! `GET /api/openapi.json`, the bearer security scheme, and the error responses every
//! operation can give.

use crate::ErrorBody;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};

/// Adds the bearer scheme and the shared error responses.
pub struct Security;

/// Routes anyone may call.
const PUBLIC: [&str; 3] = ["/api/health", "/api/openapi.json", "/api/auth/login"];

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let error_schema = <ErrorBody as utoipa::PartialSchema>::schema();
        components
            .schemas
            .insert("ErrorBody".to_string(), error_schema);
        components.schemas.insert(
            "FieldError".to_string(),
            <crate::FieldError as utoipa::PartialSchema>::schema(),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ErrorBody",
                        ))))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            let slug: String = path
                .trim_start_matches("/api/")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            for (method, operation) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ]
            .into_iter()
            .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
            {
                // Handler names repeat across resources (`list`, `get`); ids must be unique.
                operation.operation_id = Some(format!("{method}_{}", slug.replace("__", "_")));
                let responses = &mut operation.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "bad_request：请求格式有误");
                add("413", "payload_too_large：请求内容过大");
                add(
                    "422",
                    "validation_failed：字段校验失败，details.fields 逐项说明",
                );
                add("500", "internal：服务器内部错误");
                if !public {
                    add("401", "unauthenticated：未登录或登录已过期");
                    add("403", "forbidden：角色或公众号范围不允许");
                    add("404", "not_found：记录不存在");
                    add("409", "conflict：已存在、已被修改或状态不允许");
                    operation.security =
                        Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                            "bearer",
                            Vec::<String>::new(),
                        )]);
                }
            }
        }
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| crate::openapi().to_pretty_json().unwrap_or_default())
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "系统", summary = "OpenAPI 3 接口文档",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
/// The OpenAPI document of this API.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document_json())
}
