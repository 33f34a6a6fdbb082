#!/usr/bin/env python3
"""Timing process starts, for infra/bench.py and infra/bench_cold.py: to the first answered request on a
loopback port (polled over a bare socket: an HTTP library costs milliseconds per attempt), or to the first
response a Lambda function posts to a minimal Lambda Runtime API served here. Every loop is bounded in count
and time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def stop(proc: subprocess.Popen) -> None:
    """Stops `proc` and everything it started (it leads its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def answered(port: int, request: bytes) -> bool:
    """Whether `request` on `port` gets a 200 (a bare socket: an HTTP library costs milliseconds per attempt)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(request)
            return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def cold_start(command: list[str], env: dict[str, str], port: int, request: bytes, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            while not answered(port, request):
                assert proc.poll() is None, f"{command[0]} exited during start ({proc.returncode})"
                assert time.perf_counter() - started < 20, "no answer within 20 s"
                time.sleep(0.0002)
            times.append((time.perf_counter() - started) * 1000)
        finally:
            stop(proc)
        assert not answered(port, request), f"{command[0]}: port {port} still answers after it was stopped"
    return times


class RuntimeServer(ThreadingHTTPServer):
    """A minimal Lambda Runtime API for one process and one event. A new one per process: a poll of the
    previous process still in flight when it was stopped must not take the next process's event."""

    def __init__(self, event: bytes, port: int) -> None:
        super().__init__(("127.0.0.1", port), RuntimeApi)
        self.event, self.served, self.answered_at = event, False, None
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class RuntimeApi(BaseHTTPRequestHandler):
    """The two calls of the Lambda Runtime API a function makes for one event: next, then its response."""

    server: RuntimeServer

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:  # /2018-06-01/runtime/invocation/next
        if self.server.served:  # one event per process: later polls wait until the process is stopped
            time.sleep(30)
            return
        self.server.served = True
        self.send_response(200)
        deadline = int(time.time() * 1000) + 30_000
        for name, value in (("Lambda-Runtime-Aws-Request-Id", "bench-1"), ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:mcp"),
                            ("Content-Type", "application/json"), ("Content-Length", str(len(self.server.event)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(self.server.event)

    def do_POST(self) -> None:  # .../invocation/bench-1/response (or /error)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/response") and b'"statusCode":200' in body.replace(b" ", b""):
            self.server.answered_at = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def lambda_init(command: list[str], env: dict[str, str], event: bytes, port: int, runs: int) -> list[float]:
    """Process start of `command` (a Lambda function whose `AWS_LAMBDA_RUNTIME_API` is 127.0.0.1:`port`) to
    its first posted response to `event`, in ms, `runs` times: a new Runtime API server per process."""
    times = []
    for _ in range(runs):
        server = RuntimeServer(event, port)
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while server.answered_at is None:
                assert proc.poll() is None, f"{command[0]} exited during init ({proc.returncode})"
                assert time.perf_counter() - started < 20, "no response within 20 s"
                time.sleep(0.0002)
            times.append((server.answered_at - started) * 1000)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            server.close()
    return times
