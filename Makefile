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
