"""wechatpy peer of the callback CPU benchmark (same workload as the Rust and Node runs):
verify signature and msg_signature, decrypt, parse, decide, build the text reply and encrypt
it, all with wechatpy. Prints one JSON line.

Usage: python callback_bench.py WORKLOAD.json ITERATIONS
"""

import json
import sys
import time

import wechatpy
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def main():
    workload = json.load(open(sys.argv[1], encoding="utf-8"))
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    token, appid, now = workload["token"], workload["appid"], workload["now"]
    crypto = WeChatCrypto(token, workload["encoding_aes_key"], appid)

    def handle(event):
        # Raises InvalidSignatureException on a bad signature.
        check_signature(token, event["signature"], event["timestamp"], event["nonce"])
        if abs(now - int(event["timestamp"])) > 300:
            raise ValueError("stale")
        xml = crypto.decrypt_message(
            event["body"], event["msg_signature"], event["timestamp"], event["nonce"]
        )
        msg = parse_message(xml)
        signup = 0
        if msg.type == "event" and msg.event == "subscribe_scan":
            content = f"报名成功：课程 {msg.scene_id[len('course_'):]}，开课前会提醒您。"
            signup = 1
        elif msg.type == "event" and msg.event == "subscribe":
            content = "感谢关注！发送“课程”查看近期直播。"
        else:
            content = ""
        reply = TextReply(content=content, message=msg, time=now).render()
        out = crypto.encrypt_message(reply, event["nonce"], event["timestamp"])
        return len(out), signup

    latencies, signups, reply_bytes = [], 0, 0
    cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(iterations):
        for event in workload["events"]:
            t = time.perf_counter_ns()
            n, s = handle(event)
            latencies.append(time.perf_counter_ns() - t)
            reply_bytes += n
            signups += s
    wall, cpu = time.perf_counter_ns() - wall0, time.process_time_ns() - cpu0
    print(json.dumps({
        "name": f"Python {sys.version.split()[0]} wechatpy {wechatpy.__version__}",
        "events": len(latencies),
        "signups": signups,
        "reply_bytes": reply_bytes,
        "wall_ns": wall,
        "cpu_ns": cpu,
        "latencies_ns": latencies,
    }))


if __name__ == "__main__":
    main()
