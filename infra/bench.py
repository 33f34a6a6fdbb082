#!/usr/bin/env python3
"""End-to-end benchmarks of the gateway on this machine (results go in BENCHMARKS.md):

    source infra/env.sh && infra/local-stack.sh up && python infra/bench.py [--calls 2000]

1. Added latency: the same client (httpx, one keep-alive connection each) calls the same tool on the same
   backend directly and through the gateway, interleaved call by call so machine noise hits all alike.
   Gateways (started here, stopped at the end; API-key auth and PII on everywhere):
     plain          the plain server (target/release/mcp-gateway-server), rate limiting off
     plain+limit    the plain server with rate limiting on (one DynamoDB UpdateItem per request, on moto)
     watch          the functions under `cargo lambda watch` (debug build, Lambda emulator), rate limiting off
   The backend is the fault server's `echo` (tests/backends/fault_server.py: JSON-RPC by hand, no SDK), with
   a 1 KB text the PII scanner must read.
2. Cold start: process start to the first answered request, for the release plain server (median of 20), with
   AWS-backed auth and PII (two Secrets Manager reads at start, on moto) and without any AWS call at start.
3. AWS calls per request: counted by moto's request log around 200 warm tools/call, per era, with and without
   rate limiting.

Only loopback is used. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
BACKEND = "http://127.0.0.1:3011/tools/echo/mcp"
TEXT = "The quarterly report lists 42 open items, 17 closed since Monday; build 7.3.1 passed. " * 12
PORTS = {"plain": 9101, "plain+limit": 9102, "watch": 9103}
DEADLINE = time.monotonic() + 1800  # the whole run stays under 30 minutes


def sh(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900).stdout


def create_key() -> str:
    return sh(sys.executable, "infra/create-api-key.py", "--name", "bench", "--scopes", "*").strip()


def gateway_env(limit: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AUTH_MODE": "api-key", "ALLOW_INSECURE": "0", "RATE_LIMIT_ENABLED": "1" if limit else "0",
        "RATE_LIMIT_PER_PRINCIPAL": "1000000", "RUST_LOG": "warn", "METRICS_EMF": "off",
    })
    return env


def wait_ready(port: int) -> None:
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"gateway on {port} did not start (see .run/bench-{port}.log)")


MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}}


class Client:
    """One MCP client over one keep-alive connection: a 2025-11-25 session, or stateless 2026-07-28 requests."""

    def __init__(self, url: str, key: str | None, modern: bool = False) -> None:
        self.url, self.modern = url, modern
        self.http = httpx.Client(timeout=60)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                        "MCP-Protocol-Version": MODERN if modern else "2025-11-25"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        if modern:
            self.headers.update({"Mcp-Method": "tools/call", "Mcp-Name": "fast_echo"})
            return
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        resp = self.http.post(url, json=init, headers=self.headers)
        resp.raise_for_status()
        if sid := resp.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = sid
        self.http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers)

    def call(self, tool: str) -> float:
        params = {"name": tool, "arguments": {"text": TEXT}}
        if self.modern:
            params["_meta"] = ENVELOPE
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
        started = time.perf_counter()
        resp = self.http.post(self.url, json=body, headers=self.headers)
        elapsed = time.perf_counter() - started
        assert resp.status_code == 200 and TEXT in resp.text, (self.url, resp.status_code, resp.text[:300])
        return elapsed


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[round((len(ordered) - 1) * p)] * 1000


def added_latency(calls: int, key: str) -> None:
    clients = {"direct": (Client(BACKEND, None), "echo")}
    for kind, port in PORTS.items():
        clients[kind] = (Client(f"http://127.0.0.1:{port}/mcp", key), "fast_echo")
    # Stateless: no session to read, so with rate limiting off no AWS call at all.
    clients["plain, 2026-07-28"] = (Client(f"http://127.0.0.1:{PORTS['plain']}/mcp", key, modern=True), "fast_echo")
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for i in range(calls + 50):
        if time.monotonic() > DEADLINE:
            break
        for name, (client, tool) in clients.items():
            elapsed = client.call(tool)
            if i >= 50:  # warm-up
                samples[name].append(elapsed)
    print(f"\n## added latency: {len(samples['direct'])} sequential tools/call per target, interleaved")
    print(f"| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms |\n|---|---|---|---|---|---|")
    base = samples["direct"]
    for name, values in samples.items():
        added = "" if name == "direct" else f"{pct(values, .5) - pct(base, .5):.3f} | {pct(values, .99) - pct(base, .99):.3f}"
        print(f"| {name} | {pct(values, .5):.3f} | {pct(values, .9):.3f} | {pct(values, .99):.3f} | {added or '- | -'} |")


def cold_start(binary: Path, with_aws: bool, runs: int = 20) -> list[float]:
    env = gateway_env(False)
    env.update({"GATEWAY_LISTEN": "127.0.0.1:9110", "GATEWAY_BACKENDS_FILE": str(ROOT / "infra/backends.bench.json"),
                "GATEWAY_ALLOW_LOOPBACK_BACKENDS": "1"})
    if not with_aws:
        env.update({"AUTH_MODE": "none", "ALLOW_INSECURE": "1", "PII_ENABLED": "0"})
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # A bare socket: an HTTP client library costs milliseconds per attempt, which is not the server's.
            while not first_answer(9110):
                assert time.perf_counter() - started < 10, "the server did not answer within 10 s"
                time.sleep(0.0002)
            times.append((time.perf_counter() - started) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return times


def first_answer(port: int) -> bool:
    """Whether GET /metrics on `port` gets the first bytes of an answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


