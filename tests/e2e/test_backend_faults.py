"""Backends that fail, lie and hang, against GATEWAY_URL_FAULTS (infra/backends.faults.json, breaker settings
GATEWAY_BREAKER_FAILURES=3 / GATEWAY_BREAKER_OPEN_SECS=3 / GATEWAY_BREAKER_HALF_OPEN_SUCCESSES=2).

The fault backend (tests/backends/fault_server.py, FAULT_SERVER_URL) is configured several times, once per
fault, so each fault has its own circuit breaker: backend `slow` is called through `slow_slow`, `http500`
through `http500_http_500`, and so on. `demo` is the healthy Python demo backend; `legacy`/`legacyauto` are
the demo backend over the 2024-11-05 HTTP+SSE transport; `secured`/`oauthed` need credentials the gateway
reads from Secrets Manager (moto, seeded by infra/seed.py).

Every request carries a client bearer token and API key: the fault backend records the headers it receives,
and none of them may ever carry those.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.client import Client

from conftest import HTTP_TIMEOUT, Session, json_body, mcp_url, open_session, rpc_error
from emulator import EmulatorRetry, sdk_transport

FAULTS_URL = os.environ.get("GATEWAY_URL_FAULTS", "http://127.0.0.1:9010").rstrip("/")
FAULT_SERVER = os.environ.get("FAULT_SERVER_URL", "http://127.0.0.1:3011").rstrip("/")
ROOT = Path(__file__).resolve().parents[2]
OPEN_SECS = 3
FAILURES = 3

CLIENT_TOKEN = f"client-bearer-{secrets.token_hex(12)}"
CLIENT_KEY = f"client-apikey-{secrets.token_hex(12)}"


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    """Overrides conftest's client: every request carries the client's own credentials."""
    headers = {"Authorization": f"Bearer {CLIENT_TOKEN}", "X-API-Key": CLIENT_KEY}
    timeout = httpx2.Timeout(HTTP_TIMEOUT)
    async with httpx2.AsyncClient(timeout=timeout, headers=headers, transport=EmulatorRetry()) as client:
        yield client


async def session(http: httpx2.AsyncClient) -> Session:
    return await open_session(http, FAULTS_URL)


async def call(s: Session, name: str, arguments: dict[str, Any] | None = None) -> tuple[int, httpx2.Response]:
    return await s.call("tools/call", {"name": name, "arguments": arguments or {}})


async def tool_result(s: Session, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return await s.result("tools/call", {"name": name, "arguments": arguments or {}})


def error_text(result: dict[str, Any]) -> str:
    assert result.get("isError") is True, result
    return " ".join(c.get("text", "") for c in result["content"])


def ok_text(result: dict[str, Any]) -> str:
    assert not result.get("isError"), result
    return result["content"][0]["text"]


async def tool_names(s: Session) -> list[str]:
    result = await s.result("tools/list", {})
    assert "nextCursor" not in result, "tools come in one page"
    return [t["name"] for t in result["tools"]]


async def instance_view(http: httpx2.AsyncClient) -> dict[str, Any]:
    resp = await http.get(f"{FAULTS_URL}/mcp/health")
    body = json_body(resp)
    assert resp.status_code in (200, 503), body
    return body


async def breaker(http: httpx2.AsyncClient, backend: str) -> dict[str, Any]:
    return (await instance_view(http))["backends"][backend]["breaker"]


async def wait_until_not_open(http: httpx2.AsyncClient, backend: str) -> None:
    """A breaker left open by an earlier run or test: wait it out (bounded)."""
    for _ in range(int((OPEN_SECS + 2) / 0.25)):
        if (await breaker(http, backend))["state"] != "open":
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"breaker of {backend} stays open")


TRANSPORT_FAULTS = [
    pytest.param("slow", "slow_slow", {"seconds": 30}, "timed out after 1.5s", id="slow"),
    pytest.param("http500", "http500_http_500", {}, "answered HTTP 500", id="http-500"),
    pytest.param("badjson", "badjson_invalid_json", {}, "body is not JSON", id="invalid-json"),
    pytest.param("dropsse", "dropsse_drop_sse", {}, "broke off", id="drop-mid-sse"),
    pytest.param("huge", "huge_huge", {}, "larger than 2097152 bytes", id="huge-body"),
]


@pytest.mark.parametrize(("backend", "tool", "arguments", "reason"), TRANSPORT_FAULTS)
async def test_fault_is_a_clear_tool_error_then_the_breaker_opens_and_recovers(
    http: httpx2.AsyncClient, backend: str, tool: str, arguments: dict, reason: str
):
    await wait_until_not_open(http, backend)
    s = await session(http)

    # The fault: a tool result the model can read, naming the backend and why; HTTP 200.
    started = time.monotonic()
    text = error_text(await tool_result(s, tool, arguments))
    assert f"Backend '{backend}' is unavailable" in text and reason in text, text
    assert time.monotonic() - started < 8, "bounded by the backend's timeout / size limit"

    # Other backends, and the same backend's other tools, keep working.
    assert ok_text(await tool_result(s, "demo_echo", {"text": "still here"})) == "still here"
    assert ok_text(await tool_result(s, f"{backend}_echo", {"text": "me too"})) == "me too"

    # Repeated failures open the breaker (per backend; the others stay closed).
    for _ in range(FAILURES):
        if (await breaker(http, backend))["state"] == "open":
            break
        error_text(await tool_result(s, tool, arguments))
    state = await breaker(http, backend)
    assert state["state"] == "open" and 0 < state["retryInMs"] <= OPEN_SECS * 1000, state
    assert (await breaker(http, "demo"))["state"] == "closed"

    # While open: its tools are left out of lists, calls fail fast naming the backend.
    names = await tool_names(s)
    assert "demo_echo" in names and not [n for n in names if n.startswith(f"{backend}_")], names
    started = time.monotonic()
    text = error_text(await tool_result(s, tool, arguments))
    assert time.monotonic() - started < 1.0, "an open breaker pays no timeout"
    assert f"Backend '{backend}' is unavailable" in text and "circuit breaker open" in text, text

    # After the open period: listed again, and successes close the breaker.
    await asyncio.sleep(state["retryInMs"] / 1000 + 0.3)
    assert f"{backend}_echo" in await tool_names(s)
    for _ in range(2):
        assert ok_text(await tool_result(s, f"{backend}_echo", {"text": "back"})) == "back"
    assert (await breaker(http, backend))["state"] == "closed"


async def test_json_rpc_error_is_relayed_and_does_not_open_the_breaker(http: httpx2.AsyncClient):
    s = await session(http)
    for _ in range(FAILURES + 1):
        rid, resp = await call(s, "rpcerror_rpc_error")
        error = rpc_error(resp, 200, -32001, rid)
        assert error["message"] == "fault server: deliberate JSON-RPC error", error
    # A JSON-RPC error is an answer from a healthy backend, not an outage.
    state = await breaker(http, "rpcerror")
    assert state["state"] == "closed" and state["recentFailures"] == 0, state
    assert "rpcerror_echo" in await tool_names(s)


async def test_name_collisions_are_settled_deterministically_and_reported(http: httpx2.AsyncClient):
    s = await session(http)
    names = await tool_names(s)
    assert len(names) == len(set(names)), names
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", n) for n in names), names
    renamed = {}
    for original in ("demo_echo", "demo_add"):
        assert names.count(original) == 1
        [other] = [n for n in names if re.fullmatch(rf"{original}-[0-9a-f]{{8}}", n)]
        renamed[original] = other
    assert "collide_only" in names
    # The backend listed first (demo) keeps the name; the other is reached by its new name.
    assert ok_text(await tool_result(s, "demo_echo", {"text": "from demo"})) == "from demo"
    assert ok_text(await tool_result(s, renamed["demo_echo"])) == "fault server: demo_echo"
    # The same names on the next listing (and on another session).
    again = await tool_names(await session(http))
    assert {renamed["demo_echo"], renamed["demo_add"]} <= set(again)
    # Reported by the instance that settled them, and with its probes.
    for body in (await instance_view(http), json_body(await http.get(f"{FAULTS_URL}/mcp/health?probe=1"))):
        reported = {c["name"]: c for c in body["collisions"]}
        assert reported["demo_echo"]["kept"] == {"backend": "demo", "name": "echo"}, body["collisions"]
        assert reported["demo_echo"]["renamed"] == [
            {"backend": "collide", "name": "demo_echo", "exposedAs": renamed["demo_echo"]}
        ], body["collisions"]


async def test_legacy_sse_backend_works_end_to_end(http: httpx2.AsyncClient):
    s = await session(http)
    names = await tool_names(s)
    assert {"legacy_echo", "legacy_add", "legacyauto_echo"} <= set(names), names
    assert ok_text(await tool_result(s, "legacy_add", {"a": 2, "b": 3})) == "5"
    assert ok_text(await tool_result(s, "legacyauto_echo", {"text": "via auto"})) == "via auto"
    result = await s.result("resources/read", {"uri": "demo://greeting"})
    assert result["contents"][0]["text"] == "Hello from the demo backend"
    view = await instance_view(http)
    assert view["backends"]["legacy"]["transport"] == "sse"
    assert view["backends"]["legacyauto"]["transport"] == "sse", "auto fell back to SSE and remembered it"
    health = json_body(await http.get(f"{FAULTS_URL}/mcp/health?probe=1"))["backends"]
    assert health["legacy"]["status"] == "up" and health["legacy"]["transport"] == "sse", health["legacy"]
    # And through the official MCP client.
    async with Client(sdk_transport(mcp_url(FAULTS_URL)), mode="legacy", cache=None) as client:
        result = await client.call_tool("legacy_add", {"a": 20, "b": 22})
        assert result.content[0].text == "42"


async def test_backend_credentials_come_from_secrets_manager(http: httpx2.AsyncClient):
    s = await session(http)
    static = json.loads(ok_text(await tool_result(s, "secured_headers")))
    assert static["authorization"] == "Bearer fault-static-token", static
    oauth = json.loads(ok_text(await tool_result(s, "oauthed_headers")))
    assert oauth["authorization"].startswith("Bearer ") and oauth["authorization"] != static["authorization"]
    # The mcp function's probes present the gateway's own credential, so they prove it works.
    health = json_body(await http.get(f"{FAULTS_URL}/mcp/health?probe=1"))["backends"]
    for name in ("secured", "oauthed"):
        assert health[name]["status"] == "up" and health[name].get("toolCount", 0) >= 1, health[name]
        assert "authCheck" not in health[name], health[name]


async def test_client_bearer_token_never_reaches_a_backend(http: httpx2.AsyncClient):
    await http.delete(f"{FAULT_SERVER}/_recorded")
    s = await session(http)
    await tool_names(s)
    for name in ("secured_echo", "oauthed_echo", "rpcerror_echo", "collide_only"):
        await tool_result(s, name, {"text": "x"})
    whoami = json.loads(ok_text(await tool_result(s, "demo_whoami")))
    recorded = json_body(await http.get(f"{FAULT_SERVER}/_recorded"))
    assert len(recorded) >= 5, recorded
    for headers in [r["headers"] for r in recorded] + [whoami]:
        leaked = {k: v for k, v in headers.items() if CLIENT_TOKEN in v or CLIENT_KEY in v}
        assert not leaked, f"client credential forwarded to a backend: {leaked}"
        assert "x-api-key" not in headers, headers


async def test_list_changed_on_a_backend_stream_refreshes_the_cached_list(http: httpx2.AsyncClient):
    s = await session(http)
    new = f"fresh_{secrets.token_hex(4)}"
    assert f"rpcerror_{new}" not in await tool_names(s)  # now cached
    assert ok_text(await tool_result(s, "rpcerror_add_tool", {"name": new})) == f"added {new}"
    # The backend announced notifications/tools/list_changed on the call's SSE stream: no TTL wait.
    assert f"rpcerror_{new}" in await tool_names(s)
    assert ok_text(await tool_result(s, f"rpcerror_{new}")) == f"{new}: ok"


SSRF_CASES = [
    pytest.param({"GATEWAY_BACKENDS_JSON": '{"backends":[{"id":"m","url":"http://169.254.169.254/latest/meta-data/"}]}',
                  "GATEWAY_ALLOW_PRIVATE_BACKENDS": "1", "GATEWAY_ALLOW_LOOPBACK_BACKENDS": "1"},
                 ["GATEWAY_BACKENDS_JSON", "backends[0].url", "169.254.169.254", "never allowed"], id="metadata-v4"),
    pytest.param({"GATEWAY_BACKENDS_JSON": '{"backends":[{"id":"m","url":"http://[fd00:ec2::254]/"}]}',
                  "GATEWAY_ALLOW_PRIVATE_BACKENDS": "1"},
                 ["backends[0].url", "fd00:ec2::254", "never allowed"], id="metadata-v6"),
    pytest.param({"GATEWAY_BACKENDS_JSON": '{"backends":[{"id":"p","url":"http://10.1.2.3/mcp"}]}'},
                 ["backends[0].url", "10.1.2.3", "GATEWAY_ALLOW_PRIVATE_BACKENDS=1"], id="private"),
    pytest.param({"GATEWAY_BACKENDS_JSON": '{"backends":[{"id":"l","url":"http://127.0.0.1:3002/mcp"}]}'},
                 ["backends[0].url", "GATEWAY_ALLOW_LOOPBACK_BACKENDS=1"], id="loopback"),
    pytest.param({"GATEWAY_BACKENDS_JSON": json.dumps({"backends": [{"id": "o", "url": "https://mcp.example.com/mcp",
                  "auth": {"type": "oauth-client-credentials", "tokenUrl": "http://169.254.169.254/token",
                           "clientId": "gw", "secret": "s"}}]})},
                 ["backends[0].auth.tokenUrl", "never allowed"], id="token-url"),
    pytest.param({"GATEWAY_BACKENDS_JSON": '{"backends":[]}', "AUTH_MODE": "oauth",
                  "OAUTH_ISSUER": "https://id.example.com", "GATEWAY_RESOURCE_URI": "https://gw.example.com/mcp",
                  "OAUTH_JWKS_URI": "https://169.254.169.254/jwks.json"},
                 ["OAUTH_JWKS_URI", "never allowed"], id="jwks-url"),
]


@pytest.mark.parametrize(("env", "expected"), SSRF_CASES)
def test_ssrf_configurations_stop_the_function_at_cold_start(env: dict[str, str], expected: list[str]):
    binary = ROOT / "target" / "debug" / "mcp"
    if not binary.exists():
        pytest.skip(f"{binary} not built (cargo build --workspace)")
    clean = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", **env}
    done = subprocess.run([str(binary)], env=clean, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    for needle in expected:
        assert needle in output, f"{needle!r} missing from: {output}"


def test_nothing_panicked():
    log = ROOT / ".run" / "gateway-9010.log"
    if not log.exists() or FAULTS_URL != "http://127.0.0.1:9010":
        pytest.skip("no local log for this gateway")
    text = log.read_text(errors="replace")
    assert "panicked at" not in text, text[text.find("panicked at") - 2000:][:4000]
