//! Everything a function talks to, built once per cold start and shared by every invocation:
//! the table, the queues, the bucket and WeChat (with the shared access-token service).

use crate::aws::AwsClients;
use crate::config::CoreConfig;
use crate::domain::{AccountId, AccountKind};
use crate::enqueue::Queues;
use crate::secrets::SecretsError;
use crate::signed::Signer;
use crate::store::{Store, StoreError};
use crate::wechat::{
    AppCredentials, TokenAccount, TokenService, WechatClient, WechatEndpoints, WechatError,
    WecomCredentials,
};
use std::sync::Arc;

/// Why the platform could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// An unusable key.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The HTTP client for WeChat could not be built.
    #[error(transparent)]
    Wechat(#[from] WechatError),
}

/// Why an account's token credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Table trouble, or no such account.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A WeCom account without an agent id cannot get a token.
    #[error("account {0} is a WeCom app without an agent id")]
    MissingAgentId(AccountId),
}

/// The platform's clients and settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Platform {
    /// Settings.
    pub config: Arc<CoreConfig>,
    /// The table.
    pub store: Store,
    /// The work queues.
    pub queues: Queues,
    /// S3 (the bucket is `config.bucket`).
    pub s3: aws_sdk_s3::Client,
    /// WeChat calls with cached, shared access tokens.
    pub tokens: TokenService,
    /// Signs admin tokens, OAuth state and session cookies (`SIGNING_KEY`).
    pub signer: Signer,
}

impl Platform {
    /// Assembles the platform from AWS clients and configuration.
    pub fn new(clients: &AwsClients, config: CoreConfig) -> Result<Self, PlatformError> {
        let store = Store::from_config(clients, &config)?;
        let endpoints = WechatEndpoints::new(
            &config.wechat_api_base,
            &config.wecom_api_base,
            &config.wechat_open_base,
        );
        let wechat = WechatClient::with_timeout(endpoints, config.wechat_timeout)?;
        let tokens = TokenService::new(clients.dynamodb.clone(), config.table_name.clone(), wechat);
        Ok(Self {
            signer: Signer::from_base64(&config.signing_key)?,
            queues: Queues::new(clients.sqs.clone(), config.queues.clone()),
            s3: clients.s3.clone(),
            store,
            tokens,
            config: Arc::new(config),
        })
    }

    /// The WeChat client (for calls that need no access token, such as OAuth).
    pub fn wechat(&self) -> &WechatClient {
        self.tokens.client()
    }

    /// The credentials [`TokenService`] needs for `account`, read from the sealed secrets.
    pub async fn token_account(
        &self,
        account: &AccountId,
    ) -> Result<TokenAccount, CredentialsError> {
        let info = self.store.get_account(account).await?;
        let secrets = self.store.get_account_secrets(account).await?;
        Ok(match info.kind {
            AccountKind::Wecom => {
                let agentid = info
                    .wecom_agent_id
                    .ok_or_else(|| CredentialsError::MissingAgentId(account.clone()))?;
                WecomCredentials::new(info.appid, secrets.app_secret, agentid).into()
            }
            _ => AppCredentials::new(info.appid, secrets.app_secret).into(),
        })
    }
}
