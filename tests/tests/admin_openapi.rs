//! The OpenAPI document matches the router: every documented operation answers (never
//! 404-no-route or 405), every operation is tagged, summarised and has its errors, every
//! `$ref` resolves, and every seed menu action is there.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{call, login_as};
use reqwest::Method;
use serde_json::{Value, json};

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap_or_default().to_string());
                }
                refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_documented_route_answers_and_the_document_is_complete() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let doc = call(&stack, Method::GET, "/api/openapi.json", None)
        .await
        .expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for r in &all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }

    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} untagged"
            );
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("422") && responses.contains_key("500"));
            let public =
                ["/api/health", "/api/openapi.json", "/api/auth/login"].contains(&path.as_str());
            if !public {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{method} {path}"
                );
                assert!(op["security"].is_array());
            }
            operations.push((method.to_uppercase(), path.clone()));
        }
    }

    // Every seed menu action (直播课程, 直播用户, 通知记录, 关注用户) is an operation.
    for (method, path) in [
        ("GET", "/api/courses"),
        ("POST", "/api/courses"),
        ("PUT", "/api/courses/{course_id}"),
        ("DELETE", "/api/courses/{course_id}"),
        ("GET", "/api/courses/{course_id}/qr"),
        ("POST", "/api/courses/{course_id}/qr"),
        ("POST", "/api/pushes"),
        ("GET", "/api/courses/{course_id}/deliveries"),
        ("POST", "/api/exports"),
        ("GET", "/api/accounts/{account_id}/followers"),
        ("GET", "/api/accounts/{account_id}/followers/{openid}"),
        ("POST", "/api/accounts/{account_id}/sync-runs"),
        ("GET", "/api/pushes/{push_id}/deliveries"),
        ("DELETE", "/api/deliveries/{push_id}/{openid}"),
        ("POST", "/api/deliveries/delete"),
        ("POST", "/api/pushes/{push_id}/cancel"),
        ("POST", "/api/auth/login"),
        ("GET", "/api/audit"),
        ("POST", "/api/pushes/preview"),
        ("POST", "/api/pushes/test-send"),
        ("GET", "/api/dead-letters"),
        ("POST", "/api/dead-letters/{queue}/redrive"),
        ("GET", "/api/exports"),
        ("GET", "/api/exports/{export_id}"),
    ] {
        assert!(
            operations.contains(&(method.to_string(), path.to_string())),
            "{method} {path} missing from the document"
        );
    }

    let ulid = "01J0000000000000000000000Z";
    for (method, path) in &operations {
        let concrete = path
            .replace("{course_id}", ulid)
            .replace("{push_id}", ulid)
            .replace("{run_id}", ulid)
            .replace("{account_id}", "wxnone")
            .replace("{openid}", "o1")
            .replace("{unionid}", "u1")
            .replace("{username}", "nobody")
            .replace("{export_id}", ulid)
            .replace("{queue}", "push");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let reply = root.call(method.clone(), &concrete, body).await;
        assert_ne!(reply.status, 405, "{method} {concrete}");
        assert_ne!(reply.code(), "no_route", "{method} {concrete}");
        assert!(
            reply.body.is_object() || reply.status == 204 || reply.status == 200,
            "{method} {concrete}: error without body"
        );
        if !reply.status.is_success() {
            assert!(
                reply.body["code"].is_string() && reply.body["message"].is_string(),
                "{method} {concrete}: {}",
                reply.body
            );
        }
    }

    // And the router serves nothing undocumented under /api: a few near-misses.
    for (method, path) in [
        (Method::GET, "/api/course"),
        (Method::GET, "/api/courses/x/y/z"),
        (Method::GET, "/api/nothing"),
    ] {
        let reply = root.call(method, path, None).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.code(), "no_route");
    }
    let wrong_method = root
        .call(Method::PATCH, "/api/courses", Some(json!({})))
        .await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    stack.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_with_the_error_body() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let reply = root.post("/api/courses", json!({ "title": huge })).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.code(), "payload_too_large");
    stack.shutdown().await;
}

/// The document validates against the OpenAPI 3.1 specification (openapi-spec-validator,
/// installed with moto[server] in the project venv).
#[tokio::test]
async fn the_document_validates_against_the_openapi_specification() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let python = std::env::var("LIVENOTIFY_PYTHON").unwrap_or_else(|_| {
        panic!(
            "LIVENOTIFY_PYTHON is not set: point it at the project venv's python \
             (LIVENOTIFY_PYTHON=$PWD/.venv/bin/python); the OpenAPI validation cannot be skipped"
        )
    });
    let doc = admin_api::openapi().to_json().expect("document serialises");
    let mut child = Command::new(&python)
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('valid')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run LIVENOTIFY_PYTHON={python}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.as_bytes())
        .expect("write document");
    let out = child.wait_with_output().expect("validator finished");
    assert!(
        out.status.success(),
        "OpenAPI document is invalid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
}
