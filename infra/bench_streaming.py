#!/usr/bin/env python3
"""Streamed vs buffered replies, measured on this machine (results go in BENCHMARKS.md):

    source infra/env.sh && infra/local-stack.sh up && cargo build --release --bin mcp-gateway-server \
      && python infra/bench_streaming.py [--calls 200]

Two plain servers (target/release/mcp-gateway-server; no auth, rate limiting off, PII on) serve the streaming
backend (tests/backends/stream_server.py on 3016) with the same configuration except GATEWAY_STREAMING: `on`
(9131) and `off` (9132). One client (httpx, one keep-alive connection per target) calls, interleaved call by
call so machine noise hits all alike:

1. `long_task {seconds: 0.5, every: 0.1}`: progress every 100 ms, the result after 500 ms. Time to first byte
   of the reply (the first progress event when streamed, the whole result when buffered) and time to the end.
2. `huge_event {size: 100}`: one log notification, then the result at once. The time to the end is what
   streaming adds to a short call (an event stream of two events instead of one JSON body).

Direct calls to the backend (its own SSE reply) are the baseline. Only loopback is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
BACKEND = "http://127.0.0.1:3016/mcp"
PORTS = {"streaming on": 9131, "streaming off": 9132}
DEADLINE = time.monotonic() + 1200


def start(port: int, mode: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({
        "GATEWAY_LISTEN": f"127.0.0.1:{port}", "GATEWAY_BACKENDS_FILE": str(ROOT / "infra/backends.streaming.json"),
        "GATEWAY_ALLOW_LOOPBACK_BACKENDS": "1", "AUTH_MODE": "none", "ALLOW_INSECURE": "1",
        "RATE_LIMIT_ENABLED": "0", "GATEWAY_STREAMING": mode, "RUST_LOG": "warn", "METRICS_EMF": "off",
    })
    log = open(ROOT / f".run/bench-{port}.log", "wb")  # noqa: SIM115 - the process writes to it until stopped
    proc = subprocess.Popen([str(ROOT / "target/release/mcp-gateway-server")], env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"gateway on {port} did not start (see .run/bench-{port}.log)")


class Session:
    """A 2025-11-25 session over one keep-alive connection."""

    def __init__(self, url: str) -> None:
        self.url, self.http = url, httpx.Client(timeout=60)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        with self.http.stream("POST", url, json=init, headers=self.headers) as resp:
            resp.read()
            self.headers.update({"Mcp-Session-Id": resp.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"})
        self.http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers)

    def call(self, tool: str, arguments: dict) -> tuple[float, float, str]:
        """(time to first byte, time to the end, content type) of one tools/call with a progress token."""
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments, "_meta": {"progressToken": "bench"}}}
        started = time.perf_counter()
        first = None
        text = b""
        with self.http.stream("POST", self.url, json=body, headers=self.headers) as resp:
            for chunk in resp.iter_raw():
                first = first or time.perf_counter()
                text += chunk
            ctype = resp.headers.get("content-type", "")
        end = time.perf_counter()
        assert b'"result"' in text, text[:300]
        return first - started, end - started, ctype


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[round((len(ordered) - 1) * p)] * 1000


def run(calls: int, tool: str, arguments: dict, prefixed: dict[str, Session], direct: Session) -> None:
    targets = {"direct (backend's own SSE)": (direct, tool), **{k: (s, f"stream_{tool}") for k, s in prefixed.items()}}
    ttfb: dict[str, list[float]] = {name: [] for name in targets}
    total: dict[str, list[float]] = {name: [] for name in targets}
    kinds: dict[str, set[str]] = {name: set() for name in targets}
    for i in range(calls + 10):
        if time.monotonic() > DEADLINE:
            break
        for name, (session, name_of_tool) in targets.items():
            first, end, ctype = session.call(name_of_tool, arguments)
            if i >= 10:  # warm-up
                ttfb[name].append(first)
                total[name].append(end)
                kinds[name].add(ctype.split(";")[0])
    print(f"\n## {tool} {arguments}: {len(total[next(iter(total))])} calls per target, interleaved")
    print("| target | reply | TTFB p50 ms | TTFB p99 ms | end p50 ms | end p99 ms | added to end, p50 ms |")
    print("|---|---|---|---|---|---|---|")
    base = next(iter(total.values()))
    for name in targets:
        added = "-" if total[name] is base else f"{pct(total[name], .5) - pct(base, .5):.2f}"
        print(f"| {name} | {', '.join(sorted(kinds[name]))} | {pct(ttfb[name], .5):.2f} | {pct(ttfb[name], .99):.2f} "
              f"| {pct(total[name], .5):.2f} | {pct(total[name], .99):.2f} | {added} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    procs = [start(port, mode) for mode, port in (("on", PORTS["streaming on"]), ("off", PORTS["streaming off"]))]
    try:
        direct = Session(BACKEND)
        gateways = {name: Session(f"http://127.0.0.1:{port}/mcp") for name, port in PORTS.items()}
        run(args.calls, "long_task", {"seconds": 0.5, "every": 0.1}, gateways, direct)
        run(args.calls, "huge_event", {"size": 100}, gateways, direct)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
