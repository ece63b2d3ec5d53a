//! The address a request came from, which login throttling counts by: API Gateway's
//! `sourceIp` in Lambda (the TCP peer there is API Gateway itself), the TCP peer on the
//! local gateway. Never a header the client writes (X-Forwarded-For is the client's word).

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use std::convert::Infallible;
use std::net::SocketAddr;

/// The caller's address as text, `unknown` when the runtime gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// Where a request came from, read from what the runtime put in its extensions.
pub fn client_address(parts: &Parts) -> ClientAddress {
    if let Some(context) = parts.extensions.get::<RequestContext>() {
        let source = match context {
            RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
            RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        if let Some(ip) = source.filter(|ip| !ip.is_empty()) {
            return ClientAddress(ip);
        }
    }
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        return ClientAddress(peer.ip().to_string());
    }
    ClientAddress("unknown".into())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(client_address(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    fn parts() -> Parts {
        axum::http::Request::builder()
            .uri("/api/auth/login")
            .header("x-forwarded-for", "203.0.113.9")
            .body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn api_gateways_source_ip_wins_and_headers_are_ignored() {
        let mut p = parts();
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some("198.51.100.7".into());
        p.extensions.insert(RequestContext::ApiGatewayV2(context));
        p.extensions
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 443))));
        assert_eq!(client_address(&p), ClientAddress("198.51.100.7".into()));
    }

    #[test]
    fn the_tcp_peer_is_used_on_the_local_gateway() {
        let mut p = parts();
        p.extensions
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 2], 5555))));
        assert_eq!(client_address(&p), ClientAddress("127.0.0.2".into()));
    }

    #[test]
    fn without_either_the_address_is_unknown_not_the_header() {
        assert_eq!(client_address(&parts()), ClientAddress("unknown".into()));
    }
}
