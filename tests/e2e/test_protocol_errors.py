"""Raw HTTP: Streamable HTTP framing, version negotiation and every error status/code of the gateway.

Each error test keeps everything else valid (a live session, correct headers) so that only the
condition under test can explain the answer.
"""

from __future__ import annotations

import httpx2
import pytest

from conftest import (
    GATEWAY_URL,
    LATEST,
    SUPPORTED_VERSIONS,
    Session,
    base_headers,
    initialize_params,
    json_body,
    mcp_url,
    notification,
    open_session,
    request,
    rpc_error,
    rpc_result,
)

URL = mcp_url(GATEWAY_URL)


# --- initialize / negotiation ---------------------------------------------------------------


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_initialize_echoes_supported_version(http: httpx2.AsyncClient, version: str):
    resp = await http.post(URL, json=request("initialize", initialize_params(version)), headers=base_headers())
    result = rpc_result(resp)
    assert result["protocolVersion"] == version
    assert result["serverInfo"]["name"] and result["serverInfo"]["version"]
    session_id = resp.headers["mcp-session-id"]
    assert session_id and all(0x21 <= ord(c) <= 0x7E for c in session_id), repr(session_id)


async def test_initialize_unknown_version_gets_latest(http: httpx2.AsyncClient):
    resp = await http.post(URL, json=request("initialize", initialize_params("1999-01-01")), headers=base_headers())
    assert rpc_result(resp)["protocolVersion"] == LATEST


async def test_each_initialize_gets_a_new_session_id(http: httpx2.AsyncClient):
    a = await open_session(http, GATEWAY_URL)
    b = await open_session(http, GATEWAY_URL)
    assert a.session_id != b.session_id
    assert len(a.session_id) >= 16


async def test_capabilities_reflect_backends(initialized_session: Session):
    caps = initialized_session.init_result["capabilities"]
    # server-everything: tools, resources, prompts, logging; demo: tools, resources, prompts, completions
    for cap in ("tools", "resources", "prompts", "completions", "logging"):
        assert isinstance(caps.get(cap), dict), f"capability {cap!r} missing: {caps}"


async def test_ping(initialized_session: Session):
    assert await initialized_session.result("ping") == {}


# --- malformed bodies -------------------------------------------------------------------------


async def test_invalid_json_is_parse_error(initialized_session: Session):
    resp = await initialized_session.http.post(
        URL, content=b'{"jsonrpc": "2.0", "id": 1,', headers=initialized_session.headers()
    )
    rpc_error(resp, 400, -32700, id=None)


@pytest.mark.parametrize(
    "payload",
    [
        {"foo": 1},
        {"id": 7, "method": "ping"},  # no "jsonrpc"
        {"jsonrpc": "1.0", "id": 7, "method": "ping"},
        {"jsonrpc": "2.0", "id": 7},  # neither method nor result/error
        {"jsonrpc": "2.0", "id": 7, "method": 42},
        "ping",
        42,
    ],
    ids=["foo", "no-jsonrpc", "jsonrpc-1.0", "no-method", "method-not-string", "string", "number"],
)
async def test_not_a_jsonrpc_message_is_invalid_request(initialized_session: Session, payload):
    resp = await initialized_session.post(payload)
    assert resp.status_code == 400, resp.text
    body = json_body(resp)
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32600, body
    assert "result" not in body


async def test_unknown_method_is_method_not_found(initialized_session: Session):
    rid, resp = await initialized_session.call("no/such/method", {})
    rpc_error(resp, 200, -32601, id=rid)


async def test_string_request_id_is_echoed(initialized_session: Session):
    resp = await initialized_session.post(request("ping", None, id="req-abc"))
    assert rpc_result(resp, "req-abc") == {}


async def test_unknown_tool_is_invalid_params(initialized_session: Session):
    rid, resp = await initialized_session.call("tools/call", {"name": "demo_no_such_tool", "arguments": {}})
    rpc_error(resp, 200, -32602, id=rid)
    rid, resp = await initialized_session.call("tools/call", {"name": "unprefixed", "arguments": {}})
    rpc_error(resp, 200, -32602, id=rid)


@pytest.mark.parametrize("method", ["tools/list", "resources/list", "prompts/list", "resources/templates/list"])
async def test_garbage_cursor_is_invalid_params(initialized_session: Session, method: str):
    rid, resp = await initialized_session.call(method, {"cursor": "definitely-not-a-gateway-cursor"})
    rpc_error(resp, 200, -32602, id=rid)


