"""The official Python MCP client (mcp 2.3.0) against the gateway, in both connect modes.

mode="legacy": initialize handshake directly.
mode="auto" (the SDK default): probes `server/discover` first; the gateway answers it, so the client
adopts the stateless 2026-07-28 era.
"""

from __future__ import annotations

from collections import Counter

import pytest
from mcp.client.client import Client
from mcp_types import PromptReference

from conftest import DEMO_RESOURCE_URIS, EVERYTHING_DOC_URIS, GATEWAY_URL, LATEST, mcp_url
from emulator import sdk_transport

pytestmark = pytest.mark.parametrize("mode", ["legacy", "auto"])


def connect(mode: str) -> Client:
    # Used as `async with connect(mode) as client:` inside each test: the SDK's anyio task groups must be
    # entered and exited in the same task, which an async pytest fixture does not guarantee.
    # cache=None: every call must reach the gateway.
    return Client(sdk_transport(mcp_url(GATEWAY_URL)), mode=mode, cache=None)


async def list_all(list_page, attr: str) -> list:
    """Follow next_cursor to the end (the gateway may page per backend, so one page is not enough)."""
    items, cursor = [], None
    for _ in range(100):
        page = await list_page(cursor=cursor)
        items.extend(getattr(page, attr))
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError(f"{attr}: more than 100 pages, cursor loop?")


async def all_tools(client: Client) -> list:
    return await list_all(client.list_tools, "tools")


async def test_handshake(mode: str):
    async with connect(mode) as client:
        assert client.protocol_version == {"legacy": LATEST, "auto": "2026-07-28"}[mode]
        assert client.server_info is not None and client.server_info.name
        caps = client.server_capabilities
        assert caps.tools is not None and caps.resources is not None and caps.prompts is not None
        assert caps.completions is not None and caps.logging is not None


async def test_tools_from_both_backends_prefixed_once(mode: str):
    async with connect(mode) as client:
        names = [t.name for t in await all_tools(client)]
        dupes = [n for n, c in Counter(names).items() if c > 1]
        assert not dupes, f"duplicate tools: {dupes}"
        assert {"demo_echo", "demo_add", "demo_slow", "demo_whoami"} <= set(names)
        assert {"everything_echo", "everything_get-sum", "everything_get-tiny-image"} <= set(names)
        # Backend tools carry their prefix; the gateway's own tools are the code sandbox and the meta-tools
        # (this instance runs without auth, so the caller holds every scope, code:execute included).
        assert all(n.startswith(("demo_", "everything_", "gateway_")) for n in names), names
        assert {"gateway_execute_code", "gateway_search_tools", "gateway_call_tools"} <= set(names)
        assert "echo" not in names and "add" not in names


async def test_tool_schema_survives_prefixing(mode: str):
    async with connect(mode) as client:
        tools = {t.name: t for t in await all_tools(client)}
        add = tools["demo_add"]
        assert add.input_schema["type"] == "object"
        assert set(add.input_schema["properties"]) == {"a", "b"}
        assert tools["everything_echo"].input_schema["properties"]["message"]["type"] == "string"


async def test_call_everything_echo(mode: str):
    async with connect(mode) as client:
        result = await client.call_tool("everything_echo", {"message": "hello gateway"})
        assert not result.is_error
        assert result.content[0].type == "text" and result.content[0].text == "Echo: hello gateway"


async def test_call_demo_add(mode: str):
    async with connect(mode) as client:
        result = await client.call_tool("demo_add", {"a": 20, "b": 22})
        assert not result.is_error
        assert result.content[0].text == "42"
        assert result.structured_content == {"result": 42}


async def test_tool_error_is_a_result_not_a_protocol_error(mode: str):
    async with connect(mode) as client:
        result = await client.call_tool("demo_add", {"a": "not a number", "b": 1})
        assert result.is_error is True


async def test_read_demo_greeting(mode: str):
    async with connect(mode) as client:
        result = await client.read_resource("demo://greeting")
        assert [c.text for c in result.contents] == ["Hello from the demo backend"]
        assert str(result.contents[0].uri) == "demo://greeting"


async def test_read_everything_static_resource(mode: str):
    async with connect(mode) as client:
        uri = "demo://resource/static/document/instructions.md"
        result = await client.read_resource(uri)
        assert str(result.contents[0].uri) == uri
        assert "Everything Server" in result.contents[0].text


async def test_read_templated_resources_route_to_owner(mode: str):
    async with connect(mode) as client:
        demo = await client.read_resource("demo://users/42")
        assert demo.contents[0].text == "User 42"
        everything = await client.read_resource("demo://resource/dynamic/text/3")
        assert everything.contents[0].text.startswith("Resource 3:")


async def test_resource_templates_merged(mode: str):
    async with connect(mode) as client:
        templates = await list_all(client.list_resource_templates, "resource_templates")
        uris = [t.uri_template for t in templates]
        assert "demo://users/{user_id}" in uris
        assert {"demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/blob/{resourceId}"} <= set(uris)
        assert len(uris) == len(set(uris))


async def test_resources_paged_to_the_end_exactly_once(mode: str):
    async with connect(mode) as client:
        # demo pages its 13 resources 5 at a time; server-everything lists its 7 documents in one page.
        uris, cursor, pages = [], None, 0
        while True:
            pages += 1
            assert pages <= 100, "resources/list: cursor loop"
            page = await client.list_resources(cursor=cursor)
            uris.extend(str(r.uri) for r in page.resources)
            cursor = page.next_cursor
            if cursor is None:
                break
        dupes = [u for u, c in Counter(uris).items() if c > 1]
        assert not dupes, f"duplicate resources: {dupes}"
        assert set(uris) == EVERYTHING_DOC_URIS | DEMO_RESOURCE_URIS
        assert pages >= 2, "a backend has more pages, so the gateway must hand out a nextCursor"


async def test_prompts_listed_prefixed(mode: str):
    async with connect(mode) as client:
        names = [p.name for p in await list_all(client.list_prompts, "prompts")]
        assert "demo_summarize" in names
        assert {"everything_simple-prompt", "everything_args-prompt"} <= set(names)
        assert len(names) == len(set(names))


async def test_get_prompt_demo_summarize(mode: str):
    async with connect(mode) as client:
        result = await client.get_prompt("demo_summarize", {"topic": "serverless gateways"})
        assert len(result.messages) == 1
        message = result.messages[0]
        assert message.role == "user"
        assert "serverless gateways" in message.content.text


async def test_completion_routed_by_prompt_name(mode: str):
    async with connect(mode) as client:
        ref = PromptReference(type="ref/prompt", name="demo_summarize")
        result = await client.complete(ref, {"name": "topic", "value": "l"})
        assert result.completion.values == ["lambda"]
