"""Degraded operation: GATEWAY_URL_FAULTY's config adds a backend that never answers ("hang", 127.0.0.1:3003,
timeoutMs 1500) and one that refuses connections ("dead", 127.0.0.1:3009, timeoutMs 1500).
The healthy backends must keep working; health must say which are down.
"""

from __future__ import annotations

from typing import Any

import httpx2

from conftest import (
    DEMO_RESOURCE_URIS,
    EVERYTHING_DOC_URIS,
    GATEWAY_URL,
    GATEWAY_URL_FAULTY,
    json_body,
    open_session,
)

SECRETISH = ("secret", "token", "password", "authorization", "credential", "headers")


def keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value] + [k2 for v in value.values() for k2 in keys_of(v)]
    if isinstance(value, list):
        return [k for v in value for k in keys_of(v)]
    return []


async def test_initialize_works_despite_broken_backends(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL_FAULTY)
    caps = session.init_result["capabilities"]
    assert isinstance(caps.get("tools"), dict) and isinstance(caps.get("resources"), dict), caps


async def test_tools_list_has_healthy_backends_only(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL_FAULTY)
    tools, _ = await session.list_all("tools/list", "tools")
    names = [t["name"] for t in tools]
    assert len(names) == len(set(names)), names
    assert {"everything_echo", "everything_get-sum", "demo_echo", "demo_add"} <= set(names)
    assert not [n for n in names if n.startswith(("hang_", "dead_"))], names


async def test_calls_to_healthy_backends_work(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL_FAULTY)
    result = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": "still here"}})
    assert result["content"][0]["text"] == "still here"
    result = await session.result("tools/call", {"name": "everything_get-sum", "arguments": {"a": 2, "b": 5}})
    assert "7" in result["content"][0]["text"]


async def test_resources_list_pages_past_broken_backends(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL_FAULTY)
    resources, _ = await session.list_all("resources/list", "resources")
    uris = [r["uri"] for r in resources]
    assert len(uris) == len(set(uris)), uris
    assert set(uris) == EVERYTHING_DOC_URIS | DEMO_RESOURCE_URIS


async def test_read_resource_on_faulty_instance(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL_FAULTY)
    result = await session.result("resources/read", {"uri": "demo://greeting"})
    assert result["contents"][0]["text"] == "Hello from the demo backend"


async def test_health_faulty_is_degraded(http: httpx2.AsyncClient):
    resp = await http.get(f"{GATEWAY_URL_FAULTY}/mcp/health?probe=1")
    assert resp.status_code == 200, resp.text
    body = json_body(resp)
    assert body["status"] == "degraded", body
    backends = body["backends"]
    assert set(backends) == {"everything", "demo", "hang", "dead"}, body
    assert backends["everything"]["status"] == "up" and backends["demo"]["status"] == "up", body
    assert backends["hang"]["status"] == "down" and backends["dead"]["status"] == "down", body


async def test_health_primary_is_ok(http: httpx2.AsyncClient):
    resp = await http.get(f"{GATEWAY_URL}/mcp/health?probe=1")
    assert resp.status_code == 200, resp.text
    body = json_body(resp)
    assert body["status"] == "ok", body
    assert set(body["backends"]) == {"everything", "demo"}, body
    assert all(b["status"] == "up" for b in body["backends"].values()), body


async def test_health_reveals_no_secrets(http: httpx2.AsyncClient):
    for base in (GATEWAY_URL, GATEWAY_URL_FAULTY):
        assert (await http.get(f"{base}/health")).json() == {"status": "ok"}, "liveness only"
        resp = await http.get(f"{base}/mcp/health?probe=1")
        body = json_body(resp)
        leaked = [k for k in keys_of(body) if any(s in k.lower().replace("-", "_") for s in SECRETISH)]
        assert not leaked, f"{base}/mcp/health exposes {leaked}: {body}"
        text = resp.text.lower()
        assert "aws_secret" not in text and "mcp-gateway/api-keys" not in text, text
