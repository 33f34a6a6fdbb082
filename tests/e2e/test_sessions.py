"""Sessions live in DynamoDB, not in a process: a session opened on one gateway process continues on another.

GATEWAY_URL and GATEWAY_URL_2 are two separate `cargo lambda watch` processes with the same config.
"""

from __future__ import annotations

import asyncio
import time

import httpx2

from conftest import GATEWAY_URL, GATEWAY_URL_2, open_session, request, rpc_result


async def test_session_continues_on_second_process(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL)

    tools, _ = await session.list_all("tools/list", "tools", base=GATEWAY_URL_2)
    names = {t["name"] for t in tools}
    assert {"demo_echo", "everything_echo"} <= names

    result = await session.result(
        "tools/call", {"name": "demo_echo", "arguments": {"text": "across processes"}}, base=GATEWAY_URL_2
    )
    assert result["content"][0]["text"] == "across processes"
    assert not result.get("isError", False)

    result = await session.result("tools/call", {"name": "everything_echo", "arguments": {"message": "p2"}},
                                  base=GATEWAY_URL_2)
    assert result["content"][0]["text"] == "Echo: p2"

    # ... and still on the first one afterwards.
    result = await session.result("tools/call", {"name": "demo_add", "arguments": {"a": 1, "b": 2}}, base=GATEWAY_URL)
    assert result["content"][0]["text"] == "3"


async def test_delete_on_one_process_ends_session_on_both(http: httpx2.AsyncClient):
    session = await open_session(http, GATEWAY_URL)
    assert (await session.result("ping", base=GATEWAY_URL_2)) == {}

    deleted = await session.delete(base=GATEWAY_URL_2)
    assert deleted.status_code == 204, deleted.text

    # The deleting process refuses it at once; another one within its copy's lifetime
    # (GATEWAY_SESSION_CACHE_SECS, 5 s by default), and from then on for good.
    _, resp = await session.call("tools/list", {}, base=GATEWAY_URL_2)
    assert resp.status_code == 404, f"{GATEWAY_URL_2}: HTTP {resp.status_code} {resp.text[:300]}"
    deadline = time.monotonic() + 7
    while True:
        _, resp = await session.call("tools/list", {}, base=GATEWAY_URL)
        if resp.status_code == 404 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert resp.status_code == 404, f"{GATEWAY_URL}: HTTP {resp.status_code} {resp.text[:300]}"
    for _ in range(3):
        _, resp = await session.call("tools/list", {}, base=GATEWAY_URL)
        assert resp.status_code == 404, "a deleted session never comes back"


async def test_deleting_one_session_leaves_others(http: httpx2.AsyncClient):
    a = await open_session(http, GATEWAY_URL)
    b = await open_session(http, GATEWAY_URL_2)
    assert (await a.delete()).status_code == 204
    assert (await b.result("ping", base=GATEWAY_URL)) == {}
    assert (await b.result("ping", base=GATEWAY_URL_2)) == {}
    assert (await b.delete(base=GATEWAY_URL)).status_code == 204


async def test_negotiated_version_travels_with_session(http: httpx2.AsyncClient):
    """The batch rule depends on the version negotiated at initialize: process 2 must know it."""
    old = await open_session(http, GATEWAY_URL, "2025-03-26")
    resp = await old.post([request("ping", None, 1), request("ping", None, 2)], base=GATEWAY_URL_2)
    assert resp.status_code == 200, resp.text
    assert sorted(item["id"] for item in resp.json()) == [1, 2]

    new = await open_session(http, GATEWAY_URL, "2025-11-25")
    resp = await new.post([request("ping", None, 1), request("ping", None, 2)], base=GATEWAY_URL_2)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == -32600


async def test_session_ids_are_not_shared_between_independent_sessions(http: httpx2.AsyncClient):
    a = await open_session(http, GATEWAY_URL)
    b = await open_session(http, GATEWAY_URL_2)
    assert a.session_id != b.session_id
    # Both work on either process; the answer matches the request in each.
    for s, base in ((a, GATEWAY_URL_2), (b, GATEWAY_URL)):
        rid, resp = await s.call("tools/call", {"name": "demo_echo", "arguments": {"text": s.session_id}}, base=base)
        assert rpc_result(resp, rid)["content"][0]["text"] == s.session_id
