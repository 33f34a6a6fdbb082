"""The gateway attacked as an attacker would, against the real local stack, through the official MCP client
where a client applies and raw HTTP for transport attacks. One or more cases per class of the security
reviews (SECURITY.md, "Threat model"), each asserting the safe outcome. Sandbox and PII classes have their
own files (test_adversarial_sandbox.py, test_adversarial_pii.py).

Instances: GATEWAY_URL_ADVERSARIAL (9017, see adversary.py), the api-key and oauth instances (9005, 9006)
sharing one table, the rate-limited pair (9007), and the open pair (9000, 9001) for a race across processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

import jwt_tokens
from adversary import (
    ADV, FAULT_SERVER, ROOT, Raw, address, all_resource_uris, client, error_of, recorded, renamed,
    start_with_backends,
)
from conftest import GATEWAY_URL, GATEWAY_URL_2, base_headers, initialize_params, mcp_url, request
from test_auth import API_KEY_URL, OAUTH_URL, create_key

LIMITED = os.environ.get("GATEWAY_URL_LIMITED", "http://127.0.0.1:9007").rstrip("/")
RENAMED_ECHO = renamed("collide", "demo_echo")
SCOPES = {
    "all": "*",
    "mcp": "mcp:*",
    "adder": "tool:demo_add",
    "demo_wild": "tool:demo_*",
    "backend_demo": "backend:demo",
    "docs": "resource:demo prompt:demo_*",
    "health": "gateway:health",
    "coder": "code:execute tool:demo_*",
    "renamed": f"tool:{RENAMED_ECHO}",
    "batcher": "*",
}


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[str, str]]:
    """name -> (key, key id), made through the operator script; instances reload keys every 2 s."""
    made = {name: create_key(scopes) for name, scopes in SCOPES.items()}
    time.sleep(3)
    return made


def key(keys, name: str) -> str:
    return keys[name][0]


# ---------------------------------------------------------------- authorization reaches every method


async def test_tool_only_key_lists_no_resource_template_or_prompt(keys):
    async with client(key(keys, "adder")) as c:
        assert (await c.list_resources()).resources == []
        assert (await c.list_resource_templates()).resource_templates == []
        assert (await c.list_prompts()).prompts == []
        assert [t.name for t in (await c.list_tools()).tools] == ["demo_add"]


async def test_tool_only_key_cannot_read_a_resource_whose_uri_it_knows(keys):
    async with client(key(keys, "adder")) as c:
        for uri in ("demo://greeting", "demo://users/42", "demo://resource/static/document/features.md"):
            with pytest.raises(Exception, match="resource not found"):
                await c.read_resource(uri)


async def test_a_denied_resource_looks_exactly_like_a_missing_one(http, keys):
    raw = Raw(http, key(keys, "adder"))
    await raw.initialize()
    denied = error_of(await raw.rpc("resources/read", {"uri": "demo://greeting"}))
    missing = error_of(await raw.rpc("resources/read", {"uri": "demo://no-such-thing"}))
    assert denied["code"] == missing["code"] == -32002
    assert denied["message"].replace("demo://greeting", "X") == missing["message"].replace("demo://no-such-thing", "X")


async def test_tool_only_key_cannot_get_a_prompt_and_hears_unknown_prompt(http, keys):
    async with client(key(keys, "adder")) as c:
        with pytest.raises(Exception, match="unknown prompt"):
            await c.get_prompt("demo_summarize", {"topic": "secrets"})
    raw = Raw(http, key(keys, "adder"))
    await raw.initialize()
    denied = error_of(await raw.rpc("prompts/get", {"name": "demo_summarize", "arguments": {"topic": "x"}}))
    missing = error_of(await raw.rpc("prompts/get", {"name": "demo_nothing"}))
    assert denied["message"] == "invalid params: unknown prompt: demo_summarize"
    assert missing["message"] == "invalid params: unknown prompt: demo_nothing"


async def test_tool_only_key_gets_no_completion_from_any_backend(http, keys):
    raw = Raw(http, key(keys, "adder"))
    await raw.initialize()
    by_prompt = {"ref": {"type": "ref/prompt", "name": "demo_summarize"}, "argument": {"name": "topic", "value": "a"}}
    assert error_of(await raw.rpc("completion/complete", by_prompt))["code"] == -32602
    by_resource = {"ref": {"type": "ref/resource", "uri": "demo://users/{user_id}"}, "argument": {"name": "user_id", "value": "4"}}
    assert (await raw.rpc("completion/complete", by_resource))["result"]["completion"]["values"] == []


async def test_the_modern_era_applies_the_same_checks(keys):
    async with client(key(keys, "adder"), mode="2026-07-28") as c:
        assert (await c.list_resources()).resources == []
        assert (await c.list_prompts()).prompts == []
        with pytest.raises(Exception):
            await c.read_resource("demo://greeting")
        assert (await c.call_tool("demo_add", {"a": 2, "b": 3})).structured_content == {"result": 5}


async def test_a_backend_grant_covers_every_kind_of_that_backend_only(keys):
    async with client(key(keys, "backend_demo")) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        assert {"demo_add", "demo_echo"} <= tools and not any(n.startswith(("everything_", "collide")) for n in tools)
        assert RENAMED_ECHO not in tools, "the renamed collision belongs to backend collide"
        uris = await all_resource_uris(c)
        assert "demo://greeting" in uris and not any(u.startswith("demo://resource/") for u in uris), uris
        assert (await c.read_resource("demo://greeting")).contents[0].text == "Hello from the demo backend"
        prompts = [p.name for p in (await c.list_prompts()).prompts]
        assert "demo_summarize" in prompts and all(n.startswith("demo_") for n in prompts), prompts
        assert (await c.get_prompt("demo_summarize", {"topic": "x"})).messages
        with pytest.raises(Exception, match="resource not found"):
            await c.read_resource("demo://resource/static/document/features.md")


async def test_a_prefix_wildcard_does_not_cover_a_collision_renamed_into_its_prefix(keys):
    async with client(key(keys, "demo_wild")) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        assert "demo_echo" in tools and RENAMED_ECHO not in tools and "collide_only" not in tools, tools
        with pytest.raises(Exception, match=f"unknown tool: {RENAMED_ECHO}"):
            await c.call_tool(RENAMED_ECHO, {})


async def test_a_renamed_collision_denied_looks_like_a_missing_tool(http, keys):
    raw = Raw(http, key(keys, "demo_wild"))
    await raw.initialize()
    denied = error_of(await raw.rpc("tools/call", {"name": RENAMED_ECHO, "arguments": {}}))
    missing = error_of(await raw.rpc("tools/call", {"name": "demo_echo-00000000", "arguments": {}}))
    assert denied == {**missing, "message": missing["message"].replace("demo_echo-00000000", RENAMED_ECHO)}


async def test_the_exact_name_of_a_renamed_collision_grants_that_tool_only(keys):
    async with client(key(keys, "renamed")) as c:
        assert [t.name for t in (await c.list_tools()).tools] == [RENAMED_ECHO]
        result = await c.call_tool(RENAMED_ECHO, {"text": "hi"})
        assert not result.is_error and "fault server" in result.content[0].text, result


async def test_star_and_mcp_star_still_mean_everything(keys):
    for name in ("all", "mcp"):
        async with client(key(keys, name)) as c:
            tools = {t.name for t in (await c.list_tools()).tools}
            assert {"demo_echo", RENAMED_ECHO, "collide_only", "everything_echo"} <= tools, (name, tools)
            assert (await c.list_prompts()).prompts and (await c.list_resources()).resources


async def test_resource_and_prompt_grants_reach_their_kind_and_no_tool(keys):
    async with client(key(keys, "docs")) as c:
        assert (await c.list_tools()).tools == []
        assert (await c.read_resource("demo://users/7")).contents
        assert (await c.get_prompt("demo_summarize", {"topic": "y"})).messages
        with pytest.raises(Exception, match="unknown tool: demo_echo"):
            await c.call_tool("demo_echo", {"text": "x"})


async def test_a_forged_cursor_naming_a_denied_backend_is_an_unknown_backend(http, keys):
    raw = Raw(http, key(keys, "docs"))
    await raw.initialize()

    def cursor(backend: str) -> str:
        import base64

        raw_cursor = json.dumps({"list": "resources", "next": {backend: "offset:0"}}).encode()
        return base64.urlsafe_b64encode(raw_cursor).decode().rstrip("=")

    denied = error_of(await raw.rpc("resources/list", {"cursor": cursor("everything")}))
    missing = error_of(await raw.rpc("resources/list", {"cursor": cursor("nobody")}))
    assert denied == missing and "unknown backend" in denied["message"]


async def test_initialize_and_discover_name_only_the_backends_a_key_may_use(http, keys):
    async with client(key(keys, "adder")) as c:
        instructions = c.instructions or ""
    envelope = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    discover = await http.post(
        mcp_url(ADV), json=request("server/discover", {"_meta": envelope}),
        headers={**base_headers(), "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover",
                 "Authorization": f"Bearer {key(keys, 'adder')}"},
    )
    modern = discover.json()["result"]["instructions"]
    for text in (instructions, modern):
        assert "demo" in text and "everything" not in text and "collide" not in text, text


async def test_tool_calls_from_code_are_checked_by_backend_too(http, keys):
    code = (
        f"const out = [];"
        f"try {{ await callTool('{RENAMED_ECHO}', {{}}); out.push('reached'); }} catch (e) {{ out.push(e.name); }}"
        f"out.push((await demo_add({{a: 1, b: 2}})).structuredContent.result); return out;"
    )
    resp = await http.post(f"{ADV}/api/code/execute", json={"code": code}, headers={"Authorization": f"Bearer {key(keys, 'coder')}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["returnValue"] == ["ToolNotFoundError", 3], resp.json()


async def test_the_gateway_s_own_tools_need_their_own_scope(keys):
    async with client(key(keys, "backend_demo")) as c:
        assert "gateway_execute_code" not in {t.name for t in (await c.list_tools()).tools}
        with pytest.raises(Exception, match="unknown tool: gateway_execute_code"):
            await c.call_tool("gateway_execute_code", {"code": "return 1"})


# ---------------------------------------------------------------- public routes


async def test_anonymous_health_is_status_only_and_contacts_no_backend(http):
    await http.delete(f"{FAULT_SERVER}/_recorded")
    for path in ("/health", "/mcp/health", "/mcp/health?probe=1"):
        resp = await http.get(f"{ADV}{path}", headers={"X-Forwarded-For": address()})
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}, (path, resp.text)
    assert await recorded(http) == [], "an anonymous health request reached a backend"


async def test_the_detailed_view_needs_a_credential_holding_gateway_health(http, keys):
    adder = await http.get(f"{ADV}/mcp/health", headers={"Authorization": f"Bearer {key(keys, 'adder')}"})
    assert adder.status_code == 403 and 'scope="gateway:health"' in adder.headers["www-authenticate"], adder.text
    assert "collide" not in adder.text and "everything" not in adder.text
    guess = await http.get(f"{ADV}/mcp/health", headers={"Authorization": "Bearer mcpgw_" + "G" * 43, "X-Forwarded-For": address()})
    assert guess.status_code == 401
    detailed = await http.get(f"{ADV}/mcp/health", headers={"Authorization": f"Bearer {key(keys, 'health')}"})
    assert detailed.status_code == 200, detailed.text
    assert set(detailed.json()["backends"]) == {"demo", "everything", "collide"}
    assert "x-ratelimit-remaining" in detailed.headers, "the detailed view is charged to the caller"


async def test_backend_probes_are_shared_whoever_asks_and_however_often(http, keys):
    await asyncio.sleep(5.1)  # any probe an earlier test caused is no longer fresh
    await http.delete(f"{FAULT_SERVER}/_recorded")
    headers = {"Authorization": f"Bearer {key(keys, 'health')}"}
    views = await asyncio.gather(*(http.get(f"{ADV}/mcp/health?probe=1", headers=headers) for _ in range(20)))
    assert all(v.status_code == 200 for v in views), [v.status_code for v in views]
    assert views[0].json()["backends"]["collide"]["status"] == "up", views[0].json()
    initializes = [r for r in await recorded(http) if r.get("rpc") == "initialize"]
    # One probe per backend per 5 s: twenty views at most straddle one refresh.
    assert 1 <= len(initializes) <= 2, initializes


async def test_public_routes_are_rate_limited_per_client_address(http):
    for path in ("/.well-known/oauth-protected-resource", "/health", "/metrics", "/mcp/health"):
        me = address()
        statuses = [(await http.get(f"{ADV}{path}", headers={"X-Forwarded-For": me})).status_code for _ in range(5)]
        assert statuses == [200] * 5, (path, statuses)
        refused = await http.get(f"{ADV}{path}", headers={"X-Forwarded-For": me})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, (path, refused.text)
        other = await http.get(f"{ADV}{path}", headers={"X-Forwarded-For": address()})
        assert other.status_code == 200, (path, "another address has its own count")


async def test_public_metrics_name_no_backend(http, keys):
    async with client(key(keys, "all")) as c:
        await c.call_tool("demo_add", {"a": 1, "b": 1})
    resp = await http.get(f"{ADV}/metrics", headers={"X-Forwarded-For": address()})
    assert resp.status_code == 200
    assert 'backend="' not in resp.text and "demo" not in resp.text and "collide" not in resp.text


# ---------------------------------------------------------------- client address (X-Forwarded-For)


async def test_rotating_the_client_written_forwarded_for_does_not_dodge_failed_auth_throttling(http):
    me = address()
    statuses = []
    for i in range(6):
        spoofed = f"198.51.100.{i + 1}, 203.0.113.{i + 1}, {me}"
        resp = await http.post(
            mcp_url(ADV), json=request("initialize", initialize_params()),
            headers={**base_headers(), "Authorization": "Bearer mcpgw_" + "Z" * 43, "X-Forwarded-For": spoofed},
        )
        statuses.append(resp.status_code)
    assert statuses == [401] * 5 + [429], statuses
    fresh = await http.post(
        mcp_url(ADV), json=request("initialize", initialize_params()),
        headers={**base_headers(), "Authorization": "Bearer mcpgw_" + "Z" * 43, "X-Forwarded-For": address()},
    )
    assert fresh.status_code == 401, "the rightmost (proxy-appended) entry is the address"


async def test_an_unparsable_forwarded_for_entry_is_never_an_address(http):
    statuses = []
    for i in range(7):
        resp = await http.get(f"{ADV}/.well-known/oauth-protected-resource", headers={"X-Forwarded-For": f"garbage-{i}"})
        statuses.append(resp.status_code)
    # Every one counts against the one address API Gateway saw: rotating garbage buys nothing.
    assert 429 in statuses and statuses[-1] == 429, statuses


# ---------------------------------------------------------------- batches (2025-03-26)


async def test_a_batch_pays_the_per_tool_limit_for_every_message(http, keys):
    raw = Raw(http, key(keys, "batcher"), base=LIMITED, version="2025-03-26")
    await asyncio.sleep(10 - time.time() % 10 + 0.05)  # a fresh 10 s window on the limited instance
    assert (await raw.initialize()).status_code == 200
    batch = [request("tools/call", {"name": "demo_add", "arguments": {"a": i, "b": 1}}, i) for i in range(1, 5)]
    replies = (await raw.post(batch)).json()
    # Messages run concurrently: which one is refused is not fixed, that exactly one is.
    refused = [r for r in replies if "error" in r]
    assert len(replies) == 4 and len(refused) == 1, replies
    assert refused[0]["error"]["code"] == -32000 and "retryAfterSeconds" in refused[0]["error"]["data"]


async def test_a_batch_is_charged_per_message_and_bounded_in_size(http, keys):
    raw = Raw(http, key(keys, "all"), version="2025-03-26")
    await raw.initialize()
    before = await raw.post(request("ping", {}, 1))
    batch = [request("ping", {}, i) for i in range(10)]
    after = await raw.post(batch)
    spent = int(before.headers["x-ratelimit-remaining"]) - int(after.headers["x-ratelimit-remaining"])
    assert spent == 10 or int(after.headers["x-ratelimit-reset"]) != int(before.headers["x-ratelimit-reset"]), spent
    too_big = await raw.post([request("ping", {}, i) for i in range(21)])
    assert too_big.status_code == 400 and "at most 20" in too_big.json()["error"]["message"], too_big.text
    assert (await raw.post([])).status_code == 400


async def test_a_batch_queued_for_a_backend_slot_never_opens_that_backend_s_breaker(http, keys):
    """9017 allows one backend exchange in flight (GATEWAY_BACKEND_CONCURRENCY=1); demo's timeout is 10 s.
    Four 4 s calls in one batch: the third waits 8 s for its slot and runs 4 s more (12 s, past the
    timeout if waiting counted), the fourth finds no slot within 10 s and is told the gateway is busy."""
    raw = Raw(http, key(keys, "all"), version="2025-03-26")
    assert (await raw.initialize()).status_code == 200
    batch = [request("tools/call", {"name": "demo_slow", "arguments": {"seconds": 4}}, i) for i in range(1, 5)]
    replies = (await raw.post(batch)).json()
    texts = [r["result"]["content"][0]["text"] for r in replies]
    assert texts.count("done") == 3 and any("busy" in t and "was not run." in t for t in texts), texts
    view = (await raw.get("/mcp/health")).json()
    assert view["backends"]["demo"]["breaker"]["state"] == "closed", view["backends"]["demo"]
    assert view["backends"]["demo"]["breaker"]["recentFailures"] == 0, view["backends"]["demo"]


async def test_batches_are_refused_outside_2025_03_26(http, keys):
    raw = Raw(http, key(keys, "all"))
    await raw.initialize()
    resp = await raw.post([request("ping", {}, 1), request("ping", {}, 2)])
    assert resp.status_code == 400 and "2025-03-26" in resp.json()["error"]["message"], resp.text


# ---------------------------------------------------------------- sessions


async def test_a_delete_racing_a_slow_call_on_another_process_leaves_the_session_deleted(http):
    raw = Raw(http, None, base=GATEWAY_URL)
    assert (await raw.initialize()).status_code == 200
    slow = asyncio.create_task(raw.rpc("tools/call", {"name": "demo_slow", "arguments": {"seconds": 2}}))
    await asyncio.sleep(0.5)
    deleted = await http.delete(mcp_url(GATEWAY_URL_2), headers=raw.headers())
    assert deleted.status_code == 204, deleted.text
    await slow  # finished after the DELETE: its session write must not bring the session back
    # Another process may serve its copy for GATEWAY_SESSION_CACHE_SECS (5 s); after that, never again.
    await asyncio.sleep(6)
    for base in (GATEWAY_URL, GATEWAY_URL_2):
        raw.base = base
        resp = await raw.post(request("tools/list", {}, 9))
        assert resp.status_code == 404, (base, resp.text)


# ---------------------------------------------------------------- identities are namespaced


@pytest.fixture(scope="module")
def twin() -> tuple[str, str]:
    """An API key, and a JWT of the oauth instance whose `sub` is that key's id (both instances share one
    table: sessions, vaults and limits)."""
    key, key_id = create_key("*")
    time.sleep(3)
    return key, jwt_tokens.mint(sub=key_id, scope="*")


async def test_a_jwt_whose_sub_is_a_key_id_cannot_use_that_key_s_session(http, twin):
    key, token = twin
    mine = Raw(http, key, base=API_KEY_URL)
    assert (await mine.initialize()).status_code == 200
    thief = Raw(http, token, base=OAUTH_URL)
    thief.session = mine.session
    resp = await thief.post(request("tools/list", {}, 2))
    assert resp.status_code == 404, resp.text


async def test_a_jwt_whose_sub_is_a_key_id_has_its_own_rate_limit(http, twin):
    key, token = twin
    ping = lambda raw: raw.post(request("ping", {}, 3))  # noqa: E731
    mine, theirs = Raw(http, key, base=API_KEY_URL), Raw(http, token, base=OAUTH_URL)
    await mine.initialize()
    await theirs.initialize()
    for _ in range(5):
        spent = await ping(mine)
    other = await ping(theirs)
    same_window = spent.headers["x-ratelimit-reset"] == other.headers["x-ratelimit-reset"]
    assert not same_window or int(other.headers["x-ratelimit-remaining"]) > int(spent.headers["x-ratelimit-remaining"])


async def test_a_jwt_whose_sub_is_a_key_id_cannot_resolve_that_key_s_pii_tokens(twin):
    key, token = twin
    async with client(key, mode="2026-07-28", base=API_KEY_URL) as mine:
        result = await mine.call_tool("demo_echo", {"text": "alice.pii-test@example.com"})
        minted = result.content[0].text
        assert "[EMAIL_" in minted and "alice" not in minted, minted
        # The owner's own token is restored before the backend sees it (26 characters, not the token's).
        restored = await mine.call_tool("demo_length", {"text": minted})
        assert restored.structured_content == {"result": len("alice.pii-test@example.com")}, restored
    async with client(token, mode="2026-07-28", base=OAUTH_URL) as thief:
        seen = await thief.call_tool("demo_length", {"text": minted})
        assert seen.structured_content == {"result": len(minted)}, "the other principal's vault resolved it"


async def test_an_oversized_jwt_subject_is_refused(http):
    token = jwt_tokens.mint(sub="s" * 300, scope="*")
    resp = await http.post(
        mcp_url(OAUTH_URL), json=request("initialize", initialize_params()),
        headers={**base_headers(), "Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 401 and 'error="invalid_token"' in resp.headers["www-authenticate"]


# ---------------------------------------------------------------- backend secrets namespace


@pytest.mark.parametrize(
    "secret, why",
    [
        ("mcp-gateway/api-keys", "gateway's own"),
        ("mcp-gateway/pii-key", "gateway's own"),
        ("prod/database-password", "GATEWAY_BACKEND_SECRETS_PREFIX"),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-stack/backends/x-AbC123", "not under"),
    ],
)
def test_a_backend_secret_outside_the_prefix_is_refused_at_load_with_the_field_named(secret, why):
    document = {"backends": [{"id": "x", "url": "https://x.example/mcp", "auth": {"type": "bearer", "secret": secret}}]}
    done = start_with_backends(document)
    assert done.returncode != 0
    assert "GATEWAY_BACKENDS_JSON: backends[0].auth.secret:" in done.stderr and why in done.stderr, done.stderr[-500:]


def test_a_secret_prefix_covering_the_gateway_s_own_secrets_is_refused_at_load():
    done = start_with_backends({"backends": []}, GATEWAY_BACKEND_SECRETS_PREFIX="mcp-gateway/")
    assert done.returncode != 0 and "GATEWAY_BACKEND_SECRETS_PREFIX" in done.stderr, done.stderr[-500:]


# ---------------------------------------------------------------- stored input is bounded


@pytest.mark.parametrize("field", ["clientInfo", "capabilities"])
async def test_oversized_initialize_input_gets_400_naming_the_field(http, keys, field):
    params = initialize_params()
    params[field] = {"name": "x" * (450 * 1024), "version": "1"} if field == "clientInfo" else {"experimental": {"x": "y" * (450 * 1024)}}
    resp = await http.post(
        mcp_url(ADV), json=request("initialize", params), headers={**base_headers(), "Authorization": f"Bearer {key(keys, 'all')}"}
    )
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["error"]["data"]["field"] == f"params.{field}" and "mcp-session-id" not in resp.headers


async def test_a_2kb_session_id_gets_400_and_a_foreign_one_404(http, keys):
    raw = Raw(http, key(keys, "all"))
    raw.session = "A" * 2048
    resp = await raw.post(request("tools/list", {}, 2))
    assert resp.status_code == 400 and "Mcp-Session-Id" in resp.json()["error"]["message"], resp.text
    raw.session = "never-issued-by-this-gateway"
    assert (await raw.post(request("tools/list", {}, 3))).status_code == 404


async def test_the_detailed_view_shows_no_backend_url_header_or_credential(http, keys):
    view = await http.get(f"{ADV}/mcp/health?probe=1", headers={"Authorization": f"Bearer {key(keys, 'health')}"})
    text = view.text.lower()
    assert view.status_code == 200 and "127.0.0.1" not in text and "3011" not in text and "authorization" not in text
    assert key(keys, "health").lower() not in text


# ---------------------------------------------------------------- every route is counted


async def test_a_denied_api_code_request_writes_a_metric_line_with_its_auth_denial(http):
    me = address()
    resp = await http.post(f"{ADV}/api/code/execute", json={"code": "return 1"},
                           headers={"Authorization": "Bearer mcpgw_" + "Q" * 43, "X-Forwarded-For": me})
    assert resp.status_code == 401
    log = ROOT / ".run" / "gateway-9017.log"
    for _ in range(20):
        lines = [json.loads(l) for l in log.read_text().splitlines() if l.startswith("{") and '"/api/code/execute"' in l]
        denied = [l for l in lines if l.get("Route") == "/api/code/execute" and l.get("AuthDenials") == 1]
        if denied:
            break
        await asyncio.sleep(0.25)
    assert denied, lines[-3:]
