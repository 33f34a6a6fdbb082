"""Helpers and fixtures for the gateway end-to-end tests.

The gateway must already run (cargo lambda watch):
  GATEWAY_URL         primary instance               (default http://127.0.0.1:9000)
  GATEWAY_URL_2       second process, same config    (default http://127.0.0.1:9001)
  GATEWAY_URL_FAULTY  config with hang + dead backends (default http://127.0.0.1:9002)
  GATEWAY_URL_LITE    lite listing, meta-tools, result cache, api-key auth (default http://127.0.0.1:9013)
  GATEWAY_URL_STREAM, GATEWAY_URL_STREAM_2  two processes of a streaming deployment (9014, 9015)
  GATEWAY_URL_PLAIN_STREAM  the plain server, streaming (9023)
  E2E_HTTP_TIMEOUT    seconds per HTTP request (default 120: the first request to a function under
                      `cargo lambda watch` may compile it)
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

import emulator
import long_calls
from emulator import EmulatorRetry

GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://127.0.0.1:9000").rstrip("/")
GATEWAY_URL_2 = os.environ.get("GATEWAY_URL_2", "http://127.0.0.1:9001").rstrip("/")
GATEWAY_URL_FAULTY = os.environ.get("GATEWAY_URL_FAULTY", "http://127.0.0.1:9002").rstrip("/")
HTTP_TIMEOUT = float(os.environ.get("E2E_HTTP_TIMEOUT", "120"))

LATEST = "2025-11-25"
SUPPORTED_VERSIONS = ["2025-03-26", "2025-06-18", "2025-11-25"]
ACCEPT_BOTH = "application/json, text/event-stream"

# Demo backends (infra/local-stack.sh): what the gateway must expose from them.
EVERYTHING_DOC_URIS = {
    f"demo://resource/static/document/{name}"
    for name in (
        "architecture.md", "extension.md", "features.md", "how-it-works.md",
        "instructions.md", "startup.md", "structure.md",
    )
}
DEMO_RESOURCE_URIS = {"demo://greeting"} | {f"demo://items/{n}" for n in range(1, 13)}


def mcp_url(base: str) -> str:
    return f"{base}/mcp"


def base_headers(session_id: str | None = None, protocol_version: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
    if session_id is not None:
        headers["Mcp-Session-Id"] = session_id
    if protocol_version is not None:
        headers["MCP-Protocol-Version"] = protocol_version
    return headers


def request(method: str, params: dict[str, Any] | None = None, id: int | str = 1) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def initialize_params(version: str = LATEST) -> dict[str, Any]:
    return {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "gateway-e2e", "version": "0.1.0"}}


def json_body(resp: httpx2.Response) -> Any:
    """The response's JSON body; asserts the gateway labelled it application/json."""
    ctype = resp.headers.get("content-type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", (
        f"expected application/json, got {ctype!r} (HTTP {resp.status_code}): {resp.text[:500]}"
    )
    return resp.json()


def rpc_result(resp: httpx2.Response, id: int | str = 1) -> dict[str, Any]:
    """Assert a 200 JSON-RPC success for request `id` and return its result."""
    body = json_body(resp)
    assert resp.status_code == 200, f"HTTP {resp.status_code}: {body}"
    assert body.get("jsonrpc") == "2.0" and body.get("id") == id, body
    assert "error" not in body, body
    return body["result"]


def rpc_error(resp: httpx2.Response, status: int, code: int, id: int | str | None = 1) -> dict[str, Any]:
    """Assert a JSON-RPC error with HTTP `status`, JSON-RPC `code` and response `id`; return the error."""
    body = json_body(resp)
    assert resp.status_code == status, f"expected HTTP {status}, got {resp.status_code}: {body}"
    assert body.get("jsonrpc") == "2.0", body
    assert body.get("id") == id, f"expected id {id!r}: {body}"
    assert "result" not in body, body
    assert body["error"]["code"] == code, f"expected code {code}: {body}"
    assert isinstance(body["error"].get("message"), str), body
    return body["error"]


@dataclass
class Session:
    base: str
    session_id: str
    protocol_version: str
    init_result: dict[str, Any]
    http: httpx2.AsyncClient = field(repr=False)
    next_id: int = 100

    def headers(self, **extra: str) -> dict[str, str]:
        # 2025-03-26 predates the MCP-Protocol-Version header; later versions MUST send it.
        pv = None if self.protocol_version == "2025-03-26" else self.protocol_version
        return {**base_headers(self.session_id, pv), **extra}

    async def post(self, payload: Any, *, headers: dict[str, str] | None = None, base: str | None = None):
        return await self.http.post(
            mcp_url(base or self.base), content=json.dumps(payload).encode(), headers=headers or self.headers()
        )

    async def call(self, method: str, params: dict[str, Any] | None = None, *, base: str | None = None):
        """Send one request in this session; return (request id, HTTP response)."""
        self.next_id += 1
        return self.next_id, await self.post(request(method, params, self.next_id), base=base)

    async def result(self, method: str, params: dict[str, Any] | None = None, *, base: str | None = None):
        rid, resp = await self.call(method, params, base=base)
        return rpc_result(resp, rid)

    async def list_all(self, method: str, key: str, *, base: str | None = None) -> tuple[list[dict], int]:
        """Follow nextCursor to the end; return (all items, number of pages)."""
        items: list[dict] = []
        cursor: str | None = None
        for pages in range(1, 101):
            result = await self.result(method, {"cursor": cursor} if cursor else {}, base=base)
            items.extend(result[key])
            cursor = result.get("nextCursor")
            if not cursor:
                return items, pages
            assert isinstance(cursor, str), result
        raise AssertionError(f"{method}: more than 100 pages, cursor loop?")

    async def delete(self, *, base: str | None = None) -> httpx2.Response:
        return await self.http.delete(mcp_url(base or self.base), headers=self.headers())


async def open_session(http: httpx2.AsyncClient, base: str, version: str = LATEST) -> Session:
    """initialize + notifications/initialized; asserts the handshake succeeded."""
    resp = await http.post(
        mcp_url(base), content=json.dumps(request("initialize", initialize_params(version), 1)).encode(),
        headers=base_headers(),
    )
    result = rpc_result(resp, 1)
    session_id = resp.headers.get("mcp-session-id")
    assert session_id, f"initialize returned no Mcp-Session-Id: {dict(resp.headers)}"
    session = Session(base, session_id, result["protocolVersion"], result, http)
    ack = await session.post(notification("notifications/initialized"))
    assert ack.status_code == 202, f"notifications/initialized: HTTP {ack.status_code} {ack.text[:300]}"
    return session


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(HTTP_TIMEOUT), transport=EmulatorRetry()) as client:
        yield client


@pytest.fixture
async def initialized_session(http: httpx2.AsyncClient) -> AsyncIterator[Session]:
    """A fresh 2025-11-25 session on GATEWAY_URL, deleted afterwards."""
    session = await open_session(http, GATEWAY_URL)
    yield session
    try:
        await session.delete()  # best effort: the test may have deleted it already
    except httpx2.HTTPError:
        pass


def pytest_collection_modifyitems(session, config, items) -> None:
    """The long calls run beside the whole session when their check (the last test) is part of it."""
    if any(getattr(item.module, "__name__", "") == "test_zz_long_calls" for item in items):
        long_calls.CALLS.start()


def pytest_sessionfinish(session, exitstatus) -> None:
    long_calls.CALLS.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(f"cargo lambda watch lost responses resent by the tests: {emulator.resent}")
