#!/usr/bin/env python3
"""wechatpy's view of WeChat callback crypto, for livenotify's interop test.

Reads one JSON document from stdin: {"cases": [{"op": ..., ...}, ...]} and writes
{"results": [...]} to stdout, one result per case in order. Every result has "ok"; failures
carry "error" (the wechatpy exception name) instead of raising, so the Rust side can assert
that wechatpy *rejects* what it should.

Ops:
  encrypt_message  token, key, appid, message, nonce, timestamp
                   -> encrypt, msg_signature, timestamp, nonce (parsed from wechatpy's reply XML)
  decrypt_message  token, key, appid, encrypt, msg_signature, timestamp, nonce -> message
  check_signature  token, signature, timestamp, nonce
  signature        parts (list of strings) -> signature (wechatpy's WeChatSigner)
  wecom_check_echo token, key, corpid, msg_signature, timestamp, nonce, echostr -> message
  wecom_encrypt    token, key, corpid, message, nonce, timestamp -> as encrypt_message
"""

import json
import sys

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner, check_signature


def _envelope(xml):
    """The fields of wechatpy's encrypted reply XML."""
    doc = xmltodict.parse(xml)["xml"]
    return {
        "encrypt": doc["Encrypt"],
        "msg_signature": doc["MsgSignature"],
        "timestamp": doc["TimeStamp"],
        "nonce": doc["Nonce"],
    }


def encrypt_message(case):
    crypto = WeChatCrypto(case["token"], case["key"], case["appid"])
    return _envelope(crypto.encrypt_message(case["message"], case["nonce"], case["timestamp"]))


def decrypt_message(case):
    crypto = WeChatCrypto(case["token"], case["key"], case["appid"])
    # wechatpy takes the parsed callback body; only Encrypt is read from it.
    body = {"Encrypt": case["encrypt"]}
    message = crypto.decrypt_message(body, case["msg_signature"], case["timestamp"], case["nonce"])
    return {"message": message}


def check_plain_signature(case):
    check_signature(case["token"], case["signature"], case["timestamp"], case["nonce"])
    return {}


def signature(case):
    signer = WeChatSigner()
    signer.add_data(*case["parts"])
    return {"signature": signer.signature}


def wecom_check_echo(case):
    crypto = WeComCrypto(case["token"], case["key"], case["corpid"])
    message = crypto.check_signature(case["msg_signature"], case["timestamp"], case["nonce"], case["echostr"])
    return {"message": message}


def wecom_encrypt(case):
    crypto = WeComCrypto(case["token"], case["key"], case["corpid"])
    return _envelope(crypto.encrypt_message(case["message"], case["nonce"], case["timestamp"]))


OPS = {
    "encrypt_message": encrypt_message,
    "decrypt_message": decrypt_message,
    "check_signature": check_plain_signature,
    "signature": signature,
    "wecom_check_echo": wecom_check_echo,
    "wecom_encrypt": wecom_encrypt,
}


def run(case):
    op = OPS.get(case.get("op"))
    if op is None:
        return {"ok": False, "error": "UnknownOp"}
    try:
        result = op(case)
    except Exception as exc:  # noqa: BLE001 - the test asserts on the exception name
        return {"ok": False, "error": type(exc).__name__}
    result["ok"] = True
    return result


def main():
    request = json.load(sys.stdin)
    results = [run(case) for case in request["cases"]]
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
