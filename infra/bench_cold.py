#!/usr/bin/env python3
"""Where a cold start of the plain server goes (results in BENCHMARKS.md, "Cold start, broken down"):

    source infra/env.sh && STACK_FAULTS=1 infra/local-stack.sh up
    python infra/bench_cold.py [--runs 10]

For each mode below, --runs cold starts of the release `mcp-gateway-server` (built by infra/bench.py, or
`cargo build --release --bin mcp-gateway-server`), each timed like infra/bench.py's cold start: process
start to the first answered handshake, polled over a bare socket. The gateway's own log lines (RUST_LOG=info)
then split it, median of the runs:
- building the instance (`instance ready built_ms=…`), and of that the store reads it waits for at boot
  (`boot reads done store_reads_ms=…`: the key secret, the PII key and the stored configuration, concurrently);
- the first request (`latency_ms` of its request line) and the AWS calls and round trips it made;
- the rest: process start, the runtime, listening, and the client's polling.
Only loopback is used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - the same environment, requests and modes as the end-to-end benchmark

MODES = [
    ("2026-07-28 `server/discover`, api key + PII, no limit", True, {**bench.SECURE, **bench.NO_LIMIT}),
    ("2026-07-28 `server/discover`, api key + PII, exact limit", True, {**bench.SECURE, **bench.EXACT}),
    ("2026-07-28 `server/discover`, no security", True,
     {"AUTH_MODE": "none", "ALLOW_INSECURE": "1", "PII_ENABLED": "0", **bench.NO_LIMIT}),
    ("2025-11-25 `initialize`, api key + PII, exact limit", False, {**bench.SECURE, **bench.EXACT}),
]
FIELDS = {"built": r"built_ms=([\d.]+)", "reads": r"store_reads_ms=([\d.]+)", "request": r"latency_ms=([\d.]+)",
          "calls": r"aws_calls=(\d+)", "trips": r"aws_round_trips=(\d+)"}


def one_start(binary: Path, settings: dict[str, str], request: bytes) -> dict[str, float]:
    env = bench.gateway_env(settings, bench.COLD_PORT)
    env.update({"RUST_LOG": "info", "AWS_LAMBDA_LOG_FORMAT": "text"})
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            while not bench.answered(bench.COLD_PORT, request):
                assert proc.poll() is None, f"{binary} exited during start ({proc.returncode})"
                assert time.perf_counter() - started < 20, "no answer within 20 s"
                time.sleep(0.0002)
            total = (time.perf_counter() - started) * 1000
        finally:
            bench.stop(proc)
        log.seek(0)
        text = log.read().decode(errors="replace")
    lines = {marker: next(line for line in text.splitlines() if marker in line)
             for marker in ("instance ready", "boot reads done", "request route=")}
    found = {"total": total}
    for name, pattern in FIELDS.items():
        line = lines[{"built": "instance ready", "reads": "boot reads done"}.get(name, "request route=")]
        match = re.search(pattern, line)
        assert match, f"{name} not in the log line {line!r}"
        found[name] = float(match.group(1))
    found["rest"] = total - found["built"] - found["request"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    binary = bench.target_dir() / "release/mcp-gateway-server"
    key = bench.sh(sys.executable, "infra/create-api-key.py", "--name", "bench-cold", "--scopes", "*").strip()
    print(f"\n## cold start, broken down: median of {args.runs} starts (ms; AWS calls / round trips of the first request)")
    print("| mode | total | instance built | of which store reads | first request | its AWS calls / round trips "
          "| rest (process, runtime, listen, polling) |\n|---|---|---|---|---|---|---|")
    for name, modern, settings in MODES:
        needs_key = settings.get("AUTH_MODE") == "api-key"
        request = bench.raw_request(bench.COLD_PORT, bench.handshake(modern), key if needs_key else None, modern)
        runs = [one_start(binary, settings, request) for _ in range(args.runs)]
        med = {field: statistics.median(run[field] for run in runs) for field in runs[0]}
        print(f"| {name} | {med['total']:.1f} | {med['built']:.1f} | {med['reads']:.1f} | {med['request']:.1f} "
              f"| {med['calls']:.0f} / {med['trips']:.0f} | {med['rest']:.1f} |")


if __name__ == "__main__":
    main()
