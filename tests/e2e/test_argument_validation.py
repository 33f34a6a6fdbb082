"""Tool-argument validation against GATEWAY_URL_FAULTS: the `strict` backend (the fault server's `strict` tool,
exposed as `strict_strict`) has a strict inputSchema, and the fault server records every JSON-RPC request it
gets. Invalid arguments, from /mcp or from code, get an isError result naming the field, and never reach it."""

from __future__ import annotations

import os
from typing import Any

import httpx2

from conftest import Session, json_body, open_session

FAULTS_URL = os.environ.get("GATEWAY_URL_FAULTS", "http://127.0.0.1:9010").rstrip("/")
FAULT_SERVER = os.environ.get("FAULT_SERVER_URL", "http://127.0.0.1:3011").rstrip("/")
TOOL = "strict_strict"


async def strict_calls(http: httpx2.AsyncClient) -> list[dict[str, Any]]:
    """The tools/call requests the strict backend received."""
    recorded = json_body(await http.get(f"{FAULT_SERVER}/_recorded"))
    return [r for r in recorded if r.get("rpc") == "tools/call" and r.get("tool") == "strict"]


async def call(s: Session, arguments: Any) -> dict[str, Any]:
    return await s.result("tools/call", {"name": TOOL, "arguments": arguments})


def text_of(result: dict[str, Any]) -> str:
    return " ".join(c.get("text", "") for c in result["content"])


async def test_invalid_arguments_never_reach_the_backend(http: httpx2.AsyncClient):
    s = await open_session(http, FAULTS_URL)
    before = len(await strict_calls(http))
    cases = [
        ({"count": "three"}, "/count", "integer"),
        ({"count": 0}, "/count", "minimum"),
        ({}, "count", "required"),
        ({"count": 1, "label": "x" * 21}, "/label", "longer"),
        ({"count": 1, "extra": True}, "extra", "Additional properties"),
    ]
    for arguments, field, why in cases:
        result = await call(s, arguments)
        assert result.get("isError") is True, (arguments, result)
        message = text_of(result)
        assert message.startswith("Invalid arguments:") and field in message and why in message, (arguments, message)
    assert len(await strict_calls(http)) == before, "a call with invalid arguments reached the backend"


async def test_valid_arguments_reach_the_backend_once(http: httpx2.AsyncClient):
    s = await open_session(http, FAULTS_URL)
    before = len(await strict_calls(http))
    result = await call(s, {"count": 7, "label": "ok"})
    assert not result.get("isError"), result
    assert text_of(result) == "strict: count=7"
    calls = await strict_calls(http)
    assert len(calls) == before + 1 and calls[-1]["arguments"] == {"count": 7, "label": "ok"}, calls[before:]


async def test_messages_name_the_field_but_never_echo_the_value(http: httpx2.AsyncClient):
    s = await open_session(http, FAULTS_URL)
    secret = "sk-live-do-not-echo-0123456789"
    message = text_of(await call(s, {"count": 1, "label": secret}))
    assert "/label" in message and secret not in message, message


async def test_code_tool_calls_are_validated_too(http: httpx2.AsyncClient):
    before = len(await strict_calls(http))
    code = f"""
        const bad = await callTool('{TOOL}', {{count: 'many'}});
        const good = await callTool('{TOOL}', {{count: 2}});
        return {{bad, good}};
    """
    resp = await http.post(f"{FAULTS_URL}/api/code/execute", json={"code": code})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True, result
    bad, good = result["returnValue"]["bad"], result["returnValue"]["good"]
    assert bad["isError"] is True and "/count" in text_of(bad), bad
    assert text_of(good) == "strict: count=2", good
    calls = await strict_calls(http)
    assert [c["arguments"] for c in calls[before:]] == [{"count": 2}], calls[before:]
