"""The conformance fixture backend itself (tests/backends/conformance_server.py), with the official Python client.

The conformance suite runs through the gateway against this fixture, so the fixture must behave like the suite's
reference (examples/servers/typescript/everything-server.ts) where a gateway can get it wrong: a catalog per
protocol era, notifications and server->client requests mid-call on the legacy stream, subscriptions. These
tests talk to the fixture directly (CONFORMANCE_FIXTURE_URL, default http://127.0.0.1:3004, started by
infra/local-stack.sh); the expected names are the reference's.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import (
    CreateMessageResult,
    ElicitResult,
    ListRootsResult,
    ResourceUpdatedNotification,
    Root,
    TextContent,
    ToolListChangedNotification,
)

BASE = os.environ.get("CONFORMANCE_FIXTURE_URL", "http://127.0.0.1:3004").rstrip("/")
URL, NOTIFY_URL = f"{BASE}/mcp", f"{BASE}/fixture/notify"
LEGACY, MODERN = "2025-11-25", "2026-07-28"
WATCHED = "test://watched-resource"

BOTH_ERAS_TOOLS = {
    "test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
    "test_multiple_content_types", "test_tool_with_logging", "test_tool_with_progress", "test_error_handling",
    "test_reconnection", "test_sampling", "test_elicitation", "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums", "json_schema_2020_12_tool",
}  # fmt: skip
MODERN_ONLY_TOOLS = {
    "test_missing_capability", "test_streaming_elicitation", "test_logging_tool",
    *(f"test_input_required_result_{n}" for n in (
        "elicitation", "sampling", "list_roots", "request_state", "multiple_inputs", "multi_round", "tampered_state",
        "capabilities",
    )),
}  # fmt: skip
BOTH_ERAS_PROMPTS = {
    "test_simple_prompt", "test_prompt_with_arguments", "test_prompt_with_embedded_resource", "test_prompt_with_image"
}  # fmt: skip
BOTH_ERAS_RESOURCES = {"test://static-text", "test://static-binary", WATCHED}


def legacy(**callbacks: Any) -> Client:
    return Client(streamable_http_client(URL), mode="legacy", **callbacks)


def modern(**callbacks: Any) -> Client:
    return Client(streamable_http_client(URL), mode=MODERN, cache=None, **callbacks)


def texts(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def catalog(client: Client) -> tuple[set[str], set[str], set[str]]:
    tools = {t.name for t in (await client.list_tools()).tools}
    prompts = {p.name for p in (await client.list_prompts()).prompts}
    resources = {str(r.uri) for r in (await client.list_resources()).resources}
    return tools, prompts, resources


async def test_each_era_gets_its_own_catalog():
    async with legacy() as client:
        tools, prompts, resources = await catalog(client)
        assert tools == BOTH_ERAS_TOOLS | {"test_list_roots"}
        assert (prompts, resources) == (BOTH_ERAS_PROMPTS, BOTH_ERAS_RESOURCES)
    async with modern() as client:
        tools, prompts, resources = await catalog(client)
        assert tools == BOTH_ERAS_TOOLS | MODERN_ONLY_TOOLS  # the change hooks are callable but never listed
        assert prompts == BOTH_ERAS_PROMPTS | {"test_input_required_result_prompt"}
        assert resources == BOTH_ERAS_RESOURCES | {"test://stateless-static-text"}


async def test_a_name_of_the_other_era_is_unknown():
    async with legacy() as client:
        for name in ("test_input_required_result_elicitation", "test_trigger_tool_change"):
            result = await client.call_tool(name, {})
            assert result.is_error and f"Unknown tool: {name}" in texts(result)
        with pytest.raises(Exception, match="Unknown prompt"):
            await client.get_prompt("test_input_required_result_prompt")
        with pytest.raises(Exception, match="Unknown resource"):
            await client.read_resource("test://stateless-static-text")
    async with modern() as client:
        result = await client.call_tool("test_list_roots", {})
        assert result.is_error and "Unknown tool: test_list_roots" in texts(result)
        assert "Mutation triggered" in texts(await client.call_tool("test_trigger_tool_change", {}))
        contents = (await client.read_resource("test://stateless-static-text")).contents
        assert "stateless draft path" in contents[0].text


async def test_capabilities_per_era():
    async with legacy() as client:
        caps = client.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        assert caps["tools"] == {"listChanged": True} and caps["prompts"] == {"listChanged": True}
        assert caps["resources"] == {"listChanged": True, "subscribe": True}
        assert {"logging", "completions"} <= set(caps)
    async with httpx2.AsyncClient() as http:
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
        resp = await http.post(
            URL,
            json={"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}},
            headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": MODERN,
                     "Mcp-Method": "server/discover"},
        )  # fmt: skip
        caps = resp.json()["result"]["capabilities"]
        assert caps == {"tools": {"listChanged": True}, "prompts": {"listChanged": True}, "resources": {}}


async def test_legacy_notifications_arrive_mid_call():
    seen: list[tuple[float, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((time.monotonic(), f"progress {progress}/{total}"))

    async def on_log(params: Any) -> None:
        seen.append((time.monotonic(), f"log {params.data}"))

    async with legacy(logging_callback=on_log) as client:
        result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        done = time.monotonic()
        assert [text for _, text in seen] == ["progress 0.0/100.0", "progress 50.0/100.0", "progress 100.0/100.0"]
        # 50 ms between steps: the first one was delivered while the tool still ran, not with the result.
        assert done - seen[0][0] >= 0.08, seen
        assert not result.is_error
        seen.clear()
        await client.call_tool("test_tool_with_logging", {})
        assert [text for _, text in seen] == [
            "log Tool execution started", "log Tool processing data", "log Tool execution completed"
        ]  # fmt: skip
        assert seen[-1][0] - seen[0][0] >= 0.08, seen


async def test_legacy_server_to_client_requests_complete_the_call():
    asked: list[str] = []

    async def sampling(context: Any, params: Any) -> CreateMessageResult:
        asked.append(f"sampling {params.messages[0].content.text}")
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="m")

    async def elicitation(context: Any, params: Any) -> ElicitResult:
        asked.append(f"elicitation {sorted(params.requested_schema['properties'])}")
        return ElicitResult(action="accept", content={"response": "yes"})

    async def roots(context: Any) -> ListRootsResult:
        asked.append("roots")
        return ListRootsResult(roots=[Root(uri="file:///work", name="work")])

    async with legacy(sampling_callback=sampling, elicitation_callback=elicitation, list_roots_callback=roots) as c:
        assert texts(await c.call_tool("test_sampling", {"prompt": "capital?"})) == "LLM response: Paris"
        assert 'content={"response":"yes"}' in texts(await c.call_tool("test_elicitation", {"message": "ok?"}))
        assert texts(await c.call_tool("test_list_roots", {})) == "Found 1 root(s): file:///work"
    assert asked == ["sampling capital?", "elicitation ['response']", "roots"]


async def modern_post(http: httpx2.AsyncClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One raw 2026-07-28 request (no client-side validation); returns the JSON-RPC response."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    resp = await http.post(URL, json=body, headers=headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json"), resp.text
    return resp.json()


async def test_modern_tools_ask_with_input_required_instead():
    async def elicitation(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"name": "Ada"})

    async with modern(elicitation_callback=elicitation) as client:
        assert texts(await client.call_tool("test_input_required_result_elicitation", {})) == "Hello, Ada!"
    async with httpx2.AsyncClient() as http:
        # No stream a server may send requests on: the legacy-style tools say so, and (like the reference) a tool
        # both eras share answers without resultType, which the official Python client refuses: a gateway must
        # stamp it. The 2026-07-28-only tools carry it.
        shared = await modern_post(http, "tools/call", {"name": "test_elicitation", "arguments": {"message": "?"}})
        assert "Elicitation not supported" in shared["result"]["content"][0]["text"]
        assert "resultType" not in shared["result"]
        own = await modern_post(http, "tools/call", {"name": "test_input_required_result_elicitation"})
        assert own["result"]["resultType"] == "input_required"


async def notify(http: httpx2.AsyncClient, method: str, params: dict[str, Any] | None = None) -> httpx2.Response:
    return await http.post(NOTIFY_URL, json={"method": method, **({"params": params} if params else {})})


async def wait_for(received: list[Any], kind: type, timeout: float = 5.0) -> Any:
    with anyio.fail_after(timeout):
        while not any(isinstance(m, kind) for m in received):
            await anyio.sleep(0.05)
    return next(m for m in received if isinstance(m, kind))


@pytest.mark.filterwarnings("ignore:resources/.*subscribe is removed")  # it is, in 2026-07-28 only
async def test_subscription_gets_resource_updates_on_the_session_stream():
    received: list[Any] = []
    others: list[Any] = []

    async def collect(message: Any) -> None:
        received.append(message)

    async def collect_other(message: Any) -> None:
        others.append(message)

    async with legacy(message_handler=collect) as client, legacy(message_handler=collect_other) as bystander:
        await bystander.list_tools()  # a second session, not subscribed
        await client.subscribe_resource(WATCHED)
        async with httpx2.AsyncClient() as http:
            resp = await notify(http, "notifications/resources/updated", {"uri": WATCHED})
            assert resp.status_code == 200 and resp.json()["legacySessions"] >= 1, resp.text
            update = await wait_for(received, ResourceUpdatedNotification)
            assert str(update.params.uri) == WATCHED
            await client.unsubscribe_resource(WATCHED)
            await notify(http, "notifications/resources/updated", {"uri": WATCHED})
            # Every session gets list_changed, after anything sent to it before on the same stream.
            await notify(http, "notifications/tools/list_changed")
            await wait_for(received, ToolListChangedNotification)
            await wait_for(others, ToolListChangedNotification)
        assert sum(isinstance(m, ResourceUpdatedNotification) for m in received) == 1, received
        assert not any(isinstance(m, ResourceUpdatedNotification) for m in others), others


@pytest.mark.filterwarnings("ignore:resources/.*subscribe is removed")
async def test_an_ended_session_is_no_longer_addressed():
    async with httpx2.AsyncClient() as http:
        async with legacy() as client:
            await client.subscribe_resource(f"{WATCHED}#ended-session")
            resp = await notify(http, "notifications/resources/updated", {"uri": f"{WATCHED}#ended-session"})
            assert resp.json() == {"legacySessions": 1}
        # Leaving the client ends its session (DELETE).
        resp = await notify(http, "notifications/resources/updated", {"uri": f"{WATCHED}#ended-session"})
        assert resp.json() == {"legacySessions": 0}


async def test_modern_listen_stream_gets_announcements():
    async with modern() as client, client.listen(tools_list_changed=True) as subscription:
        await client.call_tool("test_trigger_tool_change", {})
        with anyio.fail_after(5):
            event = await subscription.__anext__()
        assert type(event).__name__ == "ToolsListChanged"


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"method": "notifications/nope"}', b'{"method": "notifications/resources/updated"}', b"[]"],
)
async def test_notify_endpoint_refuses_bad_requests(body):
    async with httpx2.AsyncClient() as http:
        resp = await http.post(NOTIFY_URL, content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "error" in resp.json()


async def sse_events(resp: httpx2.Response, events: list[dict[str, str]]) -> None:
    """Append each SSE event of `resp` to `events` (as its fields) until the stream ends."""
    event: dict[str, str] = {}
    async for line in resp.aiter_lines():
        if not line:
            if event:
                events.append(event)
            event = {}
        elif ":" in line:
            key, _, value = line.partition(":")
            event[key] = event.get(key, "") + value.lstrip()


async def test_a_resumed_stream_replays_only_its_own_session():
    """test_reconnection closes the call's stream after its priming event; GET + Last-Event-ID resumes it."""
    async with httpx2.AsyncClient(timeout=10) as http:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        sessions = []
        for _ in range(2):  # two sessions, same request id: the SDK names both streams after it
            init = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
            body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init}
            resp = await http.post(URL, json=body, headers=headers)
            session = {**headers, "Mcp-Session-Id": resp.headers["mcp-session-id"], "MCP-Protocol-Version": LEGACY}
            await http.post(URL, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "test_reconnection"}}
            priming: list[dict[str, str]] = []
            async with http.stream("POST", URL, json=call, headers=session) as resp:
                await sse_events(resp, priming)
            assert len(priming) == 1 and priming[0]["data"] == "" and priming[0]["retry"] == "5000", priming
            sessions.append((session, priming[0]["id"]))
        await anyio.sleep(1)  # both tools finished (0.1 s after closing their streams): results stored
        for session, last_event_id in sessions:
            resume = {**session, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
            replayed: list[dict[str, str]] = []
            async with http.stream("GET", URL, headers=resume, timeout=httpx2.Timeout(10, read=1)) as resp:
                with pytest.raises(httpx2.ReadTimeout):  # the resumed stream stays open
                    await sse_events(resp, replayed)
            results = [json.loads(e["data"]) for e in replayed if e.get("data")]
            assert len(results) == 1 and results[0]["id"] == 7, replayed
            assert "Reconnection test completed" in results[0]["result"]["content"][0]["text"]
