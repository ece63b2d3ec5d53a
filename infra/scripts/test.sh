#!/usr/bin/env bash
# `make test`: every test of the project. Starts what it needs (moto on a free port), runs
# the lint gates, unit and integration tests and the template lint, and stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_venv
# admin-api embeds the built console; build it before cargo compiles admin-api.
build_console

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

MOTO_PORT="$(free_port)"
start_moto "$MOTO_PORT"
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
export LIVENOTIFY_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export LIVENOTIFY_PYTHON="$VENV/bin/python"
# The SDK must never find real credentials from the developer's machine in tests.
export_moto_env "$MOTO_PORT"

log "unit and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

log "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml

log "the moto launcher's speed-ups give moto's own answers"
"$VENV/bin/python" "$ROOT/infra/python/moto_patches_check.py"

log "schemathesis against the local stack's admin API (every operation)"
bash "$ROOT/infra/scripts/api_fuzz.sh"

log "admin console end-to-end tests (headless Chromium against a local stack)"
bash "$ROOT/tests/e2e/run.sh"
log "benchmark smoke (tiny sizes; the real runs are make bench)"
bash "$ROOT/infra/scripts/bench.sh" smoke
log "all tests passed"
