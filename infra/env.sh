# Sourced by the Makefile's scripts: the local-stack environment (no AWS account: moto on loopback).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$HOME/.cargo/bin:$PATH"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
# Lambda backends are invoked on the local stack's `cargo lambda watch` (infra/local-stack.sh), not moto.
export AWS_ENDPOINT_URL_LAMBDA="${AWS_ENDPOINT_URL_LAMBDA:-http://127.0.0.1:3014}"
export TABLE_NAME="${TABLE_NAME:-mcp-gateway}"
export SAM_CLI_TELEMETRY=0
