//! The WeChat / WeCom call that sends one addressed message on its channel: used by the push
//! worker for every recipient and by the admin API's test send.

use super::AddressedMessage;
use crate::wechat::{WechatClient, WechatError};

/// WeCom: "user & party & tag all invalid" (the one recipient is unknown to the app).
pub const WECOM_ALL_RECIPIENTS_INVALID: i64 = 81013;

/// What WeChat answered to an accepted send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// WeChat's msgid, when the API returns one (bizsend and custom do not).
    pub msgid: Option<String>,
    /// WeCom took the call but could not reach the recipient (unknown member, party, tag).
    pub unreached: bool,
}

/// Sends `message` with `token`.
pub async fn send(
    client: &WechatClient,
    token: &str,
    message: &AddressedMessage,
) -> Result<Accepted, WechatError> {
    match message {
        AddressedMessage::Template(m) => client.send_template(token, m).await.map(|id| Accepted {
            msgid: Some(id.to_string()),
            unreached: false,
        }),
        AddressedMessage::Subscribe(m) => client
            .send_biz_subscribe(token, m)
            .await
            .map(|()| Accepted::default()),
        AddressedMessage::MiniProgramSubscribe(m) => client
            .send_miniprogram_subscribe(token, m)
            .await
            .map(|receipt| Accepted {
                msgid: receipt.msgid.map(|id| id.to_string()),
                unreached: false,
            }),
        AddressedMessage::CustomerService(m) => client
            .send_custom(token, m)
            .await
            .map(|()| Accepted::default()),
        AddressedMessage::Wecom(m) => match client.send_wecom_message(token, m).await {
            Ok(result) => Ok(Accepted {
                unreached: !(result.invalid_users.is_empty()
                    && result.invalid_parties.is_empty()
                    && result.invalid_tags.is_empty()
                    && result.unlicensed_users.is_empty()),
                msgid: (!result.msgid.is_empty()).then_some(result.msgid),
            }),
            Err(e) if e.errcode() == Some(WECOM_ALL_RECIPIENTS_INVALID) => Ok(Accepted {
                msgid: None,
                unreached: true,
            }),
            Err(e) => Err(e),
        },
    }
}
