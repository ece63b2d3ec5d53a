#!/usr/bin/env bash
# End-to-end tests of the admin console: a local stack on random ports (moto, WeChat sandbox
# with the demo accounts, the gateway running the real functions, as `make dev` starts it)
# driven by Debian's Chromium through playwright-core. Run by `make test`; alone:
#   bash tests/e2e/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../infra/scripts/common.sh"
cd "$ROOT"

ensure_venv
# Chromium, and a CJK font so the Chinese pages render (and screenshot) as users see them.
if [[ ! -x /usr/bin/chromium || ! -d /usr/share/fonts/truetype/wqy ]]; then
  log "installing Debian's chromium and a Chinese font (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei >/dev/null || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei >/dev/null
  }
fi
[[ -f functions/admin-api/console/dist/index.html ]] || build_console
cargo build --quiet -p local-gateway -p wechat-sandbox
BIN="$(target_dir)/debug"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

MOTO_PORT="$(free_port)"
start_moto "$MOTO_PORT"
PIDS+=("$MOTO_PID")
export_moto_env "$MOTO_PORT"

SANDBOX_PORT="$(free_port)"
"$BIN/wechat-sandbox" --listen "127.0.0.1:$SANDBOX_PORT" >"$STATE_DIR/e2e-sandbox.log" 2>&1 &
PIDS+=("$!")
wait_http "$SANDBOX_PORT" /sandbox/health 30

GATEWAY_PORT="$(free_port)"
export WECHAT_API_BASE="http://127.0.0.1:$SANDBOX_PORT"
export WECHAT_OPEN_BASE="http://127.0.0.1:$SANDBOX_PORT"
export WECOM_API_BASE="http://127.0.0.1:$SANDBOX_PORT/wecom"
export SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
export LISTEN="127.0.0.1:$GATEWAY_PORT"
export ADMIN_USERNAME=admin ADMIN_PASSWORD="e2e-$RANDOM-$RANDOM"
"$BIN/livenotify-local" >"$STATE_DIR/e2e-gateway.log" 2>&1 &
PIDS+=("$!")
wait_http "$GATEWAY_PORT" /api/health 60

export E2E_URL="http://127.0.0.1:$GATEWAY_PORT"
# Test runs leave the committed screenshots alone; refresh those with
# E2E_SCREENSHOTS=tests/e2e/screenshots bash tests/e2e/run.sh
export E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$STATE_DIR/e2e-screenshots}"
log "console e2e against $E2E_URL (logs: .local/e2e-gateway.log)"
node tests/e2e/console.e2e.mjs
