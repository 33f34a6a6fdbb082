"""Helpers of the adversarial suite (test_adversarial.py): the instance it attacks, keys made through the
operator script, the official MCP client with a key, and raw HTTP for transport-level attacks.

GATEWAY_URL_ADVERSARIAL (default http://127.0.0.1:9017; infra/test.sh): api-key auth, backends
infra/backends.adversarial.json — `demo` (prefix demo), `everything` (prefix everything) and `collide`
(unprefixed; lists `demo_echo`, `demo_add`, `collide_only`, so its first two collide with demo's and are
renamed) —, RATE_LIMIT_PUBLIC=5, RATE_LIMIT_AUTH_FAILURES=5 and one trusted proxy hop
(RATE_LIMIT_TRUST_FORWARDED_FOR=1): the rightmost X-Forwarded-For entry is the client address, so every
test speaks from an address of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import HTTP_TIMEOUT, base_headers, initialize_params, mcp_url, request
from emulator import EmulatorRetry

ROOT = Path(__file__).resolve().parents[2]
ADV = os.environ.get("GATEWAY_URL_ADVERSARIAL", "http://127.0.0.1:9017").rstrip("/")
FAULT_SERVER = os.environ.get("FAULT_SERVER_URL", "http://127.0.0.1:3011").rstrip("/")
COLLIDE_PATH = "/names/demo_echo,demo_add,collide_only/mcp"


def renamed(backend: str, name: str) -> str:
    """The exposed name the gateway gives `name` of `backend` when another backend listed first wants it:
    `<name>-<8 hex digits of SHA-256(backend NUL name NUL)>` (shared/src/backend/naming.rs)."""
    digest = hashlib.sha256(f"{backend}\0{name}\0".encode()).hexdigest()[:8]
    return f"{name}-{digest}"


def address() -> str:
    """A client address of this test's own (IPv6 documentation range)."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@asynccontextmanager
async def client(key: str, mode: str = "legacy", base: str = ADV):
    """The official MCP client speaking to `base` with `key`."""
    http = httpx2.AsyncClient(
        headers=auth(key), transport=EmulatorRetry(), timeout=httpx2.Timeout(HTTP_TIMEOUT, read=300.0)
    )
    async with Client(streamable_http_client(mcp_url(base), http_client=http), mode=mode, cache=None) as c:
        yield c


class Raw:
    """A raw JSON-RPC session of one key: what a hostile client puts on the wire."""

    def __init__(self, http: httpx2.AsyncClient, key: str | None, base: str = ADV, version: str = "2025-11-25"):
        self.http, self.key, self.base, self.version = http, key, base, version
        self.session: str | None = None
        self.next_id = 1

    def headers(self, **extra: str) -> dict[str, str]:
        pv = None if self.version == "2025-03-26" else self.version
        return {**base_headers(self.session, pv if self.session else None), **auth(self.key), **extra}

    async def initialize(self) -> httpx2.Response:
        resp = await self.http.post(
            mcp_url(self.base), json=request("initialize", initialize_params(self.version)), headers=self.headers()
        )
        self.session = resp.headers.get("mcp-session-id")
        return resp

    async def post(self, payload: Any, **extra: str) -> httpx2.Response:
        return await self.http.post(mcp_url(self.base), content=json.dumps(payload), headers=self.headers(**extra))

    async def rpc(self, method: str, params: dict | None = None, **extra: str) -> dict[str, Any]:
        self.next_id += 1
        resp = await self.post(request(method, params or {}, self.next_id), **extra)
        return resp.json()

    async def get(self, path: str, **extra: str) -> httpx2.Response:
        return await self.http.get(f"{self.base}{path}", headers={**auth(self.key), **extra})


async def recorded(http: httpx2.AsyncClient, path: str = COLLIDE_PATH) -> list[dict[str, Any]]:
    """What the fault server received on `path` since it was last cleared."""
    return [r for r in (await http.get(f"{FAULT_SERVER}/_recorded")).json() if r["path"] == path]


async def all_resource_uris(c) -> set[str]:
    uris: set[str] = set()
    cursor = None
    for _ in range(50):
        page = await c.list_resources(cursor=cursor)
        uris |= {str(r.uri) for r in page.resources}
        if not (cursor := page.next_cursor):
            return uris
    raise AssertionError("more than 50 pages")


def error_of(body: dict) -> dict:
    assert "error" in body and "result" not in body, body
    return body["error"]


def start_with_backends(document: dict, **env: str) -> subprocess.CompletedProcess:
    """Starts the plain server with `document` as its backends; a refused configuration exits at once."""
    binary = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "mcp-gateway-server"
    assert binary.exists(), f"{binary} is built by infra/gateway.sh plain"
    variables = {**os.environ, "GATEWAY_BACKENDS_JSON": json.dumps(document), "GATEWAY_LISTEN": "127.0.0.1:1", **env}
    return subprocess.run([str(binary)], env=variables, capture_output=True, text=True, timeout=60)
