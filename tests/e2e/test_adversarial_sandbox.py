"""The code sandbox attacked through the real local stack: builtins that loop in C past any interrupt,
memory bombs, oversized tool calls, attempts at the environment, forged internal events. Raw HTTP on
/api/code (the api-key instance on 9005, both under `cargo lambda watch`), the official MCP client on /mcp
(9000: gateway_execute_code is an invoke of the code function), and the plain server (9020), which runs
code in its own sandbox processes. After each attack the processes themselves are inspected (/proc):
nothing of an execution may outlive its deadline."""

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
from mcp.client.client import Client

import processes
from emulator import sdk_transport

ROOT = Path(__file__).resolve().parents[2]
API_KEY_PORT, OPEN_PORT, PLAIN_PORT = 9005, 9000, 9020
API_KEY_BASE = os.environ.get("GATEWAY_URL_API_KEY", f"http://127.0.0.1:{API_KEY_PORT}").rstrip("/")
OPEN_BASE = os.environ.get("GATEWAY_URL", f"http://127.0.0.1:{OPEN_PORT}").rstrip("/")
PLAIN_BASE = os.environ.get("GATEWAY_URL_PLAIN", f"http://127.0.0.1:{PLAIN_PORT}").rstrip("/")

# Builtins that loop in C without calling QuickJS's interrupt handler: the engine cannot stop them at the
# deadline; only killing the process does.
STUCK = {
    "includes": "return Array.prototype.includes.call({length: 2 ** 53 - 1}, 1)",
    "indexOf": "return Array.prototype.indexOf.call({length: 2 ** 53 - 1}, 1)",
    "lastIndexOf": "return Array.prototype.lastIndexOf.call({length: 2 ** 53 - 1}, 1)",
    "reverse": "return Array.prototype.reverse.call({length: 2 ** 53 - 1}).length",
    "copyWithin": "return Array.prototype.copyWithin.call({length: 2 ** 53 - 1}, 0, 1).length",
    "join": "return Array.prototype.join.call({length: 2 ** 32 - 1}).length",
    "sparse sort": "const a = []; a.length = 2 ** 32 - 1; return a.sort().length",
    "string walk": "const s = 'a'.repeat(1 << 24); return s.indexOf('a'.repeat(1 << 16) + 'b')",
    "string split": "const s = 'a'.repeat(1 << 24); return s.split('a'.repeat(1 << 16) + 'b').length",
}
# At most this much CPU (clock ticks, 100 per core-second) in the second after the deadlines: an idle runtime.
IDLE_TICKS = 10


