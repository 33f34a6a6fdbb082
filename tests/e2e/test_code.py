"""Code execution (/api/code/*) on the api-key instance: callTool end to end against the real demo
backend, scopes per key (a key limited to one tool is refused another), discovery, limits and escapes
over HTTP, and the JSON error answers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = os.environ.get("GATEWAY_URL_API_KEY", "http://127.0.0.1:9005").rstrip("/")
EXECUTE = f"{BASE}/api/code/execute"


def create_key(scopes: str) -> str:
    """A new key through the admin script (stored hashed in Secrets Manager on moto)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/create-api-key.py"), "--name", "e2e-code", "--scopes", scopes],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    made = {
        "full": create_key("code:execute tool:call"),
        "adder": create_key("code:execute tool:demo_add"),
        "echo": create_key("code:execute tool:demo_echo"),
        "no_code": create_key("tool:call"),
    }
    time.sleep(3)  # the api-key instance reloads keys every API_KEYS_REFRESH_SECS=2
    return made


async def execute(http: httpx2.AsyncClient, key: str, code: str, **extra) -> dict:
    resp = await http.post(EXECUTE, json={"code": code, **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    result = resp.json()
    for field in ("success", "output", "hints", "executionTime"):
        assert field in result, result
    return result


async def test_call_tool_reaches_the_real_backend(http, keys):
    code = """
        const viaCall = await callTool('demo_add', {a: 2, b: 3});
        const viaHelper = await demo_add({a: 40, b: 2});
        console.log('sum', viaCall.structuredContent.result);
        return {call: viaCall, helper: viaHelper.structuredContent.result}
    """
    result = await execute(http, keys["full"], code)
    assert result["success"], result
    assert result["returnValue"]["helper"] == 42
    assert "5" in json.dumps(result["returnValue"]["call"]["content"])
    assert result["output"] == ["sum 5"]
    assert result["toolCalls"] == 2


async def test_ten_tool_calls_in_one_execution(http, keys):
    code = "const r = await Promise.all(Array.from({length: 10}, (_, i) => demo_add({a: i, b: i}))); " \
           "return r.map(x => x.structuredContent.result)"
    result = await execute(http, keys["adder"], code)
    assert result["returnValue"] == [2 * i for i in range(10)], result


async def test_scope_limited_key_is_refused_another_tool(http, keys):
    result = await execute(http, keys["echo"], "return await callTool('demo_add', {a: 1, b: 2})")
    assert not result["success"] and result["errorKind"] == "tool_not_found", result
    # The allowed tool works with the same key, and no helper exists for the forbidden one.
    result = await execute(http, keys["echo"], "const r = await demo_echo({text: 'hi'}); return [typeof demo_add, r.content[0].text]")
    assert result["returnValue"] == ["undefined", "hi"], result
    # Not allowed and unknown are the same answer (no oracle).
    unknown = await execute(http, keys["echo"], "return await callTool('demo_nope', {})")
    assert unknown["errorKind"] == "tool_not_found"


async def test_code_execute_scope_is_required(http, keys):
    resp = await http.post(EXECUTE, json={"code": "return 1"}, headers=auth(keys["no_code"]))
    assert resp.status_code == 403, resp.text
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]
    assert "code:execute" in resp.json()["error"]
    resp = await http.post(EXECUTE, json={"code": "return 1"})
    assert resp.status_code == 401 and "resource_metadata=" in resp.headers["www-authenticate"]
    assert resp.json()["error"]


async def test_bad_requests_get_clear_json_errors(http, keys):
    headers = auth(keys["full"])
    cases = [
        ({"content": "not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"code": 42}}, 400),
        ({"json": {"code": "return 1", "timeout": 10}}, 400),
        ({"json": {"code": "return 1", "context": [1]}}, 400),
        ({"json": {"code": "x" * 50_001}}, 413),
        ({"content": "code=1", "headers": {"content-type": "text/plain"}}, 415),
    ]
    for kwargs, status in cases:
        extra = kwargs.pop("headers", {})
        resp = await http.post(EXECUTE, headers={**headers, **extra}, **kwargs)
        assert resp.status_code == status, (kwargs, resp.text)
        assert isinstance(resp.json()["error"], str) and resp.json()["error"]
    resp = await http.get(EXECUTE, headers=headers)
    assert resp.status_code == 405 and "POST" in resp.headers["allow"]


async def test_escapes_are_contained_over_http(http, keys):
    key = keys["full"]
    cases = {
        "return require('fs')": "security",
        "return (function(){}).constructor('return process')()": "security",
        "return await import('fs')": "security",
        "while (true) {}": "timeout",
        "await new Promise(() => {})": "timeout",
        "let s = 'x'; while (true) s += s": "memory",
        "const x: number = 1": "syntax",
    }
    for code, kind in cases.items():
        result = await execute(http, key, code, timeout=1000)
        assert not result["success"] and result["errorKind"] == kind, (code, result)
        # No stack frames or host paths in error texts.
        assert not any(s in result["error"] for s in ("code.js:", "\n    at ", "/work", "/var/task")), result
        after = await execute(http, key, "return 6 * 7")
        assert after["returnValue"] == 42, (code, after)


async def test_context_and_limits(http, keys):
    result = await execute(http, keys["full"], "return [user, context.n]", context={"user": "bob", "n": 2})
    assert result["returnValue"] == ["bob", 2]
    result = await execute(http, keys["full"], "for (let i = 0; i < 3000; i++) console.log('y'.repeat(100)); return 'x'.repeat(200000)")
    assert result["success"]
    assert result["output"][-1].startswith("[Output truncated")
    assert result["returnValue"] == "[Return value too large]"


async def test_sdk_declares_only_callable_tools(http, keys):
    resp = await http.get(f"{BASE}/api/code/sdk", headers=auth(keys["adder"]))
    assert resp.status_code == 200, resp.text
    sdk = resp.text
    assert sdk.startswith("// Auto-generated MCP Tools SDK")
    assert "// === demo ===" in sdk
    assert "declare function demo_add(params: { a: number; b: number })" in sdk, sdk
    assert "demo_echo" not in sdk
    resp = await http.get(f"{BASE}/api/code/sdk", headers=auth(keys["no_code"]))
    assert resp.status_code == 403


async def test_tool_search(http, keys):
    url = f"{BASE}/api/code/tools/search"
    resp = await http.get(url, params={"query": "add", "detailLevel": "full_schema"}, headers=auth(keys["full"]))
    assert resp.status_code == 200, resp.text
    found = resp.json()
    assert found["tools"][0]["name"] == "demo_add"
    assert found["tools"][0]["inputSchema"]["required"] == ["a", "b"]
    resp = await http.get(url, params={"detailLevel": "name_only", "limit": 2}, headers=auth(keys["full"]))
    page = resp.json()
    assert len(page["tools"]) == 2 and page["hasMore"] and set(page["tools"][0]) == {"name"}
    resp = await http.get(url, params={"detailLevel": "everything"}, headers=auth(keys["full"]))
    assert resp.status_code == 400 and "detailLevel" in resp.json()["error"]
    # A limited key finds only its tool.
    resp = await http.get(url, params={"query": "demo"}, headers=auth(keys["echo"]))
    assert [t["name"] for t in resp.json()["tools"]] == ["demo_echo"]


async def test_executions_are_independent(http, keys):
    # Parallel executions from one key: each gets its own fresh sandbox.
    codes = [f"globalThis.mark = {i}; return globalThis.mark" for i in range(5)]
    results = await asyncio.gather(*(execute(http, keys["full"], code) for code in codes))
    assert [r["returnValue"] for r in results] == list(range(5))
    after = await execute(http, keys["full"], "return typeof globalThis.mark")
    assert after["returnValue"] == "undefined"


async def test_code_runs_as_a_gateway_tool_on_mcp(http):
    """The sandbox is also a tool on /mcp: listed only for callers holding code:execute, and its
    callTool reaches the real backend."""
    from conftest import GATEWAY_URL, open_session

    session = await open_session(http, GATEWAY_URL)
    tools = (await session.result("tools/list", {}))["tools"]
    assert "gateway_execute_code" in {t["name"] for t in tools}
    code = "const r = await callTool('demo_add', {a: 40, b: 2}); return r.content[0].text;"
    result = await session.result("tools/call", {"name": "gateway_execute_code", "arguments": {"code": code}})
    assert result.get("isError") is not True, result
    assert result["structuredContent"]["success"] is True and result["structuredContent"]["returnValue"] == "42"


async def test_output_and_return_value_leave_tokenized_and_tokens_resolve_in_later_calls(http, keys):
    """Console output and the return value are PII-tokenized in the caller's vault; a later execution by the
    same caller hands a token to a tool, and the backend receives the original value."""
    code = """
        console.log('write to carol.pii-code@example.com');
        return {email: 'dave.pii-code@example.org', note: 'no personal data here'};
    """
    result = await execute(http, keys["full"], code)
    assert result["success"], result
    printed, returned = json.dumps(result["output"]), json.dumps(result["returnValue"])
    assert "carol.pii-code@example.com" not in printed and "[EMAIL_" in printed, printed
    assert "dave.pii-code@example.org" not in returned, returned
    token = result["returnValue"]["email"]
    assert token.startswith("[EMAIL_") and result["returnValue"]["note"] == "no personal data here"
    # `length` counts what the backend received: the original address, not the token.
    again = await execute(http, keys["full"], f"return (await demo_length({{text: {json.dumps(token)}}})).content[0].text")
    assert again["returnValue"] == str(len("dave.pii-code@example.org")), again


async def test_pii_tokens_from_code_on_mcp_resolve_in_the_same_session(http):
    """gateway_execute_code on /mcp mints into the calling session's vault: a later tools/call in that session
    resolves the token."""
    from conftest import GATEWAY_URL, open_session

    session = await open_session(http, GATEWAY_URL)
    code = "return 'reach erin.pii-code@example.net'"
    result = await session.result("tools/call", {"name": "gateway_execute_code", "arguments": {"code": code}})
    returned = result["structuredContent"]["returnValue"]
    assert "erin.pii-code@example.net" not in json.dumps(result) and "[EMAIL_" in returned, result
    token = returned.removeprefix("reach ")
    counted = await session.result("tools/call", {"name": "demo_length", "arguments": {"text": token}})
    assert counted["content"][0]["text"] == str(len("erin.pii-code@example.net")), counted
