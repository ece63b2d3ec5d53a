//! Where the sync reads an account's followers: WeChat's `user/get` and `user/info/batchget`.

use livenotify::wechat::{FollowerPage, Lang, TokenAccount, TokenService, UserInfo, WechatError};
use std::future::Future;

/// An account's follower list as WeChat serves it.
pub trait FollowerDirectory: Sync {
    /// One `user/get` page after `next_openid` (first page: `None`).
    fn list(
        &self,
        next_openid: Option<&str>,
    ) -> impl Future<Output = Result<FollowerPage, WechatError>> + Send;

    /// Details of at most 100 openids (`user/info/batchget`).
    fn details(
        &self,
        openids: &[String],
    ) -> impl Future<Output = Result<Vec<UserInfo>, WechatError>> + Send;
}

/// WeChat through the shared token service: a rejected token is refreshed and the call
/// retried once (inside [`TokenService::call`]).
#[derive(Debug, Clone)]
pub struct WechatDirectory {
    tokens: TokenService,
    account: TokenAccount,
}

impl WechatDirectory {
    /// The followers of `account`.
    pub fn new(tokens: TokenService, account: TokenAccount) -> Self {
        Self { tokens, account }
    }
}

impl FollowerDirectory for WechatDirectory {
    async fn list(&self, next_openid: Option<&str>) -> Result<FollowerPage, WechatError> {
        let client = self.tokens.client().clone();
        let next = next_openid.map(str::to_owned);
        self.tokens
            .call(&self.account, |token| {
                let client = client.clone();
                let next = next.clone();
                async move { client.get_followers(&token, next.as_deref()).await }
            })
            .await
    }

    async fn details(&self, openids: &[String]) -> Result<Vec<UserInfo>, WechatError> {
        let client = self.tokens.client().clone();
        let openids = openids.to_vec();
        self.tokens
            .call(&self.account, |token| {
                let client = client.clone();
                let openids = openids.clone();
                async move {
                    client
                        .batch_get_user_info(&token, &openids, Lang::ZhCn)
                        .await
                }
            })
            .await
    }
}
