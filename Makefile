# One command to run the gateway locally, one to run every test. Both install what they need.
.PHONY: dev test build lint stop

dev:   ## moto + demo backends + the functions under `cargo lambda watch` on http://127.0.0.1:9000 (Ctrl-C stops all)
	infra/dev.sh

test:  ## every test: fmt, clippy, cfn-lint, unit tests, end-to-end with real clients and backends
	infra/test.sh

build: ## arm64 release build of every function through SAM (cargo-lambda + zig)
	infra/setup.sh && . infra/env.sh && sam validate --lint -t template.yaml && sam build

lint:
	cargo fmt --all --check && cargo clippy --workspace --all-targets -- -D warnings

stop:  ## stop anything `make dev` or `make test` left running
	infra/gateway.sh stop; infra/local-stack.sh down
