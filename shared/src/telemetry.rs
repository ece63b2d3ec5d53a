//! Structured JSON logs (CloudWatch parses them; locally they stay greppable).

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. Level from `RUST_LOG` (default `info`). Safe to call
/// more than once (later calls do nothing), so tests and the local gateway may call it too.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .try_init();
}

/// Shortens a token or secret for logs: its first 6 characters, never the whole.
pub fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(6).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_shows_only_a_prefix() {
        assert_eq!(super::redact("ACCESS_TOKEN_VALUE"), "ACCESS…");
        assert_eq!(super::redact("ab"), "ab…");
    }
}
