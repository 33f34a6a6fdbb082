"""Two tool calls of several minutes (E2E_LONG_CALL_SECS, default 300) with progress every few seconds, started
when the end-to-end session starts and checked by the last test (test_zz_long_calls.py), so they cost the suite
no wall time of their own:
- the official Python client through the streaming gateway under `cargo lambda watch` (GATEWAY_URL_STREAM);
- the official TypeScript client through the plain server (GATEWAY_URL_PLAIN_STREAM).
A buffered front door could carry neither: API Gateway's HTTP API ends every request at 30 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".venv" / "bin" / "node"
TS_CLIENT = ROOT / "tests" / "clients" / "ts_stream_client.mjs"

STREAM_URL = os.environ.get("GATEWAY_URL_STREAM", "http://127.0.0.1:9014").rstrip("/")
PLAIN_URL = os.environ.get("GATEWAY_URL_PLAIN_STREAM", "http://127.0.0.1:9023").rstrip("/")
SECONDS = float(os.environ.get("E2E_LONG_CALL_SECS", "300"))
EVERY = 5.0


class LongCalls:
    def __init__(self) -> None:
        self.python: dict[str, Any] = {}
        self.thread: threading.Thread | None = None
        self.ts: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._python()), name="long-call", daemon=True)
        self.thread.start()
        self.ts = subprocess.Popen(
            [str(NODE), str(TS_CLIENT), "long", f"{PLAIN_URL}/mcp", str(SECONDS), str(EVERY)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip

    async def _python(self) -> None:
        progress: list[tuple[float, float]] = []
        started = time.monotonic()

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((time.monotonic() - started, value))

        try:
            async with Client(streamable_http_client(f"{STREAM_URL}/mcp"), mode="legacy") as client:
                result = await client.call_tool(
                    "stream_long_task", {"seconds": SECONDS, "every": EVERY}, progress_callback=on_progress
                )
            texts = " ".join(c.text for c in result.content if isinstance(c, TextContent))
            self.python = {"ok": not result.is_error, "text": texts, "progress": progress}
        except Exception as error:  # noqa: BLE001 - reported by the test that checks it
            self.python = {"ok": False, "error": repr(error), "progress": progress}
        self.python["elapsed"] = time.monotonic() - started

    def python_result(self, timeout: float) -> dict[str, Any]:
        assert self.thread is not None, "the long calls were never started"
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the Python long call did not end within {timeout} s more"
        return self.python

    def ts_result(self, timeout: float) -> dict[str, Any]:
        assert self.ts is not None, "the long calls were never started"
        try:
            stdout, stderr = self.ts.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.ts.kill()
            raise AssertionError(f"the TypeScript long call did not end within {timeout} s more") from None
        assert self.ts.returncode == 0, f"TypeScript client exited {self.ts.returncode}: {stderr}"
        return json.loads(stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.ts is not None and self.ts.poll() is None:
            self.ts.kill()


CALLS = LongCalls()
