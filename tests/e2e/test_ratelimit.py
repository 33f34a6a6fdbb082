"""Distributed rate limiting on DynamoDB (moto): exact under concurrency across two gateway processes (in
exact and in leased mode), headers, Retry-After, window reset, per-tool limits, isolation between
principals, store-down modes.

Instances (infra/test.sh): 9007 and 9008 share moto, api-key auth, 50 requests per 10 s window per
principal, `demo_add` limited to 3; 9016 and 9019 are plain servers with the same limits in leased mode;
9004 / 9009 point at an AWS endpoint where nothing listens, failing open / closed."""

from __future__ import annotations

import asyncio
import json
import os
import time

import httpx2

from test_auth import create_key

LIMITED_A = os.environ.get("GATEWAY_URL_LIMITED", "http://127.0.0.1:9007").rstrip("/")
LIMITED_B = os.environ.get("GATEWAY_URL_LIMITED_2", "http://127.0.0.1:9008").rstrip("/")
LEASED_A = os.environ.get("GATEWAY_URL_LEASED", "http://127.0.0.1:9016").rstrip("/")
LEASED_B = os.environ.get("GATEWAY_URL_LEASED_2", "http://127.0.0.1:9019").rstrip("/")
STORE_DOWN_CLOSED = os.environ.get("GATEWAY_URL_STORE_DOWN_CLOSED", "http://127.0.0.1:9009").rstrip("/")
STORE_DOWN_OPEN = os.environ.get("GATEWAY_URL_STORE_DOWN_OPEN", "http://127.0.0.1:9004").rstrip("/")
WINDOW = 10
LIMIT = 50
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def headers(method: str, key: str | None = None, name: str | None = None) -> dict[str, str]:
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if key:
        h["Authorization"] = f"Bearer {key}"
    if name:
        h["Mcp-Name"] = name
    return h


async def notify(http: httpx2.AsyncClient, base: str, key: str | None = None) -> httpx2.Response:
    body = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "_meta": ENVELOPE}}
    return await http.post(f"{base}/mcp", content=json.dumps(body), headers=headers("notifications/cancelled", key))


async def fresh_key() -> str:
    key, _ = create_key("*")
    await asyncio.sleep(3)  # the instances reload keys every 2 s
    return key


async def window_start() -> None:
    """Wait for the start of a fresh window, so a burst does not straddle two."""
    await asyncio.sleep(WINDOW - time.time() % WINDOW + 0.05)


async def test_exact_under_concurrency_across_two_processes(http):
    key = await fresh_key()
    await window_start()
    burst = [notify(http, LIMITED_A if i % 2 else LIMITED_B, key) for i in range(200)]
    statuses = [r.status_code for r in await asyncio.gather(*burst)]
    assert statuses.count(202) == LIMIT, statuses
    assert statuses.count(429) == 200 - LIMIT, statuses


async def test_leased_mode_is_exact_under_a_saturating_burst_across_two_processes(http):
    """Slices leased by each process, spent locally: exactly the limit passes, and most requests cost no write."""
    key = await fresh_key()
    await window_start()
    writes_before = await update_items(http)
    burst = [notify(http, LEASED_A if i % 2 else LEASED_B, key) for i in range(200)]
    statuses = [r.status_code for r in await asyncio.gather(*burst)]
    assert statuses.count(202) == LIMIT, statuses
    assert statuses.count(429) == 200 - LIMIT, statuses
    writes = await update_items(http) - writes_before
    # Exact mode writes once per admitted request and once per refusal; leased mode once per slice, and
    # each process learns once that the window is full.
    assert writes < LIMIT, f"{writes} UpdateItem calls for {LIMIT} admitted requests"


async def update_items(http) -> int:
    """UpdateItem calls both leased processes sent so far (their own interceptor counts, on /metrics)."""
    total = 0
    for base in (LEASED_A, LEASED_B):
        text = (await http.get(f"{base}/metrics")).text
        for line in text.splitlines():
            if line.startswith('mcp_gateway_aws_calls_total{operation="UpdateItem"}'):
                total += int(line.rsplit(" ", 1)[1])
    return total


