#!/usr/bin/env bash
# Installs the project's tools on a fresh machine, idempotently: the Python venv (cargo-lambda, moto,
# SAM, cfn-lint, the official MCP SDK, pytest, Node 24) and the npm packages (demo backend,
# conformance suite, TypeScript SDK). Re-runs only what changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

stamp=".venv/.requirements.sha"
want="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "setup: installing the Python venv (.venv)"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

lock_stamp="infra/node_modules/.lock.sha"
want_lock="$(sha256sum infra/package-lock.json | cut -d' ' -f1)"
if [[ "$(cat "$lock_stamp" 2>/dev/null)" != "$want_lock" ]]; then
  echo "setup: installing npm packages (infra/node_modules)"
  npm ci --prefix infra --no-audit --no-fund --loglevel=error
  echo "$want_lock" > "$lock_stamp"
fi

rustup component add clippy rustfmt >/dev/null 2>&1 || true
