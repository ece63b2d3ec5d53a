//! Interop of our callback crypto with wechatpy (the reference Python SDK): what wechatpy
//! encrypts and signs we verify and decrypt, and what we encrypt and sign wechatpy accepts.
//!
//! Needs `LIVENOTIFY_PYTHON` pointing at a Python with `infra/python/requirements.txt`
//! installed; without it the test fails (an interop proof must not pass by being skipped).

use livenotify::wechat::crypto::{self, CryptoError, MessageCrypto};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const TOKEN: &str = "livenotify_cb_token";

/// Runs every case through `infra/python/wechatpy_crypto.py` in one interpreter.
fn wechatpy(cases: &[Value]) -> Vec<Value> {
    let python = std::env::var("LIVENOTIFY_PYTHON").unwrap_or_else(|_| {
        panic!(
            "LIVENOTIFY_PYTHON is not set: point it at the project venv's python \
             (python3 -m venv .venv && .venv/bin/pip install -r infra/python/requirements.txt; \
             LIVENOTIFY_PYTHON=$PWD/.venv/bin/python). The wechatpy interop proof cannot be skipped."
        )
    });
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/python/wechatpy_crypto.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run LIVENOTIFY_PYTHON={python}: {e}"));
    let input = serde_json::to_vec(&json!({ "cases": cases })).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "wechatpy script failed (is wechatpy installed in {python}?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value =
        serde_json::from_slice(&output.stdout).expect("wechatpy script output is JSON");
    let results = parsed["results"].as_array().expect("results array").clone();
    assert_eq!(results.len(), cases.len());
    results
}

/// Keys as WeChat issues them (43 alphanumerics); most have non-canonical base64 tail bits.
fn keys() -> Vec<String> {
    let mut keys = vec![
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".to_string(),
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR".to_string(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".to_string(),
    ];
    for _ in 0..4 {
        // Two ULIDs give 52 random alphanumerics; mix case so every alphabet range is exercised.
        let raw = format!(
            "{}{}",
            ulid::Ulid::new(),
            ulid::Ulid::new().to_string().to_lowercase()
        );
        keys.push(raw.chars().take(43).collect());
    }
    keys
}

/// Messages around the 32-byte padding boundary, plus real callback bodies.
fn messages() -> Vec<String> {
    let event = "<xml><ToUserName><![CDATA[gh_8a1b2c3d4e5f]]></ToUserName>\
<FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName><CreateTime>1714000000</CreateTime>\
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>\
<EventKey><![CDATA[qrscene_course:01HX]]></EventKey></xml>";
    let mut messages = vec![
        event.to_string(),
        "<xml><Content><![CDATA[欢迎关注血液学直播 🎉]]></Content></xml>".to_string(),
        "x".to_string(),
        "success".to_string(),
    ];
    // Plaintext + 20-byte header + appid crosses every residue mod 32.
    for len in 1..=40 {
        messages.push("m".repeat(len));
    }
    messages.push("长".repeat(3000));
    messages
}

#[test]
fn wechatpy_and_livenotify_agree_both_ways() {
    let appid = "wx5823bf96d3bd56c7";
    let mut cases = Vec::new();
    // (key, message, ours) for every case, in order, to check the answers.
    let mut expected = Vec::new();
    for (k, key) in keys().iter().enumerate() {
        let ours = MessageCrypto::new(key, appid).expect("WeChat-style key loads");
        for (m, message) in messages().iter().enumerate() {
            let timestamp = format!("17140{k}{m:04}");
            let nonce = format!("n{k}x{m}");
            // wechatpy encrypts, we decrypt.
            cases.push(
                json!({"op": "encrypt_message", "token": TOKEN, "key": key, "appid": appid,
                              "message": message, "nonce": nonce, "timestamp": timestamp}),
            );
            // We encrypt, wechatpy decrypts.
            let encrypt = ours.encrypt(message.as_bytes());
            let msg_signature = crypto::msg_signature(TOKEN, &timestamp, &nonce, &encrypt);
            cases.push(
                json!({"op": "decrypt_message", "token": TOKEN, "key": key, "appid": appid,
                              "encrypt": encrypt, "msg_signature": msg_signature,
                              "timestamp": timestamp, "nonce": nonce}),
            );
            expected.push((key.clone(), message.clone()));
        }
    }
    let results = wechatpy(&cases);
    for (pair, (key, message)) in results.chunks(2).zip(&expected) {
        let (theirs, their_decrypt) = (&pair[0], &pair[1]);
        assert_eq!(theirs["ok"], true, "wechatpy encrypt failed: {theirs}");
        let encrypt = theirs["encrypt"].as_str().unwrap();
        let timestamp = theirs["timestamp"].as_str().unwrap();
        let nonce = theirs["nonce"].as_str().unwrap();
        let signature = theirs["msg_signature"].as_str().unwrap();
        assert_eq!(
            signature,
            crypto::msg_signature(TOKEN, timestamp, nonce, encrypt)
        );
        assert!(crypto::verify_msg_signature(
            signature, TOKEN, timestamp, nonce, encrypt
        ));
        let ours = MessageCrypto::new(key, appid).unwrap();
        assert_eq!(
            ours.decrypt(encrypt).unwrap(),
            message.as_bytes(),
            "key {key}"
        );
        assert_eq!(
            their_decrypt["ok"], true,
            "wechatpy refused our ciphertext: {their_decrypt}"
        );
        assert_eq!(
            their_decrypt["message"].as_str().unwrap(),
            message,
            "key {key}"
        );
    }
}

