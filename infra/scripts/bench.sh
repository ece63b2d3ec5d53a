#!/usr/bin/env bash
# `make bench` / `make bench-smoke`: the benchmarks behind BENCHMARKS.md. Never part of
# `make test`, which runs only the smoke version (tiny sizes, so the benchmarks cannot rot).
#
#   bench.sh callback [EVENTS ITERATIONS]  callback CPU path: livenotify vs wechatpy vs Node
#   bench.sh coldstart [RUNS]              cold start of each release binary (needs build-lambdas)
#   bench.sh smoke                         all of the above with tiny sizes, dev build
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_venv
export LIVENOTIFY_PYTHON="$VENV/bin/python"

# The Node peer's packages, exactly as locked.
ensure_node_peer() {
  command -v node >/dev/null || { echo "node is required for the Node peer" >&2; exit 1; }
  local dir="$ROOT/infra/bench/node" stamp want
  stamp="$dir/node_modules/.package-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "npm ci (wechat-crypto, xml2js) in infra/bench/node"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
    echo "$want" >"$stamp"
  fi
}

# Release build of the bench binaries with the target and flags cargo-lambda gives the
# functions (so the code measured is compiled as deployed, and the dependencies are shared).
bench_release() {
  local target cpu
  if [[ "$(uname -m)" == x86_64 ]]; then target=x86_64-unknown-linux-gnu cpu=haswell; else target=aarch64-unknown-linux-gnu cpu=neoverse-n1; fi
  cargo build --quiet --release --target "$target" -p livenotify-bench --bins \
    --config "build.rustflags=[\"-C\", \"target-cpu=$cpu\"]"
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/$target/release"
}

with_moto() {
  MOTO_PORT="$(free_port)"
  start_moto "$MOTO_PORT"
  trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
  export_moto_env "$MOTO_PORT"
}

case "${1:-}" in
  callback)
    ensure_node_peer
    bin="$(bench_release)"
    log "callback CPU path (livenotify, wechatpy, Node)"
    "$bin/callback_bench" "${2:-2000}" "${3:-10}"
    ;;
  coldstart)
    arch="${LAMBDA_ARCH:-$( [[ "$(uname -m)" == x86_64 ]] && echo x86_64 || echo arm64)}"
    dist="$ROOT/dist/lambda/$arch"
    [[ -x "$dist/admin-api/bootstrap" ]] || { echo "no $arch binaries in $dist: run LAMBDA_ARCH=$arch make build-lambdas" >&2; exit 1; }
    bin="$(bench_release)"
    with_moto
    log "cold starts of the $arch release binaries"
    "$bin/coldstart_bench" "$dist" "${2:-5}"
    ;;
  smoke)
    ensure_node_peer
    log "benchmark smoke: callback path, 20 events (dev build)"
    cargo run --quiet -p livenotify-bench --bin callback_bench -- 20 1
    log "benchmark smoke: follower sync, 2,000 followers"
    cargo run --quiet -p follower-sync --example bench_sync -- 2000 >/dev/null
    log "benchmark smoke: export, 1,000 rows"
    cargo run --quiet -p admin-api --example export_bench -- 1000 >/dev/null
    ;;
  *)
    echo "usage: bench.sh callback|coldstart|smoke" >&2
    exit 2
    ;;
esac
