//! Followers: `user/get` (openid pages) and `user/info/batchget` (details, 100 a call).

use crate::wechat::client::{Host, WechatClient};
use crate::wechat::error::WechatError;
use serde::{Deserialize, Serialize};

/// Most openids `user/info/batchget` takes per call.
pub const BATCHGET_MAX: usize = 100;

/// Most openids one `user/get` page returns.
pub const FOLLOWER_PAGE_MAX: usize = 10_000;

/// One page of `user/get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerPage {
    /// Followers of the account in total.
    pub total: u64,
    /// Openids in this page.
    pub openids: Vec<String>,
    /// Cursor for the next page; `None` at the end.
    pub next_openid: Option<String>,
}

#[derive(Deserialize)]
struct RawFollowerPage {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    count: u64,
    #[serde(default)]
    data: Option<RawOpenids>,
    #[serde(default)]
    next_openid: Option<String>,
}

#[derive(Deserialize)]
struct RawOpenids {
    #[serde(default)]
    openid: Vec<String>,
}

impl From<RawFollowerPage> for FollowerPage {
    fn from(raw: RawFollowerPage) -> Self {
        let openids = raw.data.map(|d| d.openid).unwrap_or_default();
        // WeChat keeps returning the last openid as next_openid on the final page, with
        // count 0 on the call after it; an empty page (or empty cursor) ends the walk.
        let next_openid = raw
            .next_openid
            .filter(|n| !n.is_empty() && raw.count > 0 && !openids.is_empty());
        Self {
            total: raw.total,
            openids,
            next_openid,
        }
    }
}

/// Language of returned user info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Lang {
    /// Simplified Chinese.
    #[default]
    #[serde(rename = "zh_CN")]
    ZhCn,
    /// Traditional Chinese (Taiwan).
    #[serde(rename = "zh_TW")]
    ZhTw,
    /// English.
    #[serde(rename = "en")]
    En,
}

#[derive(Serialize)]
struct BatchGetItem<'a> {
    openid: &'a str,
    lang: Lang,
}

#[derive(Serialize)]
struct BatchGetRequest<'a> {
    user_list: Vec<BatchGetItem<'a>>,
}

/// One user of `user/info/batchget` (nickname and avatar are no longer returned by WeChat).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    /// 1 = follows, 0 = does not (then most fields are absent).
    pub subscribe: u8,
    /// The openid.
    pub openid: String,
    /// Language.
    #[serde(default)]
    pub language: Option<String>,
    /// Last follow time, epoch seconds.
    #[serde(default)]
    pub subscribe_time: Option<i64>,
    /// Cross-account id (only when bound to an open platform).
    #[serde(default)]
    pub unionid: Option<String>,
    /// Remark set by the account.
    #[serde(default)]
    pub remark: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tagid_list: Vec<i64>,
    /// How the user followed (ADD_SCENE_QR_CODE, ...).
    #[serde(default)]
    pub subscribe_scene: Option<String>,
    /// Integer scene of the QR code the user followed through (0 if none).
    #[serde(default)]
    pub qr_scene: Option<i64>,
    /// String scene of that QR code.
    #[serde(default)]
    pub qr_scene_str: Option<String>,
}

impl UserInfo {
    /// Whether the user currently follows the account.
    pub fn is_subscribed(&self) -> bool {
        self.subscribe == 1
    }
}

#[derive(Deserialize)]
struct BatchGetResponse {
    #[serde(default)]
    user_info_list: Vec<UserInfo>,
}

impl WechatClient {
    /// `GET cgi-bin/user/get`: the page of followers after `next_openid` (first page: `None`).
    pub async fn get_followers(
        &self,
        access_token: &str,
        next_openid: Option<&str>,
    ) -> Result<FollowerPage, WechatError> {
        let query = [("next_openid", next_openid.unwrap_or(""))];
        let raw: RawFollowerPage = self
            .get_json(Host::Api, "cgi-bin/user/get", Some(access_token), &query)
            .await?;
        Ok(raw.into())
    }

    /// `POST cgi-bin/user/info/batchget` for at most 100 openids (none: no call).
    pub async fn batch_get_user_info(
        &self,
        access_token: &str,
        openids: &[String],
        lang: Lang,
    ) -> Result<Vec<UserInfo>, WechatError> {
        if openids.len() > BATCHGET_MAX {
            return Err(WechatError::InvalidRequest(format!(
                "user/info/batchget takes at most {BATCHGET_MAX} openids, got {}",
                openids.len()
            )));
        }
        if openids.iter().any(|o| o.trim().is_empty()) {
            return Err(WechatError::InvalidRequest(
                "user/info/batchget: empty openid".into(),
            ));
        }
        if openids.is_empty() {
            return Ok(Vec::new());
        }
        let body = BatchGetRequest {
            user_list: openids
                .iter()
                .map(|openid| BatchGetItem { openid, lang })
                .collect(),
        };
        let response: BatchGetResponse = self
            .post_json(
                Host::Api,
                "cgi-bin/user/info/batchget",
                Some(access_token),
                &body,
            )
            .await?;
        Ok(response.user_info_list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_page_parsing() {
        let raw: RawFollowerPage = serde_json::from_str(
            r#"{"total":3,"count":2,"data":{"openid":["o1","o2"]},"next_openid":"o2"}"#,
        )
        .unwrap();
        let page = FollowerPage::from(raw);
        assert_eq!(
            page,
            FollowerPage {
                total: 3,
                openids: vec!["o1".into(), "o2".into()],
                next_openid: Some("o2".into())
            }
        );
        let end: RawFollowerPage =
            serde_json::from_str(r#"{"total":3,"count":0,"next_openid":""}"#).unwrap();
        let end = FollowerPage::from(end);
        assert!(end.openids.is_empty() && end.next_openid.is_none());
        let last: RawFollowerPage = serde_json::from_str(
            r#"{"total":1,"count":0,"data":{"openid":[]},"next_openid":"o9"}"#,
        )
        .unwrap();
        assert_eq!(FollowerPage::from(last).next_openid, None);
    }

    #[test]
    fn batchget_body_and_response() {
        let openids = ["o1".to_string()];
        let body = BatchGetRequest {
            user_list: openids
                .iter()
                .map(|openid| BatchGetItem {
                    openid,
                    lang: Lang::ZhCn,
                })
                .collect(),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"user_list": [{"openid": "o1", "lang": "zh_CN"}]})
        );
        let response: BatchGetResponse = serde_json::from_str(
            r#"{"user_info_list":[
                {"subscribe":1,"openid":"o1","language":"zh_CN","subscribe_time":1382694957,"unionid":"u1",
                 "remark":"","groupid":0,"tagid_list":[128,2],"subscribe_scene":"ADD_SCENE_QR_CODE","qr_scene":98765,"qr_scene_str":""},
                {"subscribe":0,"openid":"o2"}]}"#,
        )
        .unwrap();
        assert!(response.user_info_list[0].is_subscribed());
        assert_eq!(response.user_info_list[0].unionid.as_deref(), Some("u1"));
        assert_eq!(response.user_info_list[0].tagid_list, vec![128, 2]);
        assert!(!response.user_info_list[1].is_subscribed());
    }
}
