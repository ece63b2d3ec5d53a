#!/usr/bin/env bash
# `make dev`: the whole platform on this machine, no AWS account: moto as DynamoDB/SQS/S3,
# the WeChat sandbox, and the gateway running the real function code. Ctrl-C stops it all.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_venv
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

"$ROOT/target/debug/livenotify-local" &
PIDS+=("$!")
wait -n "${PIDS[@]}"