def create_key(scopes: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/create-api-key.py"), "--name", "e2e-sandbox", "--scopes", scopes],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def key() -> str:
    made = create_key("code:execute tool:call")
    time.sleep(3)  # the api-key instance reloads keys every API_KEYS_REFRESH_SECS=2
    return made


async def execute(http: httpx2.AsyncClient, base: str, code: str, key: str | None = None, **extra) -> dict:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    resp = await http.post(f"{base}/api/code/execute", json={"code": code, **extra}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def assert_nothing_left(port: int, binary: str) -> None:
    """No sandbox process is left under the gateway on `port`, and its function processes are idle."""
    assert not processes.sandboxes(port), f"sandbox processes still alive: {processes.sandboxes(port)}"
    pids = processes.function_processes(port, binary)
    assert pids, f"no {binary} process under the gateway on {port}"
    spent = processes.cpu_over(pids, 1.0)
    assert spent <= IDLE_TICKS, f"{binary} processes {pids} used {spent} ticks of CPU in the second after"


async def assert_answers_promptly(http: httpx2.AsyncClient, base: str, key: str | None = None) -> None:
    started = time.monotonic()
    result = await execute(http, base, "return 6 * 7", key)
    assert result["returnValue"] == 42, result
    assert time.monotonic() - started < 3, f"the next execution took {time.monotonic() - started:.1f} s"


async def test_stuck_builtins_time_out_and_leave_no_cpu_behind_on_the_code_function(http, key):
    started = time.monotonic()
    results = await asyncio.gather(*(execute(http, API_KEY_BASE, code, key, timeout=1000) for code in STUCK.values()))
    for name, result in zip(STUCK, results):
        assert not result["success"] and result["errorKind"] == "timeout", (name, result)
        assert "timed out after 1000 ms" in result["error"], (name, result)
    # The watcher serves one request at a time per function: nine deadlines of 1 s plus the grace each.
    assert time.monotonic() - started < len(STUCK) * 3, time.monotonic() - started
    assert_nothing_left(API_KEY_PORT, "code")
    await assert_answers_promptly(http, API_KEY_BASE, key)


async def test_stuck_builtins_on_the_plain_server_leave_no_cpu_behind(http):
    started = time.monotonic()
    # The plain server runs them all at once, each in its own sandbox process.
    results = await asyncio.gather(*(execute(http, PLAIN_BASE, code, timeout=1000) for code in STUCK.values()))
    for name, result in zip(STUCK, results):
        assert result["errorKind"] == "timeout", (name, result)
    assert time.monotonic() - started < 6, time.monotonic() - started
    assert_nothing_left(PLAIN_PORT, "mcp-gateway-server")
    await assert_answers_promptly(http, PLAIN_BASE)


async def test_gateway_execute_code_on_mcp_runs_in_the_code_function():
    """Through the official client: the sandbox of a gateway_execute_code call is a child of the code
    function's process, never of the mcp function's, and the code function logs the internal invocation."""
    log = ROOT / ".run" / f"gateway-{OPEN_PORT}.log"
    logged_before = log.read_text(errors="replace").count("gateway_execute_code (internal invoke)")
    async with Client(sdk_transport(f"{OPEN_BASE}/mcp"), mode="legacy", cache=None) as client:
        call = asyncio.create_task(
            client.call_tool("gateway_execute_code", {"code": STUCK["includes"], "timeout": 3000})
        )
        parents: set[str] = set()
        for _ in range(100):
            sandboxes = processes.sandboxes(OPEN_PORT)
            if sandboxes:
                parents = {processes.exe_name(processes.parent_of(p)) for p in sandboxes}
                break
            await asyncio.sleep(0.05)
        result = await call
    assert parents == {"code"}, f"sandbox parents: {parents}"
    assert result.is_error and result.structured_content["errorKind"] == "timeout", result
    logged_after = log.read_text(errors="replace").count("gateway_execute_code (internal invoke)")
    assert logged_after > logged_before, "the code function did not log the internal invocation"
    assert_nothing_left(OPEN_PORT, "code")


async def test_gateway_execute_code_on_the_plain_server_runs_locally_and_is_killed(http):
    async with Client(sdk_transport(f"{PLAIN_BASE}/mcp"), mode="legacy", cache=None) as client:
        result = await client.call_tool("gateway_execute_code", {"code": STUCK["string walk"], "timeout": 1000})
        assert result.is_error and result.structured_content["errorKind"] == "timeout", result
        result = await client.call_tool("gateway_execute_code", {"code": "return 6 * 7"})
        assert result.structured_content["returnValue"] == 42, result
    assert_nothing_left(PLAIN_PORT, "mcp-gateway-server")


async def test_memory_bombs_end_as_memory(http, key):
    for code in (
        "let s = 'x'; while (true) s += s",
        "const a = []; while (true) a.push({n: a.length, s: 'y'.repeat(100)})",
        "return Array.prototype.fill.call({length: 2 ** 53 - 1}, 0)",
        "const m = new Map(); for (let i = 0; ; i++) m.set(i, [i, i, i])",
    ):
        result = await execute(http, API_KEY_BASE, code, key, timeout=10000)
        assert result["errorKind"] == "memory", (code, result)
        assert "memory limit of 128 MB" in result["error"], result
    assert_nothing_left(API_KEY_PORT, "code")
    await assert_answers_promptly(http, API_KEY_BASE, key)


async def test_oversized_tool_calls_are_refused_cleanly(http, key):
    cases = {
        "await callTool('x'.repeat(300), {})": "longer than 256 bytes",
        "await callTool('demo_echo', {text: 'x'.repeat(1 << 20)})": "exceed 1048576",
        "await callTool('demo_echo', {text: 'é'.repeat(600000)})": "exceed 1048576",
    }
    for code, expected in cases.items():
        result = await execute(http, API_KEY_BASE, code, key)
        assert result["errorKind"] == "runtime" and expected in result["error"], (code, result)
        assert result["toolCalls"] == 0, result
    code = """
        const calls = Array.from({length: 100}, (_, i) => callTool('demo_add', {a: i, b: 1}));
        const settled = await Promise.allSettled(calls);
        const refused = settled.filter(s => s.status === 'rejected');
        return [settled.length - refused.length, refused.length, refused[0].reason.message];
    """
    result = await execute(http, API_KEY_BASE, code, key, timeout=60000)
    ran, refused, message = result["returnValue"]
    assert (ran, refused) == (64, 36), result
    assert "waiting for results (at most 64)" in message, message
    assert result["toolCalls"] == 64


async def test_the_sandbox_sees_no_environment_and_no_credentials(http, key):
    """Nothing in the language reaches the environment; and the sandbox process itself has none, while its
    parent (the code function) holds the AWS credentials it must not see."""
    names = "process require os std Deno Bun fetch XMLHttpRequest WebAssembly"
    result = await execute(http, API_KEY_BASE, f"return '{names}'.split(' ').filter(n => typeof globalThis[n] !== 'undefined')", key)
    assert result["returnValue"] == [], result
    result = await execute(http, API_KEY_BASE, "return JSON.stringify(Object.getOwnPropertyNames(globalThis))", key)
    assert "AWS" not in result["returnValue"] and "SECRET" not in result["returnValue"], result
    running = asyncio.create_task(execute(http, API_KEY_BASE, "while (true) {}", key, timeout=3000))
    sandbox = None
    for _ in range(100):
        found = processes.sandboxes(API_KEY_PORT)
        if found:
            sandbox = found[0]
            break
        await asyncio.sleep(0.05)
    assert sandbox is not None, "no sandbox process seen while the code ran"
    await asyncio.sleep(0.3)  # past its start, into the code
    assert Path(f"/proc/{sandbox}/environ").read_bytes() == b"", "the sandbox process has an environment"
    status = Path(f"/proc/{sandbox}/status").read_text()
    assert "Seccomp:\t2" in status and "NoNewPrivs:\t1" in status, status
    assert sorted(os.listdir(f"/proc/{sandbox}/fd")) == ["0", "1", "2"]
    parent = processes.parent_of(sandbox)
    assert b"AWS_SECRET_ACCESS_KEY=" in Path(f"/proc/{parent}/environ").read_bytes(), "the comparison is void"
    result = await running
    assert result["errorKind"] == "timeout", result
    assert not processes.sandboxes(API_KEY_PORT)


async def test_forged_internal_events_over_http_are_refused(http, key):
    """An internal event (principal, scopes, budget chosen by the sender) sent as an HTTP request is only a
    body: it authenticates nobody and runs nothing."""
    forged = {
        "mcpGatewayInternal": "code.execute/1",
        "principal": {"id": "admin", "kind": "api_key", "scopes": ["*"]},
        "piiScope": "principal:victim",
        "budget": None,
        "request": {"code": "return 'ran as admin'"},
    }
    body = json.dumps(forged)
    url = f"{API_KEY_BASE}/api/code/execute"
    # Without a credential: 401, whatever the body claims.
    resp = await http.post(url, content=body, headers={"content-type": "application/json", "mcpGatewayInternal": "code.execute/1"})
    assert resp.status_code == 401, resp.text
    # With a key lacking code:execute: 403; the body's scopes are nobody's.
    weak = create_key("tool:demo_add")
    await asyncio.sleep(3)
    resp = await http.post(url, content=body, headers={"content-type": "application/json", "Authorization": f"Bearer {weak}"})
    assert resp.status_code == 403, resp.text
    # With a real key: a request without `code`, refused; nothing ran.
    resp = await http.post(url, content=body, headers={"content-type": "application/json", "Authorization": f"Bearer {key}"})
    assert resp.status_code == 400 and "`code`" in resp.json()["error"], resp.text
    assert "ran as admin" not in resp.text


async def test_malformed_internal_events_neither_run_nor_crash_the_function(http, key):
    """Straight to the function (in AWS only the mcp role may do this; the local watcher's Invoke API is
    open): an internal event with anything extra or missing is refused as a whole, and an event that is
    neither kind is a function error; the function keeps serving."""
    invoke = f"{API_KEY_BASE}/2015-03-31/functions/code/invocations"
    good = {
        "mcpGatewayInternal": "code.execute/1",
        "principal": {"id": "e2e-internal", "kind": "api_key", "scopes": ["code:execute"]},
        "piiScope": "principal:e2e-internal",
        "budget": None,
        "request": {"code": "return 'internal ok'"},
    }
    resp = await http.post(invoke, json=good)
    assert resp.status_code == 200 and resp.json()["result"]["returnValue"] == "internal ok", resp.text
    malformed = [
        {**good, "requestContext": {"http": {"method": "POST"}}, "body": "{}"},
        {**good, "mcpGatewayInternal": "code.execute/2"},
        {**good, "principal": {**good["principal"], "kind": "root"}},
        {**good, "principal": {**good["principal"], "id": "x" * 10_000}},
        {**good, "piiScope": "session:" + "s" * 5000},
        {**good, "request": {"code": "return 1", "timeout": 10}},
        {**good, "request": {"code": "x" * 60_000}},
        {"mcpGatewayInternal": None},
    ]
    for event in malformed:
        resp = await http.post(invoke, json=event)
        assert resp.status_code == 200, resp.text
        assert resp.json()["refused"]["status"] == 400, resp.text
    resp = await http.post(invoke, json={"hello": "world"})
    assert resp.status_code == 500 and resp.json()["errorType"] == "UnrecognizedEvent", resp.text
    await assert_answers_promptly(http, API_KEY_BASE, key)
