//! Typed configuration from the environment. Each function declares what it needs; a missing
//! or malformed variable stops start-up with an error that names it.

use std::str::FromStr;

/// Why the configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("configuration: environment variable {name} is required ({purpose})")]
    Missing {
        /// Variable.
        name: &'static str,
        /// What it is for.
        purpose: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("configuration: environment variable {name} is invalid: {reason}")]
    Invalid {
        /// Variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// Looks a variable up by name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables from a source (the process environment, or a map in tests).
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl Default for Env<'_> {
    fn default() -> Self {
        Self::process()
    }
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// A fixed set of variables.
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            lookup: Box::new(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_string())
            }),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A required text variable.
    pub fn required(
        &self,
        name: &'static str,
        purpose: &'static str,
    ) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name, purpose })
    }

    /// An optional text variable with a default.
    pub fn or(&self, name: &'static str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_string())
    }

    /// An optional variable.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.get(name)
    }

    /// An optional variable by a borrowed name.
    pub fn optional_named(&self, name: &str) -> Option<String> {
        self.get(name)
    }

    /// An optional parsed variable with a default.
    pub fn parse_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        }
    }

    /// A required URL (http or https), returned without a trailing slash.
    pub fn url(&self, name: &'static str, purpose: &'static str) -> Result<String, ConfigError> {
        check_url(name, self.required(name, purpose)?)
    }

    /// An optional URL with a default, returned without a trailing slash.
    pub fn url_or(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        check_url(name, self.or(name, default))
    }
}

fn check_url(name: &'static str, value: String) -> Result<String, ConfigError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{value:?} is not an http(s) URL"),
        }),
    }
}

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// Key sealing account secrets (`SECRETS_KEY`, base64 of 32 bytes).
    pub secrets_key: String,
    /// WeChat API base (`WECHAT_API_BASE`).
    pub wechat_api_base: String,
    /// WeCom API base (`WECOM_API_BASE`).
    pub wecom_api_base: String,
    /// WeChat OAuth page base (`WECHAT_OPEN_BASE`).
    pub wechat_open_base: String,
    /// S3 bucket for QR images, exports and uploaded openid lists (`BUCKET_NAME`).
    pub bucket: String,
    /// The work queues.
    pub queues: QueueUrls,
    /// Public base URL of the HTTP API (`PUBLIC_BASE_URL`): landing pages, OAuth redirects
    /// and QR contents point here.
    pub public_base_url: String,
    /// Key signing admin tokens, OAuth state and session cookies (`SIGNING_KEY`, base64 of
    /// 32 bytes).
    pub signing_key: String,
    /// The work queues' dead-letter queues, for the admin API's DLQ view; `None` for
    /// functions that are not given them.
    pub dead_letters: Option<DeadLetterUrls>,
    /// How long one WeChat API call may take before it counts as failed and is retried
    /// (`WECHAT_TIMEOUT_MS`, default 10 s).
    pub wechat_timeout: std::time::Duration,
}

/// URLs of the dead-letter queues of the work queues (`PUSH_DLQ_URL`, `QR_DLQ_URL`,
/// `SYNC_DLQ_URL`: all three or none; `EXPORT_DLQ_URL` optional, like the export queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterUrls {
    /// Dead letters of the push queue.
    pub push: String,
    /// Dead letters of the QR queue.
    pub qr: String,
    /// Dead letters of the sync queue.
    pub sync: String,
    /// Dead letters of the export queue, where the deployment has one.
    pub export: Option<String>,
}

impl DeadLetterUrls {
    /// Reads the URLs; `None` when none of the three required ones is set, an error naming
    /// the first missing one when only some are.
    pub fn from_env(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        const VARS: [&str; 3] = ["PUSH_DLQ_URL", "QR_DLQ_URL", "SYNC_DLQ_URL"];
        if VARS.iter().all(|name| env.optional_named(name).is_none()) {
            return match env.optional_named("EXPORT_DLQ_URL") {
                None => Ok(None),
                Some(_) => Err(ConfigError::Missing {
                    name: "PUSH_DLQ_URL",
                    purpose: "dead-letter queue of the push queue (EXPORT_DLQ_URL is set)",
                }),
            };
        }
        Ok(Some(Self {
            push: env.url("PUSH_DLQ_URL", "dead-letter queue of the push queue")?,
            qr: env.url("QR_DLQ_URL", "dead-letter queue of the QR queue")?,
            sync: env.url("SYNC_DLQ_URL", "dead-letter queue of the sync queue")?,
            export: match env.optional_named("EXPORT_DLQ_URL") {
                Some(_) => {
                    Some(env.url("EXPORT_DLQ_URL", "dead-letter queue of the export queue")?)
                }
                None => None,
            },
        }))
    }
}

