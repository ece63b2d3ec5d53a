#!/usr/bin/env bash
# `make dev`: the whole platform on this machine, no AWS account: moto as DynamoDB/SQS/S3,
# the WeChat sandbox, and the gateway running the real function code. Ctrl-C stops it all.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_venv
build_console
log "building the local stack"
cargo build --quiet -p local-gateway -p wechat-sandbox

MOTO_PORT="${MOTO_PORT:-4566}"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  log "stopped"
}
trap cleanup EXIT INT TERM

start_moto "$MOTO_PORT"
PIDS+=("$MOTO_PID")
export_moto_env "$MOTO_PORT"

SANDBOX_PORT="${SANDBOX_PORT:-8790}"
log "starting the WeChat sandbox on 127.0.0.1:$SANDBOX_PORT (control API: /sandbox, see infra/wechat-sandbox/README.md)"
"$ROOT/target/debug/wechat-sandbox" --listen "127.0.0.1:$SANDBOX_PORT" >"$STATE_DIR/sandbox.log" 2>&1 &
PIDS+=("$!")
wait_http "$SANDBOX_PORT" /sandbox/health 30
# The functions talk to the sandbox exactly as they would to WeChat.
export WECHAT_API_BASE="http://127.0.0.1:$SANDBOX_PORT"
export WECHAT_OPEN_BASE="http://127.0.0.1:$SANDBOX_PORT"
export WECOM_API_BASE="http://127.0.0.1:$SANDBOX_PORT/wecom"
# The gateway registers demo accounts (htology, onco, a subscription account) in the sandbox.
export SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"

"$ROOT/target/debug/livenotify-local" &
PIDS+=("$!")
wait -n "${PIDS[@]}"