# --- batches (2025-03-26 only) ----------------------------------------------------------------


async def test_batch_accepted_on_2025_03_26(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL, "2025-03-26")
    assert session.protocol_version == "2025-03-26"
    batch = [
        request("ping", None, 11),
        request("tools/list", {}, 12),
        notification("notifications/cancelled", {"requestId": 999, "reason": "unknown request, ignored"}),
    ]
    resp = await session.post(batch)
    body = json_body(resp)
    assert resp.status_code == 200, body
    assert isinstance(body, list) and len(body) == 2, body  # one response per request, none for the notification
    by_id = {item["id"]: item for item in body}
    assert set(by_id) == {11, 12}
    assert by_id[11]["result"] == {}
    tools = by_id[12]["result"]["tools"]
    assert tools and all(t["name"].startswith(("demo_", "everything_", "gateway_")) for t in tools), tools


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
async def test_batch_rejected_after_2025_03_26(http: httpx2.AsyncClient, version: str):
    session = await open_session(http, GATEWAY_URL, version)
    resp = await session.post([request("ping", None, 11), request("ping", None, 12)])
    assert resp.status_code == 400, resp.text
    body = json_body(resp)
    assert isinstance(body, dict) and body["error"]["code"] == -32600, body


# --- HTTP-level checks ------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "text/event-stream"])
async def test_post_without_both_media_types_in_accept_is_406(initialized_session: Session, accept: str):
    resp = await initialized_session.post(request("ping"), headers=initialized_session.headers(Accept=accept))
    assert resp.status_code == 406, resp.text


async def test_post_non_json_content_type_is_415(initialized_session: Session):
    headers = initialized_session.headers(**{"Content-Type": "text/plain"})
    resp = await initialized_session.post(request("ping"), headers=headers)
    assert resp.status_code == 415, resp.text


async def test_body_over_one_mib_is_413(initialized_session: Session):
    big = request("tools/call", {"name": "demo_echo", "arguments": {"text": "x" * (1024 * 1024 + 1)}})
    resp = await initialized_session.post(big)
    assert resp.status_code == 413, resp.text[:300]


async def test_body_just_under_limit_is_served(initialized_session: Session):
    text = "y" * (512 * 1024)
    rid, resp = await initialized_session.call("tools/call", {"name": "demo_echo", "arguments": {"text": text}})
    result = rpc_result(resp, rid)
    assert result["content"][0]["text"] == text


@pytest.mark.parametrize(
    "payload",
    [
        notification("notifications/initialized"),
        notification("notifications/cancelled", {"requestId": 12345, "reason": "test"}),
        {"jsonrpc": "2.0", "id": 99, "result": {}},
        {"jsonrpc": "2.0", "id": 98, "error": {"code": -32601, "message": "nope"}},
    ],
    ids=["initialized", "cancelled", "response", "error-response"],
)
async def test_notifications_and_responses_get_202_empty(initialized_session: Session, payload):
    resp = await initialized_session.post(payload)
    assert resp.status_code == 202, resp.text
    assert resp.content == b""


async def test_bad_protocol_version_header_is_400(initialized_session: Session):
    headers = initialized_session.headers(**{"MCP-Protocol-Version": "1999-01-01"})
    resp = await initialized_session.post(request("ping"), headers=headers)
    assert resp.status_code == 400, resp.text


async def test_missing_session_id_is_400(initialized_session: Session):
    resp = await initialized_session.http.post(URL, json=request("tools/list", {}), headers=base_headers(None, LATEST))
    assert resp.status_code == 400, resp.text


async def test_unknown_session_id_is_404(http: httpx2.AsyncClient):
    headers = base_headers("no-such-session-0123456789abcdef", LATEST)
    resp = await http.post(URL, json=request("tools/list", {}), headers=headers)
    assert resp.status_code == 404, resp.text


async def test_get_is_405_with_allow_post(initialized_session: Session):
    resp = await initialized_session.http.get(URL, headers=initialized_session.headers(Accept="text/event-stream"))
    assert resp.status_code == 405, resp.text
    assert "POST" in [m.strip().upper() for m in resp.headers.get("allow", "").split(",")], dict(resp.headers)


async def test_delete_ends_session(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL)
    assert (await session.result("ping")) == {}
    resp = await session.delete()
    assert resp.status_code == 204, resp.text
    _, after = await session.call("tools/list", {})
    assert after.status_code == 404, after.text
    assert (await session.delete()).status_code == 404