#[test]
fn signatures_match_wechatpy() {
    let plain = crypto::signature(TOKEN, "1714000000", "nonce123");
    let encrypt_parts = ["tok", "1714000000", "n", "ENCRYPTED+/=="];
    let cases = vec![
        json!({"op": "check_signature", "token": TOKEN, "signature": plain, "timestamp": "1714000000", "nonce": "nonce123"}),
        json!({"op": "check_signature", "token": TOKEN, "signature": plain, "timestamp": "1714000001", "nonce": "nonce123"}),
        json!({"op": "signature", "parts": [TOKEN, "1714000000", "nonce123"]}),
        json!({"op": "signature", "parts": encrypt_parts}),
        // Non-ASCII sorts by UTF-8 bytes on both sides.
        json!({"op": "signature", "parts": ["令牌", "Zeta", "alpha", "123"]}),
    ];
    let results = wechatpy(&cases);
    assert_eq!(results[0]["ok"], true, "{}", results[0]);
    assert_eq!(results[1]["error"], "InvalidSignatureException");
    assert_eq!(results[2]["signature"], plain);
    assert_eq!(
        results[3]["signature"],
        crypto::msg_signature("tok", "1714000000", "n", "ENCRYPTED+/==")
    );
    assert_eq!(
        results[4]["signature"],
        crypto::msg_signature("令牌", "Zeta", "alpha", "123")
    );
    assert!(crypto::verify_signature(
        results[2]["signature"].as_str().unwrap(),
        TOKEN,
        "1714000000",
        "nonce123"
    ));
}

#[test]
fn wecom_echo_and_messages_interop() {
    let corpid = "ww1436e0e65a779aee";
    let key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    let ours = MessageCrypto::new(key, corpid).unwrap();
    let echostr = ours.encrypt(b"1288432023552776189");
    let msg_signature = crypto::msg_signature(TOKEN, "1409659813", "1372623149", &echostr);
    let cases = vec![
        json!({"op": "wecom_check_echo", "token": TOKEN, "key": key, "corpid": corpid,
               "msg_signature": msg_signature, "timestamp": "1409659813", "nonce": "1372623149", "echostr": echostr}),
        json!({"op": "wecom_encrypt", "token": TOKEN, "key": key, "corpid": corpid,
               "message": "<xml><Content>企业微信</Content></xml>", "nonce": "abc", "timestamp": "1409659813"}),
    ];
    let results = wechatpy(&cases);
    assert_eq!(results[0]["ok"], true, "{}", results[0]);
    assert_eq!(results[0]["message"], "1288432023552776189");
    let encrypt = results[1]["encrypt"].as_str().unwrap();
    assert!(crypto::verify_msg_signature(
        results[1]["msg_signature"].as_str().unwrap(),
        TOKEN,
        "1409659813",
        "abc",
        encrypt
    ));
    assert_eq!(
        ours.decrypt(encrypt).unwrap(),
        "<xml><Content>企业微信</Content></xml>".as_bytes()
    );
}

#[test]
fn mismatches_are_refused_on_both_sides() {
    let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let ours = MessageCrypto::new(key, "wxours").unwrap();
    let encrypt = ours.encrypt(b"<xml/>");
    let good_sig = crypto::msg_signature(TOKEN, "1", "2", &encrypt);
    let cases = vec![
        // wechatpy, configured for another app, must refuse our message.
        json!({"op": "decrypt_message", "token": TOKEN, "key": key, "appid": "wxother",
               "encrypt": encrypt, "msg_signature": good_sig, "timestamp": "1", "nonce": "2"}),
        // A signature over other parameters must be refused.
        json!({"op": "decrypt_message", "token": TOKEN, "key": key, "appid": "wxours",
               "encrypt": encrypt, "msg_signature": good_sig, "timestamp": "1", "nonce": "3"}),
        json!({"op": "encrypt_message", "token": TOKEN, "key": key, "appid": "wxtheirs",
               "message": "<xml/>", "nonce": "2", "timestamp": "1"}),
    ];
    let results = wechatpy(&cases);
    assert_eq!(
        results[0]["error"], "InvalidAppIdException",
        "{}",
        results[0]
    );
    assert_eq!(
        results[1]["error"], "InvalidSignatureException",
        "{}",
        results[1]
    );
    let theirs = results[2]["encrypt"].as_str().unwrap();
    assert!(!crypto::verify_msg_signature(
        results[2]["msg_signature"].as_str().unwrap(),
        TOKEN,
        "1",
        "3",
        theirs
    ));
    assert_eq!(
        ours.decrypt(theirs).unwrap_err(),
        CryptoError::AppIdMismatch {
            expected: "wxours".into(),
            found: "wxtheirs".into()
        }
    );
}
