#!/usr/bin/env bash
# `make dev`: the whole gateway on this machine, no AWS account: moto (DynamoDB + Secrets Manager),
# two demo MCP backends, and the functions under `cargo lambda watch` with hot reload, in the foreground.
# Streaming is on (GATEWAY_STREAMING=on: SSE replies, requests to the client, GET streams), as behind the
# template's REST streaming front door; the watcher may run several instances of a function at once, since
# an open stream holds its instance. `cargo lambda watch` sets no invoke timeout: calls of many minutes work.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
infra/setup.sh
cargo build --workspace
trap 'infra/local-stack.sh down' EXIT
infra/local-stack.sh up
echo
echo "Gateway: http://127.0.0.1:9000/mcp   health: http://127.0.0.1:9000/health   (Ctrl-C stops everything)"
echo "Admin:   http://127.0.0.1:9000/admin   (needs AUTH_MODE=api-key and a key with scope gateway:admin:"
echo "         infra/create-api-key.py --name me --scopes gateway:admin)"
echo
# Local development runs without credentials by explicit opt-in (loopback only). To try API keys:
# AUTH_MODE=api-key make dev, then infra/create-api-key.py --name me --scopes '*'.
# gateway_execute_code on /mcp runs in the code function, invoked through the watcher (as in AWS).
AUTH_MODE="${AUTH_MODE:-none}" ALLOW_INSECURE="${ALLOW_INSECURE:-1}" RATE_LIMIT_ANONYMOUS="${RATE_LIMIT_ANONYMOUS:-6000}" \
GATEWAY_BACKENDS_FILE="${GATEWAY_BACKENDS_FILE:-$ROOT/infra/backends.local.json}" \
GATEWAY_ALLOWED_HOSTS="${GATEWAY_ALLOWED_HOSTS:-localhost,127.0.0.1,::1}" \
GATEWAY_ALLOW_LOOPBACK_BACKENDS="${GATEWAY_ALLOW_LOOPBACK_BACKENDS:-1}" \
GATEWAY_STREAMING="${GATEWAY_STREAMING:-on}" CODE_FUNCTION_NAME=code CODE_FUNCTION_ENDPOINT_URL=http://127.0.0.1:9000 \
  cargo lambda watch --disable-cors -A 127.0.0.1 -P 9000 --concurrency "${GATEWAY_WATCH_CONCURRENCY:-8}"
