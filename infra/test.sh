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

step "format, lint, layers, template"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
python3 infra/check-layers.py
cfn-lint template.yaml

cargo build --workspace --locked
cargo test --workspace --locked --no-run

cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    # What the emulator itself said, for a failure that is not the gateway's (its own errors, lost responses).
    for log in .run/gateway-*.log; do
      [[ -e "$log" ]] || continue
      grep -E "response failed|runtime error|failed to|panicked" "$log" | cut -c1-300 | tail -n 5 | sed "s|^|$log: |" || true
    done
  fi
  infra/gateway.sh stop || true
  infra/local-stack.sh down || true
}
trap cleanup EXIT

step "local stack"
STACK_FAULTS=1 infra/local-stack.sh up
# Open instances (explicit insecure opt-in, loopback only) for the protocol suites...
export AUTH_MODE=none ALLOW_INSECURE=1
# Every local backend (and the JWKS) is on loopback: the SSRF guard needs the explicit local-dev opt-in.
export GATEWAY_ALLOW_LOOPBACK_BACKENDS=1
# Generous limits everywhere but on the rate-limit instances below: the suites send bursts from one address.
export RATE_LIMIT_ANONYMOUS=100000 RATE_LIMIT_PER_PRINCIPAL=100000 RATE_LIMIT_AUTH_FAILURES=100000 RATE_LIMIT_PUBLIC=100000
infra/gateway.sh start 9000 infra/backends.local.json
infra/gateway.sh start 9001 infra/backends.local.json
infra/gateway.sh start 9002 infra/backends.faulty.json
# Streaming (GATEWAY_STREAMING=on: SSE replies, requests to the client, standalone streams). A stream holds
# its function instance, as on Lambda, so the watcher may run several. 9014 and 9015 are two processes of one
# deployment (a client's answer may reach either); 9023 is the plain server.
streaming="GATEWAY_STREAMING=on GATEWAY_WATCH_CONCURRENCY=8"
env $streaming infra/gateway.sh start 9003 infra/backends.conformance.json
for port in 9014 9015; do
  env $streaming GATEWAY_MAX_PENDING_REQUESTS=4 GATEWAY_PENDING_REQUEST_SECS=8 GATEWAY_STREAM_MAX_SECS=30 \
    infra/gateway.sh start "$port" infra/backends.streaming.json
done
GATEWAY_STREAMING=on infra/gateway.sh plain 9023 infra/backends.streaming.json
# The plain server (no Lambda emulator), as self-hosters run it.
infra/gateway.sh plain 9020 infra/backends.local.json
# ...and one per authentication mode. Short key refresh so revocation is observable in the tests.
AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 infra/gateway.sh start 9005 infra/backends.local.json
AUTH_MODE=oauth ALLOW_INSECURE=0 OAUTH_ISSUER=http://127.0.0.1:3005 OAUTH_JWKS_URI=http://127.0.0.1:3005/jwks.json \
  GATEWAY_RESOURCE_URI=http://127.0.0.1:9006/mcp infra/gateway.sh start 9006 infra/backends.local.json
export E2E_OAUTH_AUDIENCE=http://127.0.0.1:9006/mcp
# Rate limiting: two processes sharing moto, and two whose AWS endpoint is dead (fail closed / open).
limited="AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 RATE_LIMIT_WINDOW_SECS=10 RATE_LIMIT_PER_PRINCIPAL=50
  RATE_LIMIT_AUTH_FAILURES=20"
env $limited RATE_LIMIT_TOOLS='{"demo_add":3}' infra/gateway.sh start 9007 infra/backends.local.json
env $limited RATE_LIMIT_TOOLS='{"demo_add":3}' infra/gateway.sh start 9008 infra/backends.local.json
# ...and two plain servers charging the same limits in leased mode (slices spent locally).
env $limited RATE_LIMIT_MODE=leased infra/gateway.sh plain 9016 infra/backends.local.json
env $limited RATE_LIMIT_MODE=leased infra/gateway.sh plain 9019 infra/backends.local.json
AWS_ENDPOINT_URL=http://127.0.0.1:4599 PII_ENABLED=0 RATE_LIMIT_FAILURE_MODE=closed infra/gateway.sh start 9009 infra/backends.local.json
AWS_ENDPOINT_URL=http://127.0.0.1:4599 PII_ENABLED=0 RATE_LIMIT_FAILURE_MODE=open infra/gateway.sh start 9004 infra/backends.local.json
# Backend faults: the misbehaving fault backend, a legacy SSE backend, backend credentials; small breaker
# settings so opening and recovery fit in a test.
GATEWAY_BREAKER_FAILURES=3 GATEWAY_BREAKER_OPEN_SECS=3 GATEWAY_BREAKER_HALF_OPEN_SUCCESSES=2 \
  infra/gateway.sh start 9010 infra/backends.faults.json
# Lambda and OpenAPI backends (the local stack's demo-tools function and HTTP API), open and with API keys.
infra/gateway.sh start 9011 infra/backends.tools.json
AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 infra/gateway.sh start 9012 infra/backends.tools.json

# The adversarial suite (tests/e2e/test_adversarial.py): api-key auth in front of backends whose names
# collide, a small public-route limit and failed-auth limit, and one trusted proxy hop so each test can
# speak from its own client address; one backend exchange in flight, so a batch queues for slots.
AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 RATE_LIMIT_PUBLIC=5 RATE_LIMIT_AUTH_FAILURES=5 \
  RATE_LIMIT_TRUST_FORWARDED_FOR=1 GATEWAY_BACKEND_CONCURRENCY=1 \
  infra/gateway.sh start 9017 infra/backends.adversarial.json

# A small PII vault cap, so filling one scope to it fits in a test (tests/e2e/test_pii_vault.py).
PII_VAULT_MAX_TOKENS=20 infra/gateway.sh start 9018 infra/backends.local.json

# The admin API and dashboard (test_admin_api.py, test_admin_ui.py): two processes, one under the emulator and
# one plain server, over a table and a key secret of their own, so what they store reaches no other instance.
admin_env="AUTH_MODE=api-key ALLOW_INSECURE=0 TABLE_NAME=mcp-gateway-admin API_KEYS_SECRET_ID=mcp-gateway/admin-api-keys"
env $admin_env python infra/seed.py >/dev/null
env $admin_env infra/gateway.sh start 9021 infra/backends.local.json
env $admin_env infra/gateway.sh plain 9022 infra/backends.local.json

# Progressive disclosure: lite listing with one pinned tool, the meta-tools and their result cache (in
# DynamoDB on moto), per API key.
AUTH_MODE=api-key ALLOW_INSECURE=0 API_KEYS_REFRESH_SECS=2 GATEWAY_TOOLS_MODE=lite GATEWAY_PINNED_TOOLS=demo_add \
  GATEWAY_RESULT_CACHE=annotated infra/gateway.sh start 9013 infra/backends.local.json

step "unit, in-process and adapter tests (adapters against moto)"
# The moto-backed adapter tests skip without the emulator; here it runs, so a skip is a failure.
MOTO_REQUIRED=1 cargo test --workspace --locked

step "end-to-end tests"
pytest -c tests/pytest.ini tests/e2e "$@"

step "no test PII in any gateway log"
if grep -F -l -f tests/e2e/pii_values.txt .run/gateway-*.log; then
  echo "FAIL: the files above contain PII values used by the tests" >&2; exit 1
fi
echo "ok: $(wc -l < tests/e2e/pii_values.txt) values, $(ls .run/gateway-*.log | wc -l) logs, no match"

step "MCP conformance suite through the gateway"
infra/conformance.sh
