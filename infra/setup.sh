#!/usr/bin/env bash
# Installs the project's tools on a fresh machine, idempotently: the Python venv (cargo-lambda, moto,
# SAM, cfn-lint, the official MCP SDK, pytest, Playwright, Node 24), the npm packages (demo backend,
# conformance suite, TypeScript SDK) and Debian's Chromium. Re-runs only what changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

stamp=".venv/.requirements.sha"
want="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "setup: installing the Python venv (.venv)"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
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

# Debian's Chromium for the dashboard's browser tests (driven by Playwright from the venv; Playwright never
# downloads a browser of its own here). CI runs on a fresh Debian machine as root.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "setup: installing Chromium (apt-get install chromium)"
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

rustup component add clippy rustfmt >/dev/null 2>&1 || true