def aws_calls_per_request(key: str, kind: str, modern: bool, calls: int = 200) -> float:
    client = Client(f"http://127.0.0.1:{PORTS[kind]}/mcp", key, modern=modern)
    log = ROOT / ".run/moto.log"
    before = log.read_text().count('" 200 ')
    for _ in range(calls):
        client.call("fast_echo")
    time.sleep(0.5)
    return (log.read_text().count('" 200 ') - before) / calls


def print_cold_starts(binary: Path) -> None:
    for with_aws in (True, False):
        times = cold_start(binary, with_aws)
        label = "API-key auth + PII (2 Secrets Manager reads)" if with_aws else "no AWS call at start"
        print(f"\n## cold start, release plain server, {label}: median {statistics.median(times):.1f} ms, "
              f"min {min(times):.1f} ms, max {max(times):.1f} ms over {len(times)} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cold-only", action="store_true", help="measure the cold start only")
    args = parser.parse_args()
    backends = ROOT / "infra/backends.bench.json"
    sh("cargo", "build", "--release", "--quiet", "--bin", "mcp-gateway-server")
    binary = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/mcp-gateway-server"
    if args.cold_only:
        return print_cold_starts(binary)
    key = create_key()
    try:
        # The plain instances run the release build: infra/gateway.sh builds debug, so start them here.
        for kind in ("plain", "plain+limit"):
            env = gateway_env(kind == "plain+limit")
            env.update({"GATEWAY_LISTEN": f"127.0.0.1:{PORTS[kind]}", "GATEWAY_BACKENDS_FILE": str(backends),
                        "GATEWAY_ALLOW_LOOPBACK_BACKENDS": "1"})
            log = open(ROOT / f".run/bench-{PORTS[kind]}.log", "w")  # noqa: SIM115 - closed with the process
            subprocess.Popen([str(binary)], env=env, stdout=log, stderr=log, start_new_session=True)
        sh("infra/gateway.sh", "start", str(PORTS["watch"]), str(backends), env=gateway_env(False))
        for kind in ("plain", "plain+limit"):
            wait_ready(PORTS[kind])
        added_latency(args.calls, key)
        print("\n## AWS calls per warm tools/call (moto request log, 200 calls each)")
        for kind, modern in (("plain", False), ("plain", True), ("plain+limit", False), ("plain+limit", True)):
            era = "2026-07-28" if modern else "2025-11-25 session"
            print(f"- {kind}, {era}: {aws_calls_per_request(key, kind, modern):.2f}")
        print_cold_starts(binary)
    finally:
        subprocess.run(["pkill", "-f", f"{binary}"], check=False)
        sh("infra/gateway.sh", "stop", str(PORTS["watch"]))


if __name__ == "__main__":
    main()