async def test_headers_retry_after_and_window_reset(http):
    key = await fresh_key()
    await window_start()
    first = await notify(http, LIMITED_A, key)
    assert first.status_code == 202
    assert first.headers["x-ratelimit-limit"] == str(LIMIT)
    assert first.headers["x-ratelimit-remaining"] == str(LIMIT - 1)
    reset = int(first.headers["x-ratelimit-reset"])
    assert reset % WINDOW == 0 and 0 < reset - time.time() <= WINDOW
    second = await notify(http, LIMITED_B, key)
    assert second.headers["x-ratelimit-remaining"] == str(LIMIT - 2), "the count is shared across processes"
    for _ in range(LIMIT - 2):
        assert (await notify(http, LIMITED_A, key)).status_code == 202
    refused = await notify(http, LIMITED_A, key)
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW and abs((time.time() + retry_after) - reset) <= 2
    error = refused.json()["error"]
    assert error["code"] == -32000 and "rate limit" in error["message"] and error["data"]["retryAfterSeconds"] >= 1
    assert refused.headers["x-ratelimit-remaining"] == "0"
    await asyncio.sleep(max(0.0, reset - time.time()) + 0.2)
    again = await notify(http, LIMITED_A, key)
    assert again.status_code == 202 and again.headers["x-ratelimit-remaining"] == str(LIMIT - 1)


async def test_principals_are_isolated(http):
    greedy, other = await fresh_key(), await fresh_key()
    await window_start()
    statuses = [(await notify(http, LIMITED_A, greedy)).status_code for _ in range(LIMIT + 1)]
    assert statuses[-1] == 429
    assert (await notify(http, LIMITED_B, other)).status_code == 202


async def test_per_tool_limit(http):
    key = await fresh_key()
    await window_start()

    async def call(name: str, arguments: dict) -> httpx2.Response:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": name, "arguments": arguments, "_meta": ENVELOPE}}
        return await http.post(f"{LIMITED_A}/mcp", content=json.dumps(body), headers=headers("tools/call", key, name))

    for _ in range(3):
        assert (await call("demo_add", {"a": 1, "b": 1})).status_code == 200
    limited = await call("demo_add", {"a": 1, "b": 1})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert limited.json()["id"] == 1
    assert (await call("demo_echo", {"text": "still fine"})).status_code == 200


async def test_failed_authentications_are_limited_by_address(http):
    # 9007 allows RATE_LIMIT_AUTH_FAILURES=20 per window per address; stay within two windows.
    await window_start()
    statuses = [(await notify(http, LIMITED_A, "mcpgw_" + "B" * 43)).status_code for _ in range(25)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 5, statuses


async def test_store_down_fails_closed_quickly_or_open_by_choice(http):
    closed = await notify(http, STORE_DOWN_CLOSED)
    assert closed.status_code == 503 and "rate limiter" in closed.json()["error"]["message"]
    opened = await notify(http, STORE_DOWN_OPEN)
    assert opened.status_code == 202


async def test_code_pays_per_tool_call_and_its_routes_are_limited(http):
    """/api/code/execute is admitted like /mcp (one count, headers), and every tool call the code makes costs
    one more count and pays the per-tool limit: code is no way around either."""
    key = await fresh_key()
    await window_start()
    code = """
        const out = [];
        for (let i = 0; i < 5; i++) {
            try { out.push((await demo_add({a: i, b: 1})).structuredContent.result); }
            catch (e) { out.push(String(e.message || e)); }
        }
        return out;
    """
    auth = {"Authorization": f"Bearer {key}"}
    resp = await http.post(f"{LIMITED_A}/api/code/execute", json={"code": code}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-ratelimit-limit"] == str(LIMIT)
    assert resp.headers["x-ratelimit-remaining"] == str(LIMIT - 1)
    out = resp.json()["returnValue"]
    assert out[:3] == [1, 2, 3], out
    assert all("rate limit exceeded" in str(refused) for refused in out[3:]), out
    after = await http.get(f"{LIMITED_B}/api/code/sdk", headers=auth)
    assert after.status_code == 200, after.text
    # 1 execute + 5 tool calls + this request, counted across both processes.
    assert after.headers["x-ratelimit-remaining"] == str(LIMIT - 7), dict(after.headers)


async def test_api_code_refuses_over_the_limit_with_429(http):
    key = await fresh_key()
    await window_start()
    auth = {"Authorization": f"Bearer {key}"}
    statuses = [(await http.get(f"{LIMITED_A}/api/code/sdk", headers=auth)).status_code for _ in range(LIMIT + 2)]
    assert statuses.count(200) == LIMIT and statuses[-2:] == [429, 429], statuses
    refused = await http.get(f"{LIMITED_A}/api/code/sdk", headers=auth)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) <= WINDOW, dict(refused.headers)
    assert refused.headers["content-type"].startswith("application/json")
    assert "rate limit" in refused.json()["error"]
