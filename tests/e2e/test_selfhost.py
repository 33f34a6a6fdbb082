"""The plain server (functions/server, `mcp-gateway-server`): every route of every function on one listener,
without the Lambda emulator, as users self-host it. GATEWAY_URL_PLAIN is started by infra/test.sh with the
open instance's settings and backends."""

from __future__ import annotations

import json
import os

import httpx2
from mcp.client.client import Client

from conftest import ACCEPT_BOTH, open_session, request

PLAIN = os.environ.get("GATEWAY_URL_PLAIN", "http://127.0.0.1:9020").rstrip("/")


async def test_health_probes_the_backends(http: httpx2.AsyncClient):
    assert (await http.get(f"{PLAIN}/health")).json() == {"status": "ok"}, "liveness only"
    resp = await http.get(f"{PLAIN}/mcp/health?probe=1")
    assert resp.status_code == 200, resp.text
    backends = resp.json()["backends"]
    assert backends["demo"]["status"] == "up" and backends["everything"]["status"] == "up", backends


async def test_official_client_lists_and_calls_in_both_eras():
    for mode in ("legacy", "2026-07-28"):
        async with Client(f"{PLAIN}/mcp", mode=mode, cache=None) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"demo_add", "everything_echo"} <= names, (mode, names)
            result = await client.call_tool("demo_add", {"a": 20, "b": 22})
            assert result.structured_content == {"result": 42}, (mode, result)


async def test_sessions_and_code_execution(http: httpx2.AsyncClient):
    session = await open_session(http, PLAIN)
    listed = await session.result("tools/list", {})
    assert "gateway_execute_code" in {t["name"] for t in listed["tools"]}
    resp = await http.post(f"{PLAIN}/api/code/execute", json={"code": "return (await demo_add({a: 1, b: 2})).structuredContent.result"})
    assert resp.status_code == 200 and resp.json()["returnValue"] == 3, resp.text
    assert (await session.delete()).status_code in (200, 204)


async def test_unknown_routes_and_oversized_bodies_get_clear_errors(http: httpx2.AsyncClient):
    missing = await http.get(f"{PLAIN}/nope")
    assert missing.status_code == 404 and "no such route" in missing.json()["error"]
    big = json.dumps(request("ping", {"pad": "x" * (1 << 20)})).encode()
    resp = await http.post(f"{PLAIN}/mcp", content=big, headers={"Content-Type": "application/json", "Accept": ACCEPT_BOTH})
    assert resp.status_code == 413, resp.text[:300]
    assert resp.json()["error"]["message"], resp.text[:300]


async def test_one_process_counts_its_backend_calls_and_pii_tokens(http: httpx2.AsyncClient):
    """In the plain server /mcp and /metrics share a process, so a tools/call shows up in the scrape: one
    backend call for its backend, the PII tokens its result minted; and its log line names the backend."""
    from pathlib import Path

    from test_metrics import find, parse

    async def counters() -> tuple[float, float]:
        _, samples = parse((await http.get(f"{PLAIN}/metrics")).text)
        calls = find(samples, "mcp_gateway_backend_calls_total", backend="demo")
        return (calls[0] if calls else 0.0), find(samples, "mcp_gateway_pii_tokens_total")[0]

    calls_before, tokens_before = await counters()
    session = await open_session(http, PLAIN)
    result = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": "mail frank.metrics@example.com"}})
    assert "[EMAIL_" in result["content"][0]["text"], result
    calls_after, tokens_after = await counters()
    assert calls_after >= calls_before + 1 and tokens_after == tokens_before + 1, (calls_before, calls_after)
    log = (Path(__file__).resolve().parents[2] / ".run/gateway-9020.log").read_text()
    lines = [l for l in log.splitlines() if 'method="tools/call"' in l and "request" in l]
    assert lines and 'backend="demo"' in lines[-1] and "pii_tokens=1" in lines[-1], lines[-1:]
    emf = [json.loads(l) for l in log.splitlines() if l.startswith("{") and '"Backend":"demo"' in l]
    assert emf and emf[-1]["BackendCalls"] == 1 and emf[-1]["PiiTokens"] == 1, emf[-1:]
    # The line a real request printed is valid Embedded Metric Format (AWS's published schema).
    import jsonschema

    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "shared/src/telemetry/testdata/emf.schema.json").read_text())
    jsonschema.validate(emf[-1], schema)
    for directive in emf[-1]["_aws"]["CloudWatchMetrics"]:
        for metric in directive["Metrics"]:
            assert metric["Name"] in emf[-1], f"metric {metric['Name']} has no value in the line"
