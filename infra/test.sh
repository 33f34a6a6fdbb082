#!/usr/bin/env bash
# Runs every test (what `make test` and CI run): static checks, unit tests, then the end-to-end suites
# against the real local stack — moto, real MCP backends, the functions under `cargo lambda watch` — and
# the official MCP conformance suite through the gateway (infra/conformance.sh).
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

cargo build --workspace --locked
cargo test --workspace --locked --no-run

cleanup() {
  infra/gateway.sh stop || true
  infra/local-stack.sh down || true
}
trap cleanup EXIT

step "local stack"
STACK_FAULTS=1 infra/local-stack.sh up
# Open instances (explicit insecure opt-in, loopback only) for the protocol suites...
export AUTH_MODE=none ALLOW_INSECURE=1
infra/gateway.sh start 9000 infra/backends.local.json
infra/gateway.sh start 9001 infra/backends.local.json
infra/gateway.sh start 9002 infra/backends.faulty.json
infra/gateway.sh start 9003 infra/backends.conformance.json
# ...and one per authentication mode. Short key refresh so revocation is observable in the tests.
AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 infra/gateway.sh start 9005 infra/backends.local.json
AUTH_MODE=oauth ALLOW_INSECURE=0 OAUTH_ISSUER=http://127.0.0.1:3005 OAUTH_JWKS_URI=http://127.0.0.1:3005/jwks.json \
  GATEWAY_RESOURCE_URI=http://127.0.0.1:9006/mcp infra/gateway.sh start 9006 infra/backends.local.json
export E2E_OAUTH_AUDIENCE=http://127.0.0.1:9006/mcp

step "unit and adapter tests (adapters against moto)"
cargo test --workspace --locked

step "end-to-end tests"
pytest -c tests/pytest.ini tests/e2e "$@"

step "MCP conformance suite through the gateway"
infra/conformance.sh
