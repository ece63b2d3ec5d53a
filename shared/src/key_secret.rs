//! The deployment's two keys (`secrets_key`, `signing_key`) read from AWS Secrets Manager at
//! cold start, so a deployed function never carries them in its environment.
//!
//! The template sets `KEYS_SECRET_ID` (name or ARN of a secret holding
//! `{"secrets_key": "<base64 32 bytes>", "signing_key": "<base64 32 bytes>"}`);
//! [`crate::config::CoreConfig::from_env`] reads it when `SECRETS_KEY`/`SIGNING_KEY` are not
//! set (the local stack and the tests set them directly).

use aws_config::{BehaviorVersion, SdkConfig};
use serde::Deserialize;
use std::fmt;

/// Environment variable naming the secret (name or ARN).
pub const KEYS_SECRET_ID: &str = "KEYS_SECRET_ID";

/// Why the keys could not be read from Secrets Manager. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum KeySecretError {
    /// Secrets Manager refused or could not be reached.
    #[error("secret {secret_id}: GetSecretValue failed: {reason}")]
    Fetch {
        /// Secret name or ARN.
        secret_id: String,
        /// The service's error (no secret material).
        reason: String,
    },
    /// The secret is binary or empty.
    #[error("secret {0}: has no SecretString")]
    NotText(String),
    /// The secret is not the expected JSON object.
    #[error(
        "secret {secret_id}: expected JSON {{\"secrets_key\": …, \"signing_key\": …}}: {reason}"
    )]
    Malformed {
        /// Secret name or ARN.
        secret_id: String,
        /// What is wrong (serde's message names the field, not its value).
        reason: String,
    },
    /// The helper thread could not run the request.
    #[error("secret {secret_id}: {reason}")]
    Runtime {
        /// Secret name or ARN.
        secret_id: String,
        /// Why.
        reason: String,
    },
}

/// The keys as stored in the secret. `Debug` shows nothing.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentKeys {
    /// Base64 of 32 bytes; seals account credentials (`SECRETS_KEY`).
    pub secrets_key: String,
    /// Base64 of 32 bytes; signs tokens, OAuth state and cookies (`SIGNING_KEY`).
    pub signing_key: String,
}

impl fmt::Debug for DeploymentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeploymentKeys { .. }")
    }
}

impl DeploymentKeys {
    /// Parses the secret's JSON text.
    pub fn parse(secret_id: &str, text: &str) -> Result<Self, KeySecretError> {
        serde_json::from_str(text).map_err(|e| KeySecretError::Malformed {
            secret_id: secret_id.to_string(),
            // serde_json's messages quote field names and positions, never string values.
            reason: e.to_string(),
        })
    }
}

/// Reads the keys from Secrets Manager with the given SDK configuration.
pub async fn fetch(sdk: &SdkConfig, secret_id: &str) -> Result<DeploymentKeys, KeySecretError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| KeySecretError::Fetch {
            secret_id: secret_id.to_string(),
            reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        })?;
    let text = out
        .secret_string()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| KeySecretError::NotText(secret_id.to_string()))?;
    DeploymentKeys::parse(secret_id, text)
}

/// Reads the keys from Secrets Manager with the standard AWS environment, blocking the
/// caller. Configuration is read synchronously at start-up, inside or outside a Tokio
/// runtime, so the request runs on a thread of its own with its own small runtime.
pub fn fetch_blocking(secret_id: &str) -> Result<DeploymentKeys, KeySecretError> {
    let runtime_error = |reason: String| KeySecretError::Runtime {
        secret_id: secret_id.to_string(),
        reason,
    };
    let id = secret_id.to_string();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| runtime_error(format!("cannot start a runtime: {e}")))?;
                runtime.block_on(async {
                    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
                    fetch(&sdk, &id).await
                })
            })
            .join()
            .map_err(|_| runtime_error("the request thread panicked".to_string()))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape_and_names_what_is_wrong() {
        let keys = DeploymentKeys::parse("s", r#"{"secrets_key":"a","signing_key":"b"}"#).unwrap();
        assert_eq!(
            (keys.secrets_key.as_str(), keys.signing_key.as_str()),
            ("a", "b")
        );
        assert_eq!(format!("{keys:?}"), "DeploymentKeys { .. }");

        let err = DeploymentKeys::parse("s", r#"{"secrets_key":"topsecret"}"#).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("signing_key"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");

        let err = DeploymentKeys::parse("s", "not json").unwrap_err();
        assert!(matches!(err, KeySecretError::Malformed { .. }));
    }
}
