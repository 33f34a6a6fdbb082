"""Progressive disclosure end to end: the lite-mode instance (GATEWAY_URL_LITE, api-key auth,
GATEWAY_TOOLS_MODE=lite, GATEWAY_PINNED_TOOLS=demo_add, GATEWAY_RESULT_CACHE=annotated, result cache in
DynamoDB on moto) with the official Python client, in both eras: tools/list shows the meta-tools and the
pinned tool; search ranks the echo tools first; describe gives their schemas; gateway_call_tool calls and
shapes; gateway_call_tools runs calls in parallel with one failing cleanly; a key scoped to tool:demo_*
never sees or reaches another tool through any meta-tool; a cached call's second run does not reach the
backend (the demo backend counts its lookups), and the cache is per principal."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import mcp_url
from emulator import EmulatorRetry

ROOT = Path(__file__).resolve().parents[2]
LITE = os.environ.get("GATEWAY_URL_LITE", "http://127.0.0.1:9013").rstrip("/")
META = {"gateway_search_tools", "gateway_describe_tools", "gateway_call_tool", "gateway_call_tools"}
MODES = ["legacy", "auto"]  # initialize handshake, and the SDK default (2026-07-28 when offered)


def create_key(scopes: str) -> str:
    """A new key through the admin script (stored hashed in Secrets Manager on moto)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/create-api-key.py"), "--name", "e2e-meta", "--scopes", scopes],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    made = {
        "full": create_key("gateway:call tool:*"),
        "other": create_key("gateway:call tool:*"),
        "demo": create_key("gateway:call tool:demo_*"),
    }
    time.sleep(3)  # the instance reloads keys every API_KEYS_REFRESH_SECS=2
    return made


def connect(key: str, mode: str = "legacy") -> Client:
    http = httpx2.AsyncClient(
        transport=EmulatorRetry(), timeout=httpx2.Timeout(30.0, read=300.0), headers={"Authorization": f"Bearer {key}"}
    )
    return Client(streamable_http_client(mcp_url(LITE), http_client=http), mode=mode, cache=None)


