"""Helpers for the admin API tests: the two admin gateway processes started by infra/test.sh (one under
`cargo lambda watch`, one plain server) over a table and a key secret of their own, and the bootstrap admin
key made with infra/create-api-key.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

from conftest import base_headers, initialize_params, mcp_url, request
from emulator import SyncEmulatorRetry

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("GATEWAY_URL_ADMIN", "http://127.0.0.1:9021").rstrip("/")
ADMIN_URL_2 = os.environ.get("GATEWAY_URL_ADMIN_2", "http://127.0.0.1:9022").rstrip("/")
TABLE = os.environ.get("ADMIN_TABLE_NAME", "mcp-gateway-admin")
SECRET = os.environ.get("ADMIN_API_KEYS_SECRET_ID", "mcp-gateway/admin-api-keys")
# What the issue promises: a change applies everywhere within this many seconds.
CONVERGENCE_S = 5.0


def script_key(scopes: str) -> str:
    """A key made with the operator script in the admin instances' secret (announced in their table)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/create-api-key.py"), "--name", "e2e-admin", "--scopes", scopes,
         "--secret-id", SECRET, "--table", TABLE],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip()


def client() -> httpx2.Client:
    return httpx2.Client(timeout=httpx2.Timeout(120.0), transport=SyncEmulatorRetry())


class Admin:
    """The admin API of one gateway, with one key."""

    def __init__(self, http: httpx2.Client, base: str, key: str) -> None:
        self.http, self.base, self.key = http, base, key

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, f"{self.base}/admin/api{path}", json=body, headers=headers)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        resp = self.call(method, path, body)
        assert resp.status_code == status, f"{method} {path}: HTTP {resp.status_code} {resp.text}"
        return resp.json()


def wait_until(check, timeout: float, what: str, interval: float = 0.2) -> float:
    """Polls `check` until it returns true; returns the seconds it took, or fails naming `what`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def mcp_tools(http: httpx2.Client, base: str, key: str) -> set[str] | None:
    """The tool names a key sees on a gateway through a fresh session; None when the key is refused."""
    auth = {"Authorization": f"Bearer {key}"}
    resp = http.post(mcp_url(base), json=request("initialize", initialize_params()), headers={**base_headers(), **auth})
    if resp.status_code != 200:
        return None
    session = resp.headers["mcp-session-id"]
    listed = http.post(mcp_url(base), json=request("tools/list", {}, 2),
                       headers={**base_headers(session, "2025-11-25"), **auth})
    if listed.status_code == 401:  # refused between the two requests (a revocation just applied)
        return None
    assert listed.status_code == 200, listed.text
    http.delete(mcp_url(base), headers={**base_headers(session, "2025-11-25"), **auth})
    return {t["name"] for t in listed.json()["result"]["tools"]}


def mcp_call(http: httpx2.Client, base: str, key: str, name: str, arguments: dict) -> dict:
    """One tools/call in a fresh session: the JSON-RPC response."""
    auth = {"Authorization": f"Bearer {key}"}
    resp = http.post(mcp_url(base), json=request("initialize", initialize_params()), headers={**base_headers(), **auth})
    assert resp.status_code == 200, resp.text
    session = resp.headers["mcp-session-id"]
    called = http.post(mcp_url(base), json=request("tools/call", {"name": name, "arguments": arguments}, 3),
                       headers={**base_headers(session, "2025-11-25"), **auth})
    assert called.status_code == 200, called.text
    return called.json()
