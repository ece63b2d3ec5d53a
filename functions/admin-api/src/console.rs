//! The admin console (管理后台, a Vue single-page app) served under `/admin`.
//!
//! The built `console/dist` is embedded in the binary at release build time, so a deployment
//! stays one function. Debug builds read the folder at run time (a rebuilt console shows up
//! without recompiling). When the folder is missing the console answers a clear 503 page.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::borrow::Cow;

/// URL prefix of the console.
pub const PREFIX: &str = "/admin";

/// Cache policy of content-hashed assets (a new build gets new names).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else: revalidate, so a deployment shows up at once.
const REVALIDATE: &str = "no-cache";

#[derive(rust_embed::Embed)]
#[folder = "console/dist/"]
#[allow_missing = true]
struct ConsoleAssets;

/// One file of the built console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// File content.
    pub bytes: Cow<'static, [u8]>,
    /// `Content-Type`.
    pub mime: String,
    /// Content hash, used as the `ETag`.
    pub etag: String,
}

fn embedded(path: &str) -> Option<Asset> {
    ConsoleAssets::get(path).map(|file| Asset {
        mime: file.metadata.mimetype().to_string(),
        etag: format!(
            "\"{}\"",
            file.metadata
                .sha256_hash()
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        bytes: file.data,
    })
}

/// What a console URL resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A file, with its cache policy.
    File {
        /// The file.
        asset: Asset,
        /// `Cache-Control`.
        cache: &'static str,
        /// Name of the file's gzip copy, if the build may have made one.
        gzip: String,
    },
    /// A missing asset (a file name, not a page of the app).
    NotFound,
    /// The console was not built into this binary.
    NotBuilt,
}

/// Resolves `path` (relative to `/admin/`) with `lookup` over the built files: existing files
/// as they are, hashed assets cached for a year, and every other app route answered by
/// `index.html` (the SPA's history fallback).
pub fn resolve(path: &str, lookup: impl Fn(&str) -> Option<Asset>) -> Resolved {
    let path = path.trim_start_matches('/');
    // The build's gzip copies are served through `Accept-Encoding`, never by their own name.
    if path.ends_with(".gz") {
        return if lookup("index.html").is_some() {
            Resolved::NotFound
        } else {
            Resolved::NotBuilt
        };
    }
    if !path.is_empty() && path != "index.html" {
        if let Some(asset) = lookup(path) {
            let cache = if path.starts_with("assets/") {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            return Resolved::File {
                asset,
                cache,
                gzip: gzip_name(path),
            };
        }
        // A file name (or anything under assets/) that is missing is a 404, not the app:
        // answering index.html would hand the browser HTML for a script.
        let last = path.rsplit('/').next().unwrap_or_default();
        if path.starts_with("assets/") || last.contains('.') {
            return if lookup("index.html").is_some() {
                Resolved::NotFound
            } else {
                Resolved::NotBuilt
            };
        }
    }
    match lookup("index.html") {
        Some(asset) => Resolved::File {
            asset,
            cache: REVALIDATE,
            gzip: gzip_name("index.html"),
        },
        None => Resolved::NotBuilt,
    }
}

fn gzip_name(path: &str) -> String {
    format!("{path}.gz")
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>管理后台尚未构建</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.6">
<h1>管理后台尚未构建（console not built）</h1>
<p>此版本的 admin-api 不包含管理后台页面。请在
<code>functions/admin-api/console</code> 中运行 <code>npm ci &amp;&amp; npm run build</code>
（<code>make dev</code> 与 <code>make test</code> 会自动执行），然后重新构建 admin-api。</p>
<p>This admin-api build does not contain the console. Run <code>npm ci &amp;&amp; npm run build</code>
in <code>functions/admin-api/console</code> (<code>make dev</code> and <code>make test</code> do it),
then rebuild admin-api. The API itself works: <a href="/api/health">/api/health</a>.</p>
</body></html>"#;

fn respond(
    resolved: Resolved,
    request: &HeaderMap,
    lookup: impl Fn(&str) -> Option<Asset>,
) -> Response {
    match resolved {
        Resolved::File { asset, cache, gzip } => {
            let compressed = if accepts_gzip(request) {
                lookup(&gzip)
            } else {
                None
            };
            let encoded = compressed.is_some();
            let etag = HeaderValue::from_str(&if encoded {
                format!("{}-gz\"", asset.etag.trim_end_matches('"'))
            } else {
                asset.etag.clone()
            })
            .ok();
            let fresh = match (&etag, request.get(header::IF_NONE_MATCH)) {
                (Some(etag), Some(seen)) => seen
                    .to_str()
                    .map(|seen| seen.split(',').any(|tag| tag.trim() == etag))
                    .unwrap_or(false),
                _ => false,
            };
            let mut response = if fresh {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                let bytes = match compressed {
                    Some(gz) => gz.bytes,
                    None => asset.bytes,
                };
                Response::new(Body::from(bytes))
            };
            let headers = response.headers_mut();
            if encoded && !fresh {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if !fresh && let Ok(mime) = HeaderValue::from_str(&asset.mime) {
                headers.insert(header::CONTENT_TYPE, mime);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if let Some(etag) = etag {
                headers.insert(header::ETAG, etag);
            }
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Resolved::NotFound => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, REVALIDATE)],
            "文件不存在 (not found)",
        )
            .into_response(),
        Resolved::NotBuilt => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, REVALIDATE),
            ],
            NOT_BUILT_PAGE,
        )
            .into_response(),
    }
}

