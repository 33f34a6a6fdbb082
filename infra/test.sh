#!/usr/bin/env bash
# Runs every test (what `make test` and CI run): static checks, unit tests, then the end-to-end suites
# against the real local stack — moto, real MCP backends, the functions under `cargo lambda watch`.
# Starts everything it needs and stops it again, whatever happens.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

infra/setup.sh
step() { printf '\n==> %s\n' "$*"; }

step "format, lint, template"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cfn-lint template.yaml

step "unit tests"
cargo build --workspace --locked
cargo test --workspace --locked

cleanup() {
  infra/gateway.sh stop || true
  infra/local-stack.sh down || true
}
trap cleanup EXIT

step "local stack"
STACK_FAULTS=1 infra/local-stack.sh up
infra/gateway.sh start 9000 infra/backends.local.json
infra/gateway.sh start 9001 infra/backends.local.json
infra/gateway.sh start 9002 infra/backends.faulty.json

step "end-to-end tests"
pytest -c tests/pytest.ini tests/e2e "$@"
