#!/usr/bin/env bash
# Local stack for the MCP gateway: moto (DynamoDB + Secrets Manager), the demo MCP backends, the
# conformance-suite fixture backend (tests/backends/conformance_server.py on 3004), the streaming backend
# (tests/backends/stream_server.py on 3016), and the non-MCP
# backends: an HTTP API with an OpenAPI document (tests/backends/openapi_service.py on 3013) and a Lambda
# function (tests/lambda/tool-fn, package demo-tools) served by `cargo lambda watch` on 3014, which
# answers the real Lambda Invoke API (env.sh points AWS_ENDPOINT_URL_LAMBDA there). The function appends
# every event it receives to .run/demo-tools-events.jsonl.
#   infra/local-stack.sh up       start everything in the background (idempotent), seed moto, wait until ready
#   infra/local-stack.sh down     stop what .run/*.pid names (whole process groups), remove the pid files
#   infra/local-stack.sh status   show what runs
# STACK_FAULTS=1 also starts the never-answering backend on 3003, the misbehaving fault backend
# (tests/backends/fault_server.py) on 3011, a legacy HTTP+SSE demo backend on 3012 and a backend whose tool
# metadata carries HTML/script payloads (tests/backends/hostile_server.py) on 3015. Logs and pids: .run/.
# Everything listens on 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run"
export PATH="$ROOT/.venv/bin:$PATH"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"

SERVICES=(moto everything demo conformance stream jwks openapi lambda hang faults legacy hostile)   # start order; `down` stops in reverse
declare -A PORT=([moto]=4566 [everything]=3001 [demo]=3002 [hang]=3003 [conformance]=3004 [jwks]=3005 [faults]=3011
  [legacy]=3012 [openapi]=3013 [lambda]=3014 [hostile]=3015 [stream]=3016)
OPTIONAL=" hang faults legacy hostile "   # started only with STACK_FAULTS=1
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"local-stack","version":"0"}}}'

log() { echo "local-stack: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid_of "$1")"; [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
log_tail() { echo "----- last lines of $RUN/$1.log -----" >&2; tail -n 25 "$RUN/$1.log" >&2 2>/dev/null || true; }

ready() {   # is service $1 answering?
  case "$1" in
    moto) curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:4566/moto-api/data.json" ;;
    everything | demo | conformance | faults | hostile | stream)
      curl -sf -o /dev/null --max-time 3 -X POST "http://127.0.0.1:${PORT[$1]}/mcp" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$INIT" ;;
    hang | legacy) port_open "${PORT[$1]}" ;;
    jwks) curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:3005/jwks.json" ;;
    openapi) curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:3013/openapi.json" ;;
    # The first invoke builds and starts the function: a real invoke is the readiness check.
    lambda) curl -sf -o /dev/null --max-time 300 "http://127.0.0.1:3014/2015-03-31/functions/demo-tools/invocations" \
      -d '{"tool":"tools/list","arguments":{},"context":{"principal":null,"requestId":"local-stack"}}' ;;
  esac
}

set_cmd() {   # CMD = the command line that runs service $1
  case "$1" in
    # Requests applied one at a time, as atomically as DynamoDB applies conditional writes.
    moto) CMD=(python "$ROOT/infra/moto_server.py" --port 4566) ;;
    # Scrubbed env: server-everything has a get-env tool that would reveal whatever we pass it.
    everything) CMD=(env -i "PATH=$PATH" "HOME=$HOME" PORT=3001 "NODE_OPTIONS=--import $ROOT/infra/loopback-only.mjs"
      "$ROOT/infra/node_modules/.bin/mcp-server-everything" streamableHttp) ;;
    demo) CMD=(python "$ROOT/tests/backends/demo_server.py" --port 3002) ;;
    hang) CMD=(python "$ROOT/tests/backends/hang_server.py" --port 3003 --max-seconds 7200) ;;
    conformance) CMD=(python "$ROOT/tests/backends/conformance_server.py" --port 3004) ;;
    stream) CMD=(python "$ROOT/tests/backends/stream_server.py" --port 3016) ;;
    jwks) CMD=(python "$ROOT/tests/backends/jwks_server.py" --port 3005) ;;
    faults) CMD=(python "$ROOT/tests/backends/fault_server.py" --port 3011 --max-seconds 7200) ;;
    legacy) CMD=(python "$ROOT/tests/backends/demo_server.py" --port 3012 --transport sse) ;;
    openapi) CMD=(python "$ROOT/tests/backends/openapi_service.py" --port 3013) ;;
    # Only the test function; several instances, so a sleeping invoke does not hold up the next one.
    lambda) CMD=(env "DEMO_TOOLS_RECORD=$RUN/demo-tools-events.jsonl" cargo lambda watch --manifest-path "$ROOT/Cargo.toml"
      --ignore-changes -p demo-tools --concurrency 4 -A 127.0.0.1 -P 3014) ;;
    hostile) CMD=(python "$ROOT/tests/backends/hostile_server.py" --port 3015) ;;
  esac
}