async fn index(request: HeaderMap) -> Response {
    respond(resolve("", embedded), &request, embedded)
}

async fn file(Path(path): Path<String>, request: HeaderMap) -> Response {
    respond(resolve(&path, embedded), &request, embedded)
}

/// The console's routes (GET and HEAD under `/admin`), to merge into the API router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        // One canonical address, so relative links and the router's base always agree.
        .route(PREFIX, get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(index))
        .route("/admin/{*path}", get(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(body: &str) -> Asset {
        Asset {
            bytes: Cow::Owned(body.as_bytes().to_vec()),
            mime: "text/plain".into(),
            etag: format!("\"{}\"", body.len()),
        }
    }

    fn built(path: &str) -> Option<Asset> {
        match path {
            "index.html" => Some(asset("<html>")),
            "assets/index-abc123.js" => Some(asset("js")),
            "assets/index-abc123.js.gz" => Some(asset("gzipped js")),
            "favicon.svg" => Some(asset("svg")),
            _ => None,
        }
    }

    fn file(body: &str, cache: &'static str, gzip: &str) -> Resolved {
        Resolved::File {
            asset: asset(body),
            cache,
            gzip: gzip.into(),
        }
    }

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn hashed_assets_are_cached_for_a_year() {
        assert_eq!(
            resolve("assets/index-abc123.js", built),
            file("js", IMMUTABLE, "assets/index-abc123.js.gz")
        );
    }

    #[test]
    fn other_files_and_the_index_revalidate() {
        assert_eq!(
            resolve("favicon.svg", built),
            file("svg", REVALIDATE, "favicon.svg.gz")
        );
        for path in ["", "/", "index.html"] {
            assert_eq!(
                resolve(path, built),
                file("<html>", REVALIDATE, "index.html.gz"),
                "{path}"
            );
        }
    }

    #[test]
    fn app_routes_fall_back_to_the_index() {
        for path in ["courses", "pushes/01JABC", "followers/wxa", "login"] {
            assert_eq!(
                resolve(path, built),
                file("<html>", REVALIDATE, "index.html.gz"),
                "{path}"
            );
        }
    }

    #[test]
    fn missing_files_are_404_not_the_index() {
        for path in [
            "assets/gone-1.js",
            "assets/nested",
            "robots.txt",
            "assets/index-abc123.js.gz",
        ] {
            assert_eq!(resolve(path, built), Resolved::NotFound, "{path}");
        }
    }

    #[test]
    fn an_unbuilt_console_says_so() {
        let none = |_: &str| None;
        for path in ["", "courses", "assets/x.js", "x.js.gz"] {
            assert_eq!(resolve(path, none), Resolved::NotBuilt, "{path}");
        }
    }

    #[tokio::test]
    async fn unbuilt_page_is_a_503_in_chinese_and_english() {
        let response = respond(Resolved::NotBuilt, &HeaderMap::new(), built);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        let page = body(response).await;
        assert!(page.contains("管理后台尚未构建"));
        assert!(page.contains("console not built"));
    }

    #[tokio::test]
    async fn gzip_copies_go_to_browsers_that_accept_them() {
        let resolved = resolve("assets/index-abc123.js", built);
        let gzip = headers(&[(header::ACCEPT_ENCODING, "br, gzip;q=0.8")]);
        let response = respond(resolved.clone(), &gzip, built);
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[header::VARY], "accept-encoding");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain");
        assert_eq!(response.headers()[header::ETAG], "\"2-gz\"");
        assert_eq!(body(response).await, "gzipped js");

        for refusing in [
            headers(&[]),
            headers(&[(header::ACCEPT_ENCODING, "gzip;q=0, br")]),
        ] {
            let response = respond(resolved.clone(), &refusing, built);
            assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
            assert_eq!(body(response).await, "js");
        }
        // No copy of this file: the plain one, whatever the browser accepts.
        let response = respond(resolve("favicon.svg", built), &gzip, built);
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(response).await, "svg");
    }

    #[tokio::test]
    async fn a_matching_etag_gets_304() {
        let resolved = resolve("assets/index-abc123.js", built);
        let seen = headers(&[(header::IF_NONE_MATCH, "\"other\", \"2\"")]);
        let response = respond(resolved.clone(), &seen, built);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(body(response).await, "");
        let response = respond(resolved, &HeaderMap::new(), built);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::ETAG], "\"2\"");
        assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
    }

    #[tokio::test]
    async fn the_router_serves_the_history_fallback_and_404s() {
        use tower::ServiceExt;
        // Whatever this build embeds: a built console answers 200 with HTML, an unbuilt one 503.
        let app: Router = router();
        let index = app
            .clone()
            .oneshot(
                axum::http::Request::get("/admin/courses/new")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let built = ConsoleAssets::get("index.html").is_some();
        let expected = if built {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_eq!(index.status(), expected);
        assert!(
            index.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        let root = app
            .clone()
            .oneshot(
                axum::http::Request::get("/admin/")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(root.status(), expected);
        let bare = app
            .clone()
            .oneshot(
                axum::http::Request::get("/admin")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(bare.headers()[header::LOCATION], "/admin/");
        if built {
            let missing = app
                .oneshot(
                    axum::http::Request::get("/admin/assets/missing-0000.js")
                        .body(Body::empty())
                        .expect("request"),
                )
                .await
                .expect("response");
            assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        }
    }
}
