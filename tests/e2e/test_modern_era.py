"""The modern, stateless era (MCP 2026-07-28) on the same /mcp endpoint: envelope, header rules,
error codes with their exact HTTP status, result decoration, and the official client adopting it."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest
from mcp.client.client import Client

from conftest import ACCEPT_BOTH, GATEWAY_URL, mcp_url, rpc_error, rpc_result
from emulator import sdk_transport

MODERN = "2026-07-28"
URL = mcp_url(GATEWAY_URL)
SERVER_INFO = "io.modelcontextprotocol/serverInfo"


def envelope(version: str = MODERN, capabilities: Any = None) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {} if capabilities is None else capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "gateway-e2e", "version": "0"},
    }


def modern_request(method: str, params: dict[str, Any] | None = None, version: str = MODERN, id: int = 1):
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": {**(params or {}), "_meta": envelope(version)}}


def modern_headers(method: str, name: str | None = None, version: str = MODERN, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH, "MCP-Protocol-Version": version,
               "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return {**headers, **extra}


async def post(http: httpx2.AsyncClient, body: Any, headers: dict[str, str]) -> httpx2.Response:
    return await http.post(URL, content=json.dumps(body).encode(), headers=headers)


async def test_discover_lists_every_version_and_decorates_the_result(http):
    resp = await post(http, modern_request("server/discover"), modern_headers("server/discover"))
    result = rpc_result(resp)
    assert MODERN in result["supportedVersions"] and "2025-11-25" in result["supportedVersions"]
    assert "tools" in result["capabilities"] and "resources" in result["capabilities"]
    assert result["resultType"] == "complete"
    assert result["ttlMs"] >= 0 and result["cacheScope"] in ("public", "private")
    assert result["_meta"][SERVER_INFO]["name"]
    assert "mcp-session-id" not in resp.headers


async def test_tools_list_and_call_are_stateless(http):
    resp = await post(http, modern_request("tools/list"), modern_headers("tools/list"))
    result = rpc_result(resp)
    names = {t["name"] for t in result["tools"]}
    assert {"everything_echo", "demo_add"} <= names
    assert result["resultType"] == "complete" and result["ttlMs"] >= 0 and result["cacheScope"] == "private"
    call = modern_request("tools/call", {"name": "demo_add", "arguments": {"a": 20, "b": 22}}, id=2)
    result = rpc_result(await post(http, call, modern_headers("tools/call", "demo_add")), 2)
    assert result["resultType"] == "complete"
    assert "42" in json.dumps(result["content"])


async def test_mcp_name_may_be_base64_encoded(http):
    encoded = "=?base64?" + base64.b64encode(b"demo_echo").decode() + "?="
    call = modern_request("tools/call", {"name": "demo_echo", "arguments": {"text": "hi"}})
    result = rpc_result(await post(http, call, modern_headers("tools/call", encoded)))
    assert "hi" in json.dumps(result["content"])


async def test_resources_read_has_cache_directives(http):
    read = modern_request("resources/read", {"uri": "demo://greeting"})
    result = rpc_result(await post(http, read, modern_headers("resources/read", "demo://greeting")))
    assert result["contents"][0]["text"] == "Hello from the demo backend"
    assert result["ttlMs"] >= 0 and result["cacheScope"] in ("public", "private")


async def test_missing_resource_is_32602_with_400(http):
    read = modern_request("resources/read", {"uri": "demo://no-such-thing"})
    rpc_error(await post(http, read, modern_headers("resources/read", "demo://no-such-thing")), 400, -32602)


@pytest.mark.parametrize("params", [{}, {"_meta": {}}, {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}])
async def test_missing_envelope_is_32602_with_400(http, params):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}
    rpc_error(await post(http, body, modern_headers("tools/list")), 400, -32602)


@pytest.mark.parametrize(
    "headers",
    [
        modern_headers("tools/list", **{"MCP-Protocol-Version": "2026-07-29"}),
        {"Content-Type": "application/json", "Accept": ACCEPT_BOTH, "Mcp-Method": "tools/list"},
        modern_headers("prompts/list"),
        {"Content-Type": "application/json", "Accept": ACCEPT_BOTH, "MCP-Protocol-Version": MODERN},
    ],
    ids=["version-differs", "version-missing", "method-differs", "method-missing"],
)
async def test_header_rules_give_32020_with_400(http, headers):
    rpc_error(await post(http, modern_request("tools/list"), headers), 400, -32020)


@pytest.mark.parametrize("name", [None, "demo_add", "=?base64?not base64?="], ids=["missing", "differs", "malformed"])
async def test_mcp_name_rules_give_32020_with_400(http, name):
    call = modern_request("tools/call", {"name": "demo_echo", "arguments": {"text": "x"}})
    rpc_error(await post(http, call, modern_headers("tools/call", name)), 400, -32020)


async def test_unsupported_version_is_32022_naming_supported(http):
    body = modern_request("tools/list", version="2099-01-01")
    error = rpc_error(await post(http, body, modern_headers("tools/list", version="2099-01-01")), 400, -32022)
    assert MODERN in error["data"]["supported"] and error["data"]["requested"] == "2099-01-01"


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "no/such"])
async def test_removed_and_unknown_methods_are_404_32601(http, method):
    rpc_error(await post(http, modern_request(method), modern_headers(method)), 404, -32601)


async def test_unknown_tool_is_32602_with_400(http):
    call = modern_request("tools/call", {"name": "demo_nope", "arguments": {}})
    rpc_error(await post(http, call, modern_headers("tools/call", "demo_nope")), 400, -32602)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_are_405(http, method):
    resp = await http.request(method, URL, headers=modern_headers("tools/list"))
    assert resp.status_code == 405 and "POST" in resp.headers.get("allow", "")


async def test_notification_is_202_without_session(http):
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "_meta": envelope()}}
    resp = await post(http, note, modern_headers("notifications/cancelled"))
    assert resp.status_code == 202 and resp.content == b""


async def test_official_client_in_modern_mode():
    async with Client(sdk_transport(URL), mode=MODERN) as client:
        assert client.protocol_version == MODERN
        tools = await client.list_tools()
        assert {"everything_echo", "demo_add"} <= {t.name for t in tools.tools}
        result = await client.call_tool("demo_add", {"a": 1, "b": 2})
        assert not result.is_error and "3" in json.dumps([c.model_dump() for c in result.content])


async def test_auto_mode_adopts_the_modern_era():
    async with Client(sdk_transport(URL)) as client:
        assert client.protocol_version == MODERN
        prompt = await client.get_prompt("demo_summarize", {"topic": "lambda"})
        assert "lambda" in json.dumps(prompt.model_dump())