start() {   # start service $1 unless ours already runs, then wait (bounded) until it answers
  local name="$1" port="${PORT[$1]}" i
  if alive "$name"; then
    log "$name: already running (pid $(pid_of "$name"))"
  else
    rm -f "$RUN/$name.pid"
    # A leftover process on our port would silently "win" (stale state): refuse loudly.
    port_open "$port" && die "$name: 127.0.0.1:$port is already in use by a process we did not start (leftover? see: ss -ltnp 'sport = :$port')"
    set_cmd "$name"
    setsid "${CMD[@]}" >"$RUN/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
    log "$name: started (pid $(pid_of "$name")), log $RUN/$name.log"
  fi
  for i in $(seq 1 120); do   # <= 60 s
    if ! alive "$name"; then log_tail "$name"; rm -f "$RUN/$name.pid"; die "$name: exited during startup"; fi
    if ready "$name"; then log "$name: ready on 127.0.0.1:$port"; return 0; fi
    sleep 0.5
  done
  log_tail "$name"; die "$name: not ready on 127.0.0.1:$port after 60 s"
}

stop() {   # stop service $1 (its whole process group), remove its pid file
  local name="$1" pid i
  pid="$(pid_of "$name")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    # Our services are session leaders (setsid): signal the group only if it is really theirs.
    if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then log "$name: still alive after 5 s, SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
    log "$name: stopped (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

up() {
  mkdir -p "$RUN"
  [[ -x "$ROOT/.venv/bin/python" ]] || die "no venv at $ROOT/.venv (python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt)"
  if [[ ! -d "$ROOT/infra/node_modules/@modelcontextprotocol/server-everything" ]]; then
    log "installing infra/node_modules (npm ci)"
    npm ci --prefix "$ROOT/infra" --no-audit --no-fund >"$RUN/npm-ci.log" 2>&1 || { log_tail npm-ci; die "npm ci failed"; }
  fi
  start moto
  python "$ROOT/infra/seed.py" || die "seeding moto failed"
  start everything
  start demo
  start conformance
  start stream
  start jwks
  start openapi
  rm -f "$RUN/demo-tools-events.jsonl"
  start lambda
  local extra=""
  if [[ "${STACK_FAULTS:-0}" == "1" ]]; then
    start hang; start faults; start legacy; start hostile
    extra=", hang :3003, faults :3011/mcp, legacy SSE :3012/sse, hostile :3015/mcp"
  fi
  log "up: moto :4566, everything :3001/mcp, demo :3002/mcp, conformance :3004/mcp, stream :3016/mcp, jwks :3005, openapi :3013, lambda :3014$extra"
}

down() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop "${SERVICES[$i]}"; done
  log "down"
}

status() {
  local name rc=0
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then printf '%-11s running  pid %-7s 127.0.0.1:%s\n' "$name" "$(pid_of "$name")" "${PORT[$name]}"
    else printf '%-11s stopped\n' "$name"; [[ "$OPTIONAL" == *" $name "* ]] || rc=1; fi
  done
  return "$rc"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status   (STACK_FAULTS=1 $0 up also starts the hanging backend)" >&2; exit 2 ;;
esac
