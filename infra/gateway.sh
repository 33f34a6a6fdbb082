#!/usr/bin/env bash
# Runs the gateway's functions under `cargo lambda watch` (the same routes API Gateway serves; the mcp
# function invokes the code function for gateway_execute_code, through the watcher's Lambda Invoke API).
#   infra/gateway.sh start PORT BACKENDS_FILE   start in the background; wait until /health answers
#   infra/gateway.sh plain PORT BACKENDS_FILE   the same routes from the plain server (no Lambda emulator:
#                                               target/debug/mcp-gateway-server, functions/server)
#   infra/gateway.sh stop [PORT]                stop one, or every one this script started
# Logs and pids: .run/gateway-PORT.{log,pid}. Listens on 127.0.0.1 only.
# GATEWAY_WATCH_CONCURRENCY (default 1) is how many instances of a function `cargo lambda watch` may run at
# once: a streaming gateway needs several (an open stream holds its instance, as on Lambda).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
RUN="$ROOT/.run"
mkdir -p "$RUN"

start() {
  local mode="$1" port="$2" backends="$3" pidfile="$RUN/gateway-$2.pid" log="$RUN/gateway-$2.log" i
  [[ "$backends" == /* ]] || backends="$ROOT/$backends"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "gateway: already running on $port"; return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "gateway: 127.0.0.1:$port is taken by a process this script did not start" >&2; exit 1
  fi
  cd "$ROOT"
  # setsid: the watcher and the functions it spawns form one process group, stopped together.
  # The local stack's backends are on loopback, which the SSRF guard refuses without this opt-in.
  # Under the watcher the mcp function hands gateway_execute_code to the code function of the same
  # watcher through the Lambda Invoke API, as in AWS; the plain server runs code in its own sandboxes.
  local run=(env CODE_FUNCTION_NAME=code CODE_FUNCTION_ENDPOINT_URL="http://127.0.0.1:$port"
    cargo lambda watch --ignore-changes --disable-cors -A 127.0.0.1 -P "$port"
    --concurrency "${GATEWAY_WATCH_CONCURRENCY:-1}")
  if [[ "$mode" == plain ]]; then
    cargo build --quiet --bin mcp-gateway-server
    run=(env -u CODE_FUNCTION_NAME GATEWAY_LISTEN="127.0.0.1:$port" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/mcp-gateway-server")
  fi
  GATEWAY_BACKENDS_FILE="$backends" GATEWAY_ALLOWED_HOSTS="${GATEWAY_ALLOWED_HOSTS:-localhost,127.0.0.1,::1}" \
    GATEWAY_ALLOW_LOOPBACK_BACKENDS="${GATEWAY_ALLOW_LOOPBACK_BACKENDS:-1}" \
    RUST_LOG="${RUST_LOG:-info}" setsid "${run[@]}" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  # The first request to each function may compile it: allow minutes, not seconds.
  for i in $(seq 1 600); do
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 30 "$log" >&2; echo "gateway: exited during start" >&2; exit 1; }
    if curl -s -o /dev/null --max-time 300 "http://127.0.0.1:$port/health"; then
      echo "gateway: ready on http://127.0.0.1:$port (backends: $backends)"; return 0
    fi
    sleep 0.5
  done
  tail -n 30 "$log" >&2; echo "gateway: not ready on $port" >&2; exit 1
}

stop_one() {
  local pidfile="$1" pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "gateway: stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start|plain) [[ $# -eq 3 ]] || { echo "usage: $0 $1 PORT BACKENDS_FILE" >&2; exit 2; }; start "$1" "$2" "$3" ;;
  stop)
    if [[ -n "${2:-}" ]]; then stop_one "$RUN/gateway-$2.pid"
    else for f in "$RUN"/gateway-*.pid; do [[ -e "$f" ]] && stop_one "$f"; done; fi ;;
  *) echo "usage: $0 start|plain PORT BACKENDS_FILE | stop [PORT]" >&2; exit 2 ;;
esac
