# The project's commands. `make dev` and `make test` are the two a newcomer needs.
.PHONY: dev test lint fmt build

## Run the whole platform locally (moto + WeChat sandbox + gateway); Ctrl-C stops it.
dev:
	@bash infra/scripts/dev.sh

## Run every test (lint gates, unit, integration against moto, template lint).
test:
	@bash infra/scripts/test.sh

## Format the code.
fmt:
	cargo fmt --all

## Lint gates only.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## Build everything.
build:
	cargo build --workspace

## Benchmark the follower sync on 1,000,000 sandbox followers (results: BENCHMARKS.md).
.PHONY: bench-sync
bench-sync:
	cargo run -p follower-sync --example bench_sync -- 1000000

## Benchmark the push fan-out (moto + sandbox, 50 ms WeChat latency); not part of `make test`.
## Size and rate: LIVENOTIFY_PUSH_BENCH_RECIPIENTS (100000), LIVENOTIFY_PUSH_BENCH_RATE (100/s),
## LIVENOTIFY_PUSH_BENCH_IN_FLIGHT (16). Results: BENCHMARKS.md, section "Push fan-out".
.PHONY: bench-push
bench-push:
	@bash -c 'source infra/scripts/common.sh && ensure_venv && P=$$(free_port) && start_moto $$P \
	  && trap "kill $$MOTO_PID 2>/dev/null || true" EXIT \
	  && export LIVENOTIFY_TEST_AWS_ENDPOINT=http://127.0.0.1:$$P && export_moto_env $$P \
	  && cargo test -p livenotify-tests --test push_bench -- --ignored --nocapture'

## CPU time and peak RSS of the release push-worker binary alone during a push (needs
## `make build-lambdas`; LIVENOTIFY_PUSH_CPU_RECIPIENTS, default 10000). Results: BENCHMARKS.md.
.PHONY: bench-worker-cpu
bench-worker-cpu:
	@bash -c 'source infra/scripts/common.sh && ensure_venv && P=$$(free_port) && start_moto $$P \
	  && trap "kill $$MOTO_PID 2>/dev/null || true" EXIT \
	  && export LIVENOTIFY_TEST_AWS_ENDPOINT=http://127.0.0.1:$$P && export_moto_env $$P \
	  && cargo test -p livenotify-tests --test push_worker_cpu -- --ignored --nocapture'

## Fuzz the untrusted inputs long (callback XML, AES ciphertext, openid lists); results: RELIABILITY.md.
.PHONY: fuzz
fuzz:
	LIVENOTIFY_FUZZ_CASES=$${LIVENOTIFY_FUZZ_CASES:-50000} cargo nextest run -p livenotify --test fuzz --no-capture

## Schemathesis against the local stack's admin API (also part of `make test` with fewer examples).
.PHONY: api-fuzz
api-fuzz:
	API_FUZZ_EXAMPLES=$${API_FUZZ_EXAMPLES:-50} bash infra/scripts/api_fuzz.sh

## Callback endpoint under load: 1,000 users follow and write at concurrency 32; results: RELIABILITY.md.
.PHONY: load
load:
	@bash -c 'source infra/scripts/common.sh && ensure_venv && P=$$(free_port) && start_moto $$P \
	  && trap "kill $$MOTO_PID 2>/dev/null || true" EXIT \
	  && export LIVENOTIFY_TEST_AWS_ENDPOINT=http://127.0.0.1:$$P && export_moto_env $$P \
	  && LIVENOTIFY_LOAD_USERS=$${LIVENOTIFY_LOAD_USERS:-1000} LIVENOTIFY_LOAD_CONCURRENCY=$${LIVENOTIFY_LOAD_CONCURRENCY:-32} \
	     cargo nextest run -p livenotify-tests --test callback_load --no-capture'

## The six Lambda artifacts (dist/lambda/<arch>/<function>/bootstrap.zip) and their sizes;
## installs cargo-lambda and zig into .venv. LAMBDA_ARCH=arm64|x86_64 (default: arm64 if possible).
.PHONY: build-lambdas
build-lambdas:
	@bash infra/scripts/build-lambdas.sh

## Every benchmark behind BENCHMARKS.md (long; never part of `make test`).
.PHONY: bench bench-callback bench-coldstart bench-export bench-smoke
bench: bench-callback bench-coldstart bench-worker-cpu bench-push bench-sync bench-export

## Callback CPU path: livenotify vs wechatpy vs Node wechat-crypto, same events, same run.
bench-callback:
	@bash infra/scripts/bench.sh callback

## Cold start, sizes and peak RSS of the release binaries (runs `make build-lambdas` for this
## machine's architecture first).
bench-coldstart:
	@LAMBDA_ARCH=$${LAMBDA_ARCH:-$$( [ "$$(uname -m)" = x86_64 ] && echo x86_64 || echo arm64)} bash infra/scripts/build-lambdas.sh
	@bash infra/scripts/bench.sh coldstart

## Export of 1,000,000 rows to CSV and XLSX (results: BENCHMARKS.md, "Exports").
bench-export:
	cargo build -p admin-api --example export_bench
	/usr/bin/time -v $${CARGO_TARGET_DIR:-target}/debug/examples/export_bench 1000000

## The benchmarks with tiny sizes (part of `make test`, so they cannot rot).
bench-smoke:
	@bash infra/scripts/bench.sh smoke