/// URLs of the SQS work queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// Push fan-out and batches (`PUSH_QUEUE_URL`).
    pub push: String,
    /// QR rendering (`QR_QUEUE_URL`).
    pub qr: String,
    /// Follower sync (`SYNC_QUEUE_URL`).
    pub sync: String,
    /// Export jobs (`EXPORT_QUEUE_URL`); only admin-api and its export worker are given it.
    pub export: Option<String>,
}

impl CoreConfig {
    /// Reads the shared settings.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let fetched = keys_from_secret(env)?;
        let secrets_key = match (env.optional("SECRETS_KEY"), &fetched) {
            (Some(key), _) => key,
            (None, Some(keys)) => keys.secrets_key.clone(),
            (None, None) => env.required("SECRETS_KEY", "base64 key that seals account secrets")?,
        };
        crate::secrets::SecretBox::from_base64(&secrets_key).map_err(|e| ConfigError::Invalid {
            name: "SECRETS_KEY",
            reason: e.to_string(),
        })?;
        Ok(Self {
            table_name: env.required("TABLE_NAME", "the DynamoDB table")?,
            secrets_key,
            wechat_api_base: env.url_or("WECHAT_API_BASE", "https://api.weixin.qq.com")?,
            wecom_api_base: env.url_or("WECOM_API_BASE", "https://qyapi.weixin.qq.com")?,
            wechat_open_base: env.url_or("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")?,
            bucket: env.required("BUCKET_NAME", "the S3 bucket for QR images and exports")?,
            queues: QueueUrls {
                push: env.url("PUSH_QUEUE_URL", "the push work queue")?,
                qr: env.url("QR_QUEUE_URL", "the QR work queue")?,
                sync: env.url("SYNC_QUEUE_URL", "the follower-sync work queue")?,
                export: match env.optional("EXPORT_QUEUE_URL") {
                    Some(_) => Some(env.url("EXPORT_QUEUE_URL", "the export job queue")?),
                    None => None,
                },
            },
            public_base_url: env.url(
                "PUBLIC_BASE_URL",
                "public base URL of the HTTP API (landing pages, OAuth redirects)",
            )?,
            signing_key: match (env.optional("SIGNING_KEY"), fetched) {
                (None, Some(keys)) => checked_signing_key(keys.signing_key)?,
                _ => signing_key(env)?,
            },
            dead_letters: DeadLetterUrls::from_env(env)?,
            wechat_timeout: std::time::Duration::from_millis(
                env.parse_or(
                    "WECHAT_TIMEOUT_MS",
                    crate::wechat::DEFAULT_TIMEOUT.as_millis() as u64,
                )?
                .max(1),
            ),
        })
    }
}

fn signing_key(env: &Env<'_>) -> Result<String, ConfigError> {
    let key = env.required(
        "SIGNING_KEY",
        "base64 key signing admin tokens, OAuth state and session cookies",
    )?;
    // Same shape as the sealing key: base64 of 32 random bytes.
    crate::secrets::SecretBox::from_base64(&key).map_err(|e| ConfigError::Invalid {
        name: "SIGNING_KEY",
        reason: e.to_string(),
    })?;
    Ok(key)
}

/// The keys from Secrets Manager when `KEYS_SECRET_ID` is set and the environment lacks one of
/// them (deployed functions); `None` when the environment has both (local stack, tests).
fn keys_from_secret(
    env: &Env<'_>,
) -> Result<Option<crate::key_secret::DeploymentKeys>, ConfigError> {
    let name = crate::key_secret::KEYS_SECRET_ID;
    let Some(secret_id) = env.optional(name) else {
        return Ok(None);
    };
    if env.optional("SECRETS_KEY").is_some() && env.optional("SIGNING_KEY").is_some() {
        return Ok(None);
    }
    crate::key_secret::fetch_blocking(&secret_id)
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        })
}

