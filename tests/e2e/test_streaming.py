"""Streamed MCP through the gateway (GATEWAY_STREAMING=on) with the official Python and TypeScript clients, and raw
HTTP where a client would hide what is checked.

Two processes of one deployment (GATEWAY_URL_STREAM, GATEWAY_URL_STREAM_2: cargo lambda watch, several instances
each) serve tests/backends/stream_server.py as `stream_*` (timeout 420 s) and `fast_*` (timeout 3 s, 64 KiB per
event), and the conformance fixture as `cf_*`. They allow 4 requests to a client waiting at once and wait 8 s for
an answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitResult, LoggingMessageNotificationParams, ResourceUpdatedNotification, TextContent

from conftest import ACCEPT_BOTH, HTTP_TIMEOUT, initialize_params, request

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".venv" / "bin" / "node"
TS_CLIENT = ROOT / "tests" / "clients" / "ts_stream_client.mjs"
STREAM = os.environ.get("GATEWAY_URL_STREAM", "http://127.0.0.1:9014").rstrip("/")
STREAM_2 = os.environ.get("GATEWAY_URL_STREAM_2", "http://127.0.0.1:9015").rstrip("/")
PLAIN_STREAM = os.environ.get("GATEWAY_URL_PLAIN_STREAM", "http://127.0.0.1:9023").rstrip("/")
NOTIFY = os.environ.get("CONFORMANCE_FIXTURE_URL", "http://127.0.0.1:3004").rstrip("/") + "/fixture/notify"
WATCHED = "test://watched-resource"
PII_EMAIL = "grace.pii-stream@example.com"


def texts(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


class AnswersTo(httpx2.AsyncBaseTransport):
    """Sends the client's answers to a server's requests (POSTs of JSON-RPC responses) to another gateway process,
    everything else where the client aimed it: the answer must find the waiting call from any instance."""

    def __init__(self, second: str) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.second = second
        self.routed: list[Any] = []

    async def handle_async_request(self, req: httpx2.Request) -> httpx2.Response:
        if req.method == "POST":
            try:
                message = json.loads(req.content)
            except ValueError:
                message = None
            if isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message):
                self.routed.append(message.get("id"))
                req = httpx2.Request("POST", f"{self.second}/mcp", headers=req.headers, content=req.content)
        return await self.inner.handle_async_request(req)

    async def aclose(self) -> None:
        await self.inner.aclose()


def client(url: str = STREAM, transport: httpx2.AsyncBaseTransport | None = None, **callbacks: Any) -> Client:
    http = httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(30, read=300)) if transport else None
    return Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy", **callbacks)


async def test_progress_and_log_messages_arrive_while_the_call_runs():
    seen: list[tuple[float, str]] = []
    started = time.monotonic()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((time.monotonic() - started, f"progress {message}"))

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        seen.append((time.monotonic() - started, f"log {params.data}"))

    async with client(logging_callback=on_log) as c:
        started = time.monotonic()
        result = await c.call_tool("stream_long_task", {"seconds": 3, "every": 0.5}, progress_callback=on_progress)
        done = time.monotonic() - started
    assert texts(result).startswith("finished after 3 s"), texts(result)
    progress = [at for at, what in seen if what.startswith("progress")]
    assert len(progress) >= 6 and any(what.startswith("log long_task step") for _, what in seen), seen
    assert progress[0] < 1.5 and done - progress[0] > 1.5, f"the first progress came mid-call: {seen}"


async def test_an_elicitation_completes_when_the_answer_reaches_a_second_process():
    asked: list[str] = []

    async def elicitation(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"name": "Ada"})

    router = AnswersTo(STREAM_2)
    async with client(transport=router, elicitation_callback=elicitation) as c:
        assert texts(await c.call_tool("stream_ask_name", {})) == "Hello, Ada"
    assert asked == ["What is your name?"]
    assert len(router.routed) == 1 and str(router.routed[0]).startswith("gw-"), router.routed
    log = (ROOT / ".run" / f"gateway-{STREAM_2.rsplit(':', 1)[1]}.log").read_text()
    assert "client's answer delivered to the backend" in log


@pytest.mark.filterwarnings("ignore:resources/.*subscribe is removed")  # in 2026-07-28; this is a session
async def test_a_subscription_delivers_the_resource_update():
    received: list[Any] = []

    async def collect(message: Any) -> None:
        received.append(message)

    async with client(message_handler=collect) as c:
        caps = c.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        assert caps["resources"].get("subscribe") is True and caps["tools"].get("listChanged") is True, caps
        await c.subscribe_resource(WATCHED)
        async with httpx2.AsyncClient() as http:
            with anyio.fail_after(20):
                while not any(isinstance(m, ResourceUpdatedNotification) for m in received):
                    # The client's GET stream may still be opening: announce until it arrives.
                    await http.post(NOTIFY, json={"method": "notifications/resources/updated", "params": {"uri": WATCHED}})
                    await anyio.sleep(0.5)
    update = next(m for m in received if isinstance(m, ResourceUpdatedNotification))
    assert str(update.params.uri) == WATCHED


def test_typescript_client_progress_elicitation_through_a_second_process_and_subscription():
    proc = subprocess.run(
        [str(NODE), str(TS_CLIENT), "features", f"{STREAM}/mcp", f"{STREAM_2}/mcp", NOTIFY],
        capture_output=True, text=True, timeout=HTTP_TIMEOUT + 60, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, f"TypeScript client exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["long"].startswith("finished after 3 s"), summary
    progress = summary["progress"]
    assert len(progress) >= 6 and progress[0]["at"] < 1500 and summary["elapsed"] - progress[0]["at"] > 1500, summary
    assert summary["greeting"] == "Hello, Ada" and len(summary["routed"]) == 1, summary
    assert summary["updates"] == [WATCHED], summary


async def test_pii_in_relayed_messages_is_tokenized():
    logs: list[str] = []
    progress: list[str] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(str(params.data))

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with client(logging_callback=on_log) as c:
        await c.call_tool("stream_log_pii", {}, progress_callback=on_progress)
    assert logs and progress, (logs, progress)
    assert all(PII_EMAIL not in text and "[EMAIL_" in text for text in logs + progress), (logs, progress)


async def test_a_flood_of_requests_to_the_client_is_capped():
    async def elicitation(context: Any, params: Any) -> ElicitResult:
        await anyio.sleep(0.5)  # all 10 are asked before any is answered
        return ElicitResult(action="accept", content={"name": "Ada"})

    async with client(elicitation_callback=elicitation) as c:
        result = texts(await c.call_tool("stream_ask_many", {"count": 10}))
    assert result == "answered=4 refused=6", result


async def test_a_backend_that_never_stops_talking_or_sends_a_huge_event_is_cut_off():
    async with client() as c:
        started = time.monotonic()
        chatter = await c.call_tool("fast_chatter", {"seconds": 60})
        assert time.monotonic() - started < 10, "bounded by the backend's 3 s timeout"
        assert chatter.is_error and "timed out" in texts(chatter), texts(chatter)
        huge = await c.call_tool("fast_huge_event", {"size": 200_000})
        assert huge.is_error and "larger than 65536 bytes" in texts(huge), texts(huge)


async def open_raw(http: httpx2.AsyncClient, capabilities: dict[str, Any], base: str = STREAM) -> dict[str, str]:
    """A raw session on `base` declaring `capabilities`; returns its headers."""
    params = {**initialize_params(), "capabilities": capabilities}
    resp = await http.post(f"{base}/mcp", json=request("initialize", params), headers={"Accept": ACCEPT_BOTH})
    assert resp.status_code == 200, resp.text
    headers = {"Accept": ACCEPT_BOTH, "Mcp-Session-Id": resp.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
    await http.post(f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def events(resp: httpx2.Response):
    """The JSON-RPC messages of an SSE response, as they come."""
    async for line in resp.aiter_lines():
        if line.startswith("data:") and line[5:].strip():
            yield json.loads(line[5:])


async def test_another_session_cannot_answer_and_an_unanswered_request_expires():
    async with httpx2.AsyncClient(timeout=30) as http:
        mine = await open_raw(http, {"elicitation": {}})
        theirs = await open_raw(http, {"elicitation": {}})
        call = request("tools/call", {"name": "stream_ask_name", "arguments": {}}, 5)
        async with http.stream("POST", f"{STREAM}/mcp", json=call, headers=mine) as resp:
            assert resp.headers["content-type"] == "text/event-stream"
            messages = events(resp)
            ask = await anext(messages)
            assert ask["method"] == "elicitation/create", ask
            answer = {"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {"name": "Eve"}}}
            stolen = await http.post(f"{STREAM_2}/mcp", json=answer, headers=theirs)
            assert stolen.status_code == 400 and stolen.json()["error"]["code"] == -32600, stolen.text
            # Nobody answers: after 8 s the backend is told, and its tool ends.
            result = await anext(messages)
        assert result["id"] == 5 and "did not answer within 8 s" in json.dumps(result), result
        late = await http.post(f"{STREAM_2}/mcp", json=answer, headers=mine)
        assert late.status_code == 400 and late.json()["error"]["message"] == stolen.json()["error"]["message"]


async def test_a_last_event_id_of_another_session_is_refused():
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=5)) as http:
        owner = await open_raw(http, {})
        async with http.stream("GET", f"{STREAM}/mcp", headers={**owner, "Accept": "text/event-stream"}) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"] == "text/event-stream"
            async for line in resp.aiter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                    break
        intruder = await open_raw(http, {})
        resumed = await http.get(
            f"{STREAM_2}/mcp", headers={**intruder, "Accept": "text/event-stream", "Last-Event-ID": event_id}
        )
        assert resumed.status_code == 400 and "no event of this session" in resumed.text, resumed.text


async def test_a_call_with_nothing_but_its_result_stays_one_json_body():
    """The fixture answers every call with an event stream (priming event, result): through the gateway a reply
    with nothing before its result is one JSON body, the cheaper form."""
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_raw(http, {})
        call = request("tools/call", {"name": "cf_test_simple_text", "arguments": {}}, 2)
        resp = await http.post(f"{STREAM}/mcp", json=call, headers=session)
        assert resp.headers["content-type"] == "application/json", resp.headers
        assert resp.json()["result"]["content"][0]["text"] == "This is a simple text response for testing."


async def test_the_plain_server_sends_each_event_at_once():
    """A streamed reply is several small writes. Were Nagle's algorithm on for the client's connection, the result
    written right after a log event would wait for the client's delayed ACK (~40 ms on Linux) on every such call.
    Fastest of 20 calls on one keep-alive connection: a streamed reply (log event, result) against a one-JSON-body
    reply of the same server; both are one backend exchange, so only that wait could tell them apart."""
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_raw(http, {}, PLAIN_STREAM)

        async def fastest(name: str, arguments: dict[str, Any], content_type: str) -> float:
            times = []
            for n in range(23):
                started = time.perf_counter()
                call = request("tools/call", {"name": name, "arguments": arguments}, n)
                resp = await http.post(f"{PLAIN_STREAM}/mcp", json=call, headers=session)
                times.append(time.perf_counter() - started)
                assert resp.headers["content-type"] == content_type and '"result"' in resp.text, resp.text
            return min(times[3:]) * 1000  # the first ones warm the connection up

        streamed = await fastest("stream_huge_event", {"size": 100}, "text/event-stream")
        buffered = await fastest("cf_test_simple_text", {}, "application/json")
    assert streamed < buffered + 25, f"streamed {streamed:.1f} ms, one JSON body {buffered:.1f} ms"