async def call(client: Client, tool: str, arguments: dict) -> dict:
    """A meta-tool's structured answer (asserting it is not an error)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def names(found: dict) -> list[str]:
    return [t["name"] for t in found["tools"]]


@pytest.mark.parametrize("mode", MODES)
async def test_lite_listing_shows_the_meta_tools_and_the_pinned_tool(keys, mode):
    async with connect(keys["full"], mode) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert listed == META | {"demo_add"}, listed
        # Everything else stays callable by name, with the usual checks.
        direct = await client.call_tool("everything_echo", {"message": "direct"})
        assert "direct" in direct.content[0].text and not direct.is_error


@pytest.mark.parametrize("mode", MODES)
async def test_search_ranks_the_echo_tools_first_and_describe_gives_their_schemas(keys, mode):
    async with connect(keys["full"], mode) as client:
        found = await call(client, "gateway_search_tools", {"query": "echo"})
        assert set(names(found)[:2]) == {"everything_echo", "demo_echo"}, found
        described = await call(client, "gateway_describe_tools", {"names": names(found)[:2]})
        schemas = {t["name"]: t["inputSchema"] for t in described["tools"]}
        assert "message" in schemas["everything_echo"]["properties"], schemas
        assert schemas["demo_echo"]["required"] == ["text"], schemas
        browse = await call(client, "gateway_search_tools", {"detail": "name", "limit": 3})
        assert browse["hasMore"] and set(browse["backends"]) == {"demo", "everything"}, browse


async def test_call_tool_calls_and_shapes_the_result(keys):
    async with connect(keys["full"]) as client:
        plain = await client.call_tool("gateway_call_tool", {"name": "demo_echo", "arguments": {"text": "hello"}})
        assert plain.content[0].text == "hello" and not plain.is_error
        shaped = await client.call_tool("gateway_call_tool", {
            "name": "demo_records", "arguments": {"count": 40},
            "fields": ["/items/*/id", "/items/*/note", "/count"], "maxItems": 5, "maxChars": 20,
        })
        assert not shaped.is_error, shaped
        expected_items = [{"id": i, "note": f"note {i} lorem ipsum lorem"[:20] + "…"} for i in range(5)]
        assert shaped.structured_content == {"items": expected_items, "count": 40}
        assert json.loads(shaped.content[0].text) == shaped.structured_content, "the JSON text stays JSON"
        report = shaped.meta["mcp-gateway/shaping"]
        assert report["arraysCut"] == 2 and report["stringsCut"] == 10, report  # structured + text
        assert {"in": "/structuredContent", "at": "/items", "items": [5, 40]} in report["cuts"], report


async def test_call_tools_runs_three_in_parallel_with_one_failing_cleanly(keys):
    async with connect(keys["full"]) as client:
        calls = [
            {"name": "demo_slow", "arguments": {"seconds": 1.5}},
            {"name": "everything_echo", "arguments": {"message": "in parallel"}},
            {"name": "demo_slow", "arguments": {"seconds": 1.5}},
            {"name": "demo_no_such_tool", "arguments": {}},
        ]
        started = time.monotonic()
        outcome = await call(client, "gateway_call_tools", {"calls": calls})
        elapsed = time.monotonic() - started
        assert elapsed < 2.9, f"two 1.5 s calls took {elapsed:.1f} s: not in parallel"
        results = outcome["results"]
        assert [r["name"] for r in results] == [c["name"] for c in calls]
        assert results[0]["result"]["content"][0]["text"] == "done" == results[2]["result"]["content"][0]["text"]
        assert "in parallel" in results[1]["result"]["content"][0]["text"]
        assert results[3] == {"name": "demo_no_such_tool", "error": "invalid params: unknown tool: demo_no_such_tool"}
        assert outcome["failed"] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_demo_scoped_key_never_sees_or_reaches_other_tools(keys, mode):
    async with connect(keys["demo"], mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} == META | {"demo_add"}
        everything = await call(client, "gateway_search_tools", {"query": "", "detail": "name", "limit": 100})
        assert everything["tools"] and all(n.startswith("demo_") for n in names(everything)), everything
        assert everything["backends"] == {"demo": everything["total"]}
        echoes = names(await call(client, "gateway_search_tools", {"query": "echo"}))
        assert echoes[0] == "demo_echo" and all(n.startswith("demo_") for n in echoes), echoes
        assert (await call(client, "gateway_search_tools", {"query": "echo", "backend": "everything"}))["total"] == 0
        described = await call(client, "gateway_describe_tools", {"names": ["everything_echo", "demo_echo"]})
        assert names(described) == ["demo_echo"] and described["unknown"] == ["everything_echo"]
        refused = await client.call_tool("gateway_call_tool", {"name": "everything_echo", "arguments": {"message": "x"}})
        unknown = await client.call_tool("gateway_call_tool", {"name": "everything_nope", "arguments": {}})
        assert refused.is_error and refused.content[0].text == "invalid params: unknown tool: everything_echo"
        assert unknown.content[0].text.replace("everything_nope", "everything_echo") == refused.content[0].text
        many = await call(client, "gateway_call_tools", {"calls": [
            {"name": "everything_echo", "arguments": {"message": "x"}},
            {"name": "demo_echo", "arguments": {"text": "mine"}},
        ]})
        assert many["results"][0]["error"] == "invalid params: unknown tool: everything_echo"
        assert many["results"][1]["result"]["content"][0]["text"] == "mine"


async def test_a_cached_call_does_not_reach_the_backend_again_and_the_cache_is_per_principal(keys):
    # Letters only: nothing the PII detectors could take for a number or a token.
    key = "lookup-" + "".join(random.choice(string.ascii_lowercase) for _ in range(16))
    lookup = {"name": "demo_lookup", "arguments": {"key": key}}
    async with connect(keys["full"]) as client:
        first = await client.call_tool("gateway_call_tool", lookup)
        second = await client.call_tool("gateway_call_tool", lookup)
        assert (first.meta["mcp-gateway/cache"], second.meta["mcp-gateway/cache"]) == ("miss", "hit")
        assert first.structured_content == second.structured_content == {"key": key, "calls": 1}
        counted = await client.call_tool("demo_calls", {"key": key})
        assert counted.content[0].text == "1", "the second run never reached the backend"
    # Another session of the same principal (token-free result): still cached.
    async with connect(keys["full"], "auto") as client:
        again = await client.call_tool("gateway_call_tool", lookup)
        assert again.meta["mcp-gateway/cache"] == "hit" and again.structured_content["calls"] == 1
    # Another principal has its own cache.
    async with connect(keys["other"]) as client:
        theirs = await client.call_tool("gateway_call_tool", lookup)
        assert theirs.meta["mcp-gateway/cache"] == "miss" and theirs.structured_content["calls"] == 2
        assert (await client.call_tool("demo_calls", {"key": key})).content[0].text == "2"