fn checked_signing_key(key: String) -> Result<String, ConfigError> {
    crate::secrets::SecretBox::from_base64(&key).map_err(|e| ConfigError::Invalid {
        name: "SIGNING_KEY",
        reason: e.to_string(),
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn missing_variable_is_named() {
        let env = Env::from_pairs(&[("SECRETS_KEY", KEY)]);
        let err = CoreConfig::from_env(&env).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "TABLE_NAME",
                purpose: "the DynamoDB table"
            }
        );
        assert!(err.to_string().contains("TABLE_NAME"));
    }

    #[test]
    fn malformed_variables_are_named() {
        let env = Env::from_pairs(&[
            ("SECRETS_KEY", KEY),
            ("TABLE_NAME", "t"),
            ("WECHAT_API_BASE", "ftp://x"),
        ]);
        let err = CoreConfig::from_env(&env).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WECHAT_API_BASE",
                ..
            }
        ));
        let env = Env::from_pairs(&[("SECRETS_KEY", "short"), ("TABLE_NAME", "t")]);
        assert!(matches!(
            CoreConfig::from_env(&env).unwrap_err(),
            ConfigError::Invalid {
                name: "SECRETS_KEY",
                ..
            }
        ));
        let env = Env::from_pairs(&[("N", "x")]);
        assert!(matches!(
            env.parse_or::<u32>("N", 1),
            Err(ConfigError::Invalid { name: "N", .. })
        ));
    }

    #[test]
    fn defaults_apply_and_trailing_slashes_go() {
        let env = Env::from_pairs(&[
            ("SECRETS_KEY", KEY),
            ("SIGNING_KEY", KEY),
            ("TABLE_NAME", "t"),
            ("BUCKET_NAME", "b"),
            ("PUSH_QUEUE_URL", "http://127.0.0.1:9/q/push"),
            ("QR_QUEUE_URL", "http://127.0.0.1:9/q/qr"),
            ("SYNC_QUEUE_URL", "http://127.0.0.1:9/q/sync"),
            ("PUBLIC_BASE_URL", "https://notify.example.com/"),
            ("WECOM_API_BASE", "http://127.0.0.1:9/"),
        ]);
        let config = CoreConfig::from_env(&env).unwrap();
        assert_eq!(config.wechat_api_base, "https://api.weixin.qq.com");
        assert_eq!(config.wecom_api_base, "http://127.0.0.1:9");
        assert_eq!(config.public_base_url, "https://notify.example.com");
        assert_eq!(config.queues.qr, "http://127.0.0.1:9/q/qr");
        assert_eq!(config.queues.export, None);
        assert_eq!(config.dead_letters, None);
    }

    #[test]
    fn dead_letter_urls_are_all_or_none() {
        let env = Env::from_pairs(&[("PUSH_DLQ_URL", "http://127.0.0.1:9/q/push-dlq")]);
        assert!(matches!(
            DeadLetterUrls::from_env(&env),
            Err(ConfigError::Missing {
                name: "QR_DLQ_URL",
                ..
            })
        ));
        let env = Env::from_pairs(&[
            ("PUSH_DLQ_URL", "http://127.0.0.1:9/q/push-dlq"),
            ("QR_DLQ_URL", "http://127.0.0.1:9/q/qr-dlq"),
            ("SYNC_DLQ_URL", "http://127.0.0.1:9/q/sync-dlq/"),
        ]);
        let urls = DeadLetterUrls::from_env(&env).unwrap().unwrap();
        assert_eq!(urls.sync, "http://127.0.0.1:9/q/sync-dlq");
        assert_eq!(urls.export, None, "the export DLQ is optional");
        assert_eq!(
            DeadLetterUrls::from_env(&Env::from_pairs(&[])).unwrap(),
            None
        );
    }

    #[test]
    fn export_dead_letters_come_with_the_other_three() {
        let all = Env::from_pairs(&[
            ("PUSH_DLQ_URL", "http://127.0.0.1:9/q/push-dlq"),
            ("QR_DLQ_URL", "http://127.0.0.1:9/q/qr-dlq"),
            ("SYNC_DLQ_URL", "http://127.0.0.1:9/q/sync-dlq"),
            ("EXPORT_DLQ_URL", "http://127.0.0.1:9/q/export-dlq"),
        ]);
        let urls = DeadLetterUrls::from_env(&all).unwrap().unwrap();
        assert_eq!(
            urls.export.as_deref(),
            Some("http://127.0.0.1:9/q/export-dlq")
        );
        let alone = Env::from_pairs(&[("EXPORT_DLQ_URL", "http://127.0.0.1:9/q/export-dlq")]);
        assert!(matches!(
            DeadLetterUrls::from_env(&alone),
            Err(ConfigError::Missing {
                name: "PUSH_DLQ_URL",
                ..
            })
        ));
        let bad = Env::from_pairs(&[
            ("PUSH_DLQ_URL", "http://127.0.0.1:9/q/push-dlq"),
            ("QR_DLQ_URL", "http://127.0.0.1:9/q/qr-dlq"),
            ("SYNC_DLQ_URL", "http://127.0.0.1:9/q/sync-dlq"),
            ("EXPORT_DLQ_URL", "not a url"),
        ]);
        assert!(matches!(
            DeadLetterUrls::from_env(&bad),
            Err(ConfigError::Invalid {
                name: "EXPORT_DLQ_URL",
                ..
            })
        ));
    }
}
