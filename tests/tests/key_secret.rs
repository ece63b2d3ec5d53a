//! Deployed functions read their two keys from Secrets Manager (moto here), never from plain
//! environment variables: `KEYS_SECRET_ID` names the secret.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use livenotify::config::{ConfigError, CoreConfig, Env};
use livenotify::key_secret::{self, KeySecretError};
use livenotify::secrets::SecretBox;
use livenotify_tests::{AWS_ENDPOINT_VAR, unique};

async fn sdk() -> SdkConfig {
    let endpoint = std::env::var(AWS_ENDPOINT_VAR)
        .unwrap_or_else(|_| panic!("{AWS_ENDPOINT_VAR} is not set: run with `make test`"));
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

async fn create_secret(sdk: &SdkConfig, text: &str) -> String {
    let name = unique("livenotify-keys");
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&name)
        .secret_string(text)
        .send()
        .await
        .expect("create secret in moto");
    name
}

fn keys_json(secrets_key: &str, signing_key: &str) -> String {
    serde_json::json!({ "secrets_key": secrets_key, "signing_key": signing_key }).to_string()
}

#[tokio::test]
async fn keys_are_fetched_from_the_secret() {
    let sdk = sdk().await;
    let (sealing, signing) = (SecretBox::generate_key(), SecretBox::generate_key());
    let name = create_secret(&sdk, &keys_json(&sealing, &signing)).await;
    let keys = key_secret::fetch(&sdk, &name).await.unwrap();
    assert_eq!(keys.secrets_key, sealing);
    assert_eq!(keys.signing_key, signing);
}

#[tokio::test]
async fn missing_malformed_and_binary_secrets_are_typed_errors() {
    let sdk = sdk().await;
    let missing = unique("livenotify-absent");
    let err = key_secret::fetch(&sdk, &missing).await.unwrap_err();
    assert!(matches!(err, KeySecretError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains(&missing));

    let name = create_secret(&sdk, r#"{"secrets_key":"only-one-key-here"}"#).await;
    let err = key_secret::fetch(&sdk, &name).await.unwrap_err();
    assert!(matches!(err, KeySecretError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("signing_key"), "{err}");
    assert!(!err.to_string().contains("only-one-key-here"), "{err}");

    let name = unique("livenotify-binary");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&name)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(vec![1, 2, 3]))
        .send()
        .await
        .expect("create binary secret");
    let err = key_secret::fetch(&sdk, &name).await.unwrap_err();
    assert!(matches!(err, KeySecretError::NotText(_)), "{err}");
}

/// The start-up path: configuration without the keys in the environment reads them from
/// the secret through the standard AWS environment (`AWS_ENDPOINT_URL` points at moto).
#[tokio::test]
async fn configuration_reads_the_keys_from_the_secret_at_start_up() {
    let sdk = sdk().await;
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL must point at moto (make test sets it)"
    );
    let (sealing, signing) = (SecretBox::generate_key(), SecretBox::generate_key());
    let name = create_secret(&sdk, &keys_json(&sealing, &signing)).await;
    let base = [
        ("TABLE_NAME", "t"),
        ("BUCKET_NAME", "b"),
        ("PUSH_QUEUE_URL", "http://127.0.0.1:9/q/push"),
        ("QR_QUEUE_URL", "http://127.0.0.1:9/q/qr"),
        ("SYNC_QUEUE_URL", "http://127.0.0.1:9/q/sync"),
        ("PUBLIC_BASE_URL", "https://notify.example.com"),
    ];
    let mut pairs = base.to_vec();
    pairs.push(("KEYS_SECRET_ID", name.as_str()));
    let config = CoreConfig::from_env(&Env::from_pairs(&pairs)).unwrap();
    assert_eq!(config.secrets_key, sealing);
    assert_eq!(config.signing_key, signing);

    // Keys in the environment win (local stack): no request is needed.
    let local = SecretBox::generate_key();
    let mut pairs = base.to_vec();
    pairs.extend([
        ("KEYS_SECRET_ID", "livenotify-never-created"),
        ("SECRETS_KEY", local.as_str()),
        ("SIGNING_KEY", local.as_str()),
    ]);
    let config = CoreConfig::from_env(&Env::from_pairs(&pairs)).unwrap();
    assert_eq!(config.secrets_key, local);

    // A secret with a key that is not 32 bytes of base64 stops start-up, naming the key.
    let bad = create_secret(&sdk, &keys_json(&sealing, "dG9vIHNob3J0")).await;
    let mut pairs = base.to_vec();
    pairs.push(("KEYS_SECRET_ID", bad.as_str()));
    let err = CoreConfig::from_env(&Env::from_pairs(&pairs)).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                name: "SIGNING_KEY",
                ..
            }
        ),
        "{err}"
    );

    // An unknown secret stops start-up, naming the variable and the secret.
    let mut pairs = base.to_vec();
    pairs.push(("KEYS_SECRET_ID", "livenotify-never-created"));
    let err = CoreConfig::from_env(&Env::from_pairs(&pairs)).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                name: "KEYS_SECRET_ID",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("livenotify-never-created"));
}
