"""Lambda functions and OpenAPI services as backends, end to end with the official Python client.

The gateway on GATEWAY_URL_TOOLS (infra/backends.tools.json) reaches the local stack's `demo-tools`
function through the real Lambda Invoke API (`cargo lambda watch` on 3014, AWS_ENDPOINT_URL_LAMBDA) and
the FastAPI service on 3013 through its own OpenAPI document. Both record what they receive (the
function in .run/demo-tools-events.jsonl, the service at /_received), so the tests can prove what
reached them and what never did. GATEWAY_URL_TOOLS_API_KEY is the same configuration with API keys.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import mcp_url
from emulator import EmulatorRetry, sdk_transport
from test_auth import create_key

ROOT = Path(__file__).resolve().parents[2]
TOOLS_URL = os.environ.get("GATEWAY_URL_TOOLS", "http://127.0.0.1:9011").rstrip("/")
TOOLS_API_KEY_URL = os.environ.get("GATEWAY_URL_TOOLS_API_KEY", "http://127.0.0.1:9012").rstrip("/")
SERVICE_URL = os.environ.get("OPENAPI_SERVICE_URL", "http://127.0.0.1:3013").rstrip("/")
EVENTS = ROOT / ".run" / "demo-tools-events.jsonl"
CUSTOMER_EMAIL = "ada.lambda-pii@example.com"  # what demo-tools' lookup_customer returns (pii_values.txt)
TOKEN = re.compile(r"\[EMAIL_\d+\]")

pytestmark = pytest.mark.parametrize("mode", ["legacy", "auto"])


def connect(mode: str, base: str = TOOLS_URL, key: str | None = None) -> Client:
    if key is None:
        return Client(sdk_transport(mcp_url(base)), mode=mode, cache=None)
    http = httpx2.AsyncClient(transport=EmulatorRetry(), timeout=httpx2.Timeout(30.0, read=300.0),
                              headers={"Authorization": f"Bearer {key}"})
    return Client(streamable_http_client(mcp_url(base), http_client=http), mode=mode, cache=None)


async def tools_by_name(client: Client) -> dict:
    tools, cursor = [], None
    for _ in range(50):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return {t.name: t for t in tools}
    raise AssertionError("tools/list did not end")


def text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def events(marker: str) -> list[dict]:
    """The events the function received whose arguments mention `marker`."""
    lines = EVENTS.read_text().splitlines() if EVENTS.exists() else []
    return [e for e in map(json.loads, lines) if marker in json.dumps(e.get("arguments"))]


def service_received(marker: str = "") -> list[dict]:
    records = httpx2.get(f"{SERVICE_URL}/_received", timeout=10).json()
    return [r for r in records if marker in json.dumps(r)]


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


async def test_lambda_and_openapi_tools_are_listed_with_their_schemas(mode):
    async with connect(mode) as client:
        tools = await tools_by_name(client)
    lookup = tools["lambda_lookup_customer"]
    assert lookup.input_schema["required"] == ["id"] and lookup.input_schema["properties"]["id"]["type"] == "integer"
    assert lookup.output_schema["required"] == ["id", "email"]
    assert lookup.annotations.read_only_hint is True
    # The self-describing backend: the same function, its tools from a tools/list event.
    assert {"described_lookup_customer", "described_echo", "described_fail", "described_sleep"} <= tools.keys()
    get_item = tools["api_get_item"]
    assert get_item.input_schema["required"] == ["item_id"]
    assert get_item.input_schema["properties"]["item_id"]["type"] == "integer"
    assert {"fields", "x-trace"} <= get_item.input_schema["properties"].keys()
    assert get_item.annotations.read_only_hint is True and get_item.description == "Get one item"
    body = tools["api_create_item"].input_schema["properties"]["body"]
    assert body["properties"]["price"]["minimum"] == 0 and "$ref" not in json.dumps(body), body
    assert tools["api_create_item"].input_schema["required"] == ["body"]
    assert {"api_search_items", "api_read_file", "api_explode"} <= tools.keys()


async def test_a_lambda_tool_is_called_with_the_documented_event(mode):
    marker = unique("echo")
    async with connect(mode) as client:
        result = await client.call_tool("lambda_echo", {"text": marker})
    assert not result.is_error, text(result)
    assert result.structured_content == {"echo": marker}
    assert json.loads(text(result)) == {"echo": marker}
    [event] = events(marker)
    assert event["tool"] == "echo" and event["arguments"] == {"text": marker}
    assert event["context"]["principal"] == "anonymous"
    assert isinstance(event["context"]["requestId"], str) and event["context"]["requestId"]
    assert set(event) == {"tool", "arguments", "context"}, event


async def test_an_openapi_tool_sends_path_query_header_and_body(mode):
    marker = unique("trace")
    async with connect(mode) as client:
        got = await client.call_tool("api_get_item", {"item_id": 3, "fields": ["a", "b c"], "x-trace": marker})
        created = await client.call_tool("api_create_item", {"body": {"name": marker, "price": 2.5, "tags": ["t"]}})
        searched = await client.call_tool("api_search_items", {"q": marker, "limit": 2})
    assert not got.is_error, text(got)
    assert got.structured_content == {"id": 3, "name": "item 3", "price": 9.5, "fields": ["a", "b c"], "trace": marker}
    [request] = service_received(marker)[:1]
    assert request["raw_path"] == "/items/3" and request["query"] == "fields=a&fields=b+c"
    assert request["headers"]["x-gateway-test"] == "openapi", "the backend's configured headers are sent"
    assert "authorization" not in request["headers"] and "mcp-session-id" not in request["headers"]
    assert not created.is_error and created.structured_content == {"id": 100, "name": marker, "price": 2.5, "tags": ["t"]}
    assert searched.structured_content["results"] == [f"{marker} 1", f"{marker} 2"]


async def test_a_function_error_is_a_clean_tool_error(mode):
    async with connect(mode) as client:
        result = await client.call_tool("lambda_fail", {"reason": "checked"})
    assert result.is_error is True
    assert "DemoToolError" in text(result) and "failed on purpose: checked" in text(result), text(result)


async def test_a_function_past_its_timeout_is_a_clean_tool_error(mode):
    started = time.monotonic()
    async with connect(mode) as client:
        result = await client.call_tool("lambda_sleep", {"seconds": 8})
    assert result.is_error is True
    assert "unavailable" in text(result) and "timed out" in text(result), text(result)
    assert time.monotonic() - started < 7, "the gateway gave up at the backend's 2.5 s timeout"


async def test_http_errors_are_clean_tool_errors_naming_the_status(mode):
    async with connect(mode) as client:
        boom = await client.call_tool("api_explode", {})
        missing = await client.call_tool("api_get_item", {"item_id": 404})
    assert boom.is_error is True and "HTTP 500" in text(boom), text(boom)
    assert missing.is_error is True and "HTTP 404" in text(missing) and "no item 404" in text(missing), text(missing)


async def test_invalid_arguments_never_reach_the_function_or_the_service(mode):
    marker = unique("invalid")
    async with connect(mode) as client:
        calls = [
            ("lambda_lookup_customer", {"id": marker}),                       # not an integer
            ("lambda_lookup_customer", {"id": 1, "extra": marker}),           # additionalProperties: false
            ("lambda_echo", {"wrong": marker}),                               # required text missing
            ("api_create_item", {"body": {"name": marker, "price": -1}}),     # minimum 0
            ("api_get_item", {"item_id": marker}),                            # not an integer
            ("api_search_items", {"q": marker, "limit": 500}),                # maximum 50
            ("api_get_item", {"item_id": 1, "surprise": marker}),             # not a parameter
        ]
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            assert result.is_error is True and "Invalid arguments" in text(result), (name, text(result))
    assert events(marker) == [], "the function saw an invalid call"
    assert service_received(marker) == [], "the service saw an invalid call"


async def test_pii_from_a_function_is_tokenized_and_restored_in_a_later_call(mode):
    async with connect(mode) as client:
        found = await client.call_tool("lambda_lookup_customer", {"id": 7})
        assert not found.is_error, text(found)
        assert CUSTOMER_EMAIL not in json.dumps(found.model_dump()), "PII left the gateway"
        token = found.structured_content["email"]
        assert TOKEN.fullmatch(token) and token in text(found), found
        marker = unique("pii")
        echoed = await client.call_tool("lambda_echo", {"text": f"{marker} {token}"})
    [event] = events(marker)
    assert event["arguments"]["text"] == f"{marker} {CUSTOMER_EMAIL}", "the function got the real value back"
    assert echoed.structured_content == {"echo": f"{marker} {token}"}, "and the client the same token again"


async def test_path_arguments_cannot_leave_the_operations_path(mode):
    async with connect(mode) as client:
        climbing = await client.call_tool("api_read_file", {"name": "../admin"})
        odd = await client.call_tool("api_read_file", {"name": "a?b=1#c"})
        dots = await client.call_tool("api_read_file", {"name": ".."})
    assert climbing.is_error is True and "HTTP 404" in text(climbing), text(climbing)
    assert odd.structured_content == {"name": "a?b=1#c", "raw_path": "/files/a%3Fb%3D1%23c"}, odd
    assert dots.is_error is True and "Invalid arguments" in text(dots), text(dots)
    received = {r["raw_path"]: r for r in service_received("/files/")}
    assert "/files/..%2Fadmin" in received, sorted(received)
    assert received["/files/a%3Fb%3D1%23c"]["query"] == "", "no query smuggled in through a path value"
    assert not [r for r in service_received() if r["raw_path"].startswith("/admin")], "a request escaped"


async def test_a_hostile_document_yields_only_its_safe_operations(mode):
    async with connect(mode) as client:
        tools = await tools_by_name(client)
        hostile = {name for name in tools if name.startswith("hostile_")}
        assert hostile == {"hostile_read_file", "hostile_tree"}, hostile
        assert not [name for name in tools if name.startswith("metadata_")], "a document aimed at the metadata address"
        tree = tools["hostile_tree"].input_schema["properties"]["body"]
        assert "recursive reference to Node" in json.dumps(tree), tree
        assert tree["type"] == ["object", "null"], "OpenAPI 3.0 nullable is translated"
        result = await client.call_tool("hostile_read_file", {"name": "../../admin"})
        assert "HTTP 404" in text(result), text(result)
        unavailable = await client.call_tool("metadata_steal_credentials", {})
    assert unavailable.is_error is True and "Backend 'metadata' is unavailable" in text(unavailable), text(unavailable)
    assert not [r for r in service_received() if r["raw_path"].startswith("/admin")]
    # The detailed health view (AUTH_MODE=none here): the API answers, the metadata-aimed document is refused
    # (naming no address), Lambda is not invoked to probe it.
    health = httpx2.get(f"{TOOLS_URL}/mcp/health?probe=1", timeout=120).json()["backends"]
    assert health["api"]["status"] == "up" and health["api"]["type"] == "openapi", health["api"]
    assert health["metadata"]["status"] == "down" and "169.254" not in json.dumps(health["metadata"]), health
    assert health["lambda"] == {**health["lambda"], "status": "unprobed", "type": "lambda", "toolCount": 4}


async def test_a_key_scoped_to_lambda_tools_cannot_call_openapi_tools(mode):
    key, key_id = create_key("tool:lambda_*")
    await asyncio.sleep(3)  # the api-key instance reloads keys every API_KEYS_REFRESH_SECS=2
    marker = unique("scoped")
    async with connect(mode, TOOLS_API_KEY_URL, key) as client:
        tools = await tools_by_name(client)
        assert tools and all(name.startswith("lambda_") for name in tools), sorted(tools)
        echoed = await client.call_tool("lambda_echo", {"text": marker})
        assert echoed.structured_content == {"echo": marker}
        for name, arguments in [("api_get_item", {"item_id": 1}), ("described_echo", {"text": marker})]:
            with pytest.raises(MCPError) as refused:
                await client.call_tool(name, arguments)
            assert "unknown tool" in str(refused.value).lower(), refused.value
    [event] = events(marker)
    assert event["context"]["principal"] == f"key:{key_id}", "the function learns who called, by key id"
    assert key not in EVENTS.read_text(), "never the caller's credential"
    assert service_received(marker) == []
