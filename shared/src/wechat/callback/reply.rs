//! Passive replies: the XML answer to a callback, shown to the user at once, and its AES
//! envelope for encrypted callbacks.

use crate::wechat::crypto::{self, MessageCrypto};

/// `<![CDATA[…]]>` that stays valid even if `text` contains `]]>`.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// A text reply from the account (`account_original_id`, the callback's `ToUserName`) to
/// `openid`.
pub fn text_reply(openid: &str, account_original_id: &str, content: &str, now: i64) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(openid),
        cdata(account_original_id),
        cdata(content)
    )
}

/// Wraps a reply for an encrypted callback: `Encrypt`, `MsgSignature`, `TimeStamp`, `Nonce`.
pub fn encrypt_reply(
    crypto: &MessageCrypto,
    token: &str,
    reply_xml: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    let encrypt = crypto.encrypt(reply_xml.as_bytes());
    let signature = crypto::msg_signature(token, timestamp, nonce, &encrypt);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::callback::{CallbackQuery, IncomingKind, open, parse};

    #[test]
    fn cdata_survives_its_terminator() {
        let xml = text_reply("o1", "gh_1", "a]]>b<c>", 5);
        let parsed = parse(&xml.replace(
            "<MsgType><![CDATA[text]]></MsgType>",
            "<MsgType><![CDATA[text]]></MsgType><MsgId>1</MsgId>",
        ))
        .unwrap();
        assert_eq!(
            parsed.kind,
            IncomingKind::Text {
                msgid: "1".into(),
                content: "a]]>b<c>".into()
            }
        );
    }

    #[test]
    fn encrypted_reply_opens_with_the_same_rules() {
        let crypto =
            MessageCrypto::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1").unwrap();
        let reply = text_reply("o1", "gh_1", "你好", 5);
        let wrapped = encrypt_reply(&crypto, "tok", &reply, "1700000000", "n");
        // A reply is signed like a callback: open it as one.
        let envelope: std::collections::HashMap<String, String> =
            quick_xml::de::from_str(&wrapped).unwrap();
        let query = CallbackQuery {
            signature: Some(crypto::signature("tok", "1700000000", "n")),
            timestamp: Some("1700000000".into()),
            nonce: Some("n".into()),
            encrypt_type: Some("aes".into()),
            msg_signature: Some(envelope["MsgSignature"].clone()),
            openid: None,
        };
        let opened = open(
            &query,
            wrapped.as_bytes(),
            "tok",
            Some(&crypto),
            crate::domain::CallbackMode::Safe,
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(opened.xml, reply);
    }
}
