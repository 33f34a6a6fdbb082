"""The admin API end to end (issue 18): two gateway processes over one table and key secret of their own
(GATEWAY_URL_ADMIN under `cargo lambda watch`, GATEWAY_URL_ADMIN_2 the plain server; both poll the stored
configuration every 2 s). Each operation, validation like the configuration file, 401/403 without
gateway:admin, 409 on a stale version, secrets never returned, and convergence: a backend or key made
through one process works through the other within 5 s, and a disabled one stops within 5 s."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from admin_client import (
    ADMIN_URL, ADMIN_URL_2, CONVERGENCE_S, Admin, client, mcp_call, mcp_tools, script_key, wait_until,
)

DEMO = "http://127.0.0.1:3002/mcp"


@pytest.fixture(scope="module")
def http():
    with client() as http:
        yield http


@pytest.fixture(scope="module")
def admin_key(http) -> str:
    key = script_key("gateway:admin")
    # The script announced the new key; an unknown key also makes an instance look again.
    for base in (ADMIN_URL, ADMIN_URL_2):
        wait_until(lambda: Admin(http, base, key).call("GET", "/status").status_code == 200, 30, f"admin key on {base}")
    return key


@pytest.fixture(scope="module")
def one(http, admin_key) -> Admin:
    return Admin(http, ADMIN_URL, admin_key)


@pytest.fixture(scope="module")
def two(http, admin_key) -> Admin:
    return Admin(http, ADMIN_URL_2, admin_key)


@pytest.fixture(scope="module")
def user_key(one, two, http) -> str:
    """A tool:call key made through the API on one process, usable on the other."""
    created = one.ok("POST", "/keys", {"name": "e2e-user", "scopes": ["tool:call"]}, status=201)
    wait_until(lambda: mcp_tools(http, ADMIN_URL_2, created["key"]) is not None, CONVERGENCE_S, "user key on process 2")
    return created["key"]


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def test_without_gateway_admin_the_api_is_refused(http, one):
    resp = http.get(f"{ADMIN_URL}/admin/api/backends")
    assert resp.status_code == 401, resp.text
    assert "resource_metadata=" in resp.headers["www-authenticate"]
    bad = one.call("GET", "/backends", key="mcpgw_" + "A" * 43)
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]
    for scope in ("tool:call", "gateway:*", "gateway:call", "mcp:*"):
        created = one.ok("POST", "/keys", {"name": f"no-admin {scope}", "scopes": [scope]}, status=201)
        # Within 5 s the key works (checked on /mcp), and still cannot reach the admin API.
        wait_until(lambda: mcp_tools(http, ADMIN_URL, created["key"]) is not None, CONVERGENCE_S, scope)
        refused = one.call("GET", "/backends", key=created["key"])
        assert refused.status_code == 403, (scope, refused.text)
        assert "gateway:admin" in refused.json()["error"], refused.text
    star = one.ok("POST", "/keys", {"name": "star", "scopes": ["*"]}, status=201)
    wait_until(lambda: one.call("GET", "/backends", key=star["key"]).status_code == 200, CONVERGENCE_S, "* reaches admin")


def test_a_backend_converges_across_processes_and_disabling_it_too(http, one, two, user_key):
    bid = unique("e2e")
    started = time.monotonic()
    created = one.ok("POST", "/backends", {"id": bid, "url": DEMO, "timeoutMs": 10000}, status=201)
    assert created["source"] == "stored" and created["version"] > 0 and created["active"] is True
    took = wait_until(lambda: f"{bid}_add" in (mcp_tools(http, ADMIN_URL_2, user_key) or set()), CONVERGENCE_S,
                      "new backend listed by the second process")
    assert time.monotonic() - started < CONVERGENCE_S, took
    answer = mcp_call(http, ADMIN_URL_2, user_key, f"{bid}_add", {"a": 20, "b": 22})
    assert answer["result"]["structuredContent"] == {"result": 42}, answer
    # The process that stored it (its mcp function is another process under the emulator) too.
    wait_until(lambda: f"{bid}_add" in (mcp_tools(http, ADMIN_URL, user_key) or set()), CONVERGENCE_S, "process 1")
    assert any(b["id"] == bid for b in two.ok("GET", "/backends")["backends"])

    entry = two.ok("GET", f"/backends/{bid}")
    entry["enabled"] = False
    disabled = two.ok("PUT", f"/backends/{bid}", entry)
    assert disabled["enabled"] is False and disabled["version"] > created["version"]
    wait_until(lambda: f"{bid}_add" not in (mcp_tools(http, ADMIN_URL, user_key) or {f"{bid}_add"}), CONVERGENCE_S,
               "disabled backend gone from the first process")
    gone = mcp_call(http, ADMIN_URL, user_key, f"{bid}_add", {"a": 1, "b": 2})
    assert gone["error"]["code"] == -32602, gone

    # A writer holding the old version loses: 409, with the version to reload.
    stale = one.call("PUT", f"/backends/{bid}", {**created, "timeoutMs": 20000})
    assert stale.status_code == 409, stale.text
    assert stale.json()["currentVersion"] == disabled["version"]
    assert one.ok("DELETE", f"/backends/{bid}")["deleted"] == bid
    assert one.call("GET", f"/backends/{bid}").status_code == 404


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({"id": "ssrf", "url": "http://169.254.169.254/latest/meta-data/"}, "url", "never allowed"),
        ({"id": "ssrf6", "url": "http://[fd00:ec2::254]/"}, "url", "never allowed"),
        ({"id": "priv", "url": "http://10.1.2.3/mcp"}, "url", "GATEWAY_ALLOW_PRIVATE_BACKENDS"),
        ({"id": "ftp", "url": "ftp://example.com/mcp"}, "url", "http"),
        ({"id": "bad id", "url": DEMO}, "id", "[A-Za-z0-9_-]"),
        ({"id": "t", "url": DEMO, "prefix": "demo"}, "prefix", "another enabled backend"),
        ({"id": "t", "url": DEMO, "timeoutMs": 5}, "timeoutMs", "from 100"),
        ({"id": "t", "url": DEMO, "headers": {"bad header": "x"}}, "headers", "header name"),
        ({"id": "t", "url": DEMO, "auth": {"type": "oauth-client-credentials", "clientId": "c", "secret": "s",
                                           "tokenUrl": "http://169.254.169.254/token"}}, "auth.tokenUrl", "never allowed"),
        ({"id": "t", "url": DEMO, "surprise": 1}, "surprise", "unknown field"),
    ],
)
def test_changes_are_validated_like_the_configuration_file(one, entry, field, words):
    resp = one.call("POST", "/backends", entry)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["field"] == field and words in body["error"], body


def test_bad_requests_name_the_field(one):
    for method, path, body, field in [
        ("PUT", "/backends/demo", {"url": DEMO}, "version"),
        ("PUT", "/tools/demo_add", {"enabled": "off"}, "enabled"),
        ("POST", "/keys", {"name": "x", "scopes": "tool:call"}, "scopes"),
        ("POST", "/keys", {"name": "x", "scopes": ["tool:call"], "expires": "last week"}, "expires"),
        ("GET", "/audit?limit=100000", None, "limit"),
    ]:
        resp = one.call(method, path, body)
        assert resp.status_code == 400 and resp.json()["field"] == field, (path, resp.text)
    raw = one.http.post(f"{ADMIN_URL}/admin/api/backends", content=b"{not json",
                        headers={"Authorization": f"Bearer {one.key}", "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["field"] == "body", raw.text
    assert one.call("DELETE", "/backends/demo").status_code == 409  # from the deployment's document
    assert one.call("POST", "/backends", {"id": "demo", "url": DEMO}).status_code == 409  # exists
    assert one.call("PATCH", "/backends").status_code == 405


def test_secrets_are_never_returned_and_redacted_headers_keep_their_value(http, one, two, user_key):
    bid, token = unique("sec"), "e2e-" + secrets.token_hex(8)
    entry = {"id": bid, "url": DEMO, "headers": {"x-e2e-token": token},
             "auth": {"type": "header", "header": "x-e2e-auth", "secret": "mcp-gateway/backends/e2e-none"}}
    created = one.ok("POST", "/backends", entry, status=201)
    assert created["headers"] == {"x-e2e-token": "[redacted]"}
    assert created["auth"]["secret"] == "mcp-gateway/backends/e2e-none"
    # An edit round trip through GET keeps the header's value.
    shown = one.ok("GET", f"/backends/{bid}")
    shown.pop("auth")
    saved = one.ok("PUT", f"/backends/{bid}", shown)
    for path in ("/backends", f"/backends/{bid}", "/audit?limit=50", "/status"):
        for admin in (one, two):
            assert token not in admin.call("GET", path).text, path
    wait_until(lambda: f"{bid}_whoami" in (mcp_tools(http, ADMIN_URL_2, user_key) or set()), CONVERGENCE_S, "whoami")
    seen = mcp_call(http, ADMIN_URL_2, user_key, f"{bid}_whoami", {})
    assert token in str(seen["result"]), "the kept header still reaches the backend"
    one.ok("DELETE", f"/backends/{bid}?version={saved['version']}")


def test_a_tool_disabled_gateway_wide_is_gone_on_every_process(http, one, two, user_key):
    assert "demo_echo" in mcp_tools(http, ADMIN_URL_2, user_key)
    assert one.ok("PUT", "/tools/demo_echo", {"enabled": False}) == {"name": "demo_echo", "enabled": False}
    try:
        listed = two.ok("GET", "/tools?query=echo")["tools"]
        echo = next(t for t in listed if t["name"] == "demo_echo")
        assert echo["enabled"] is False and echo["backend"] == "demo"
        wait_until(lambda: "demo_echo" not in mcp_tools(http, ADMIN_URL_2, user_key), CONVERGENCE_S, "tool off")
        refused = mcp_call(http, ADMIN_URL_2, user_key, "demo_echo", {"text": "hi"})
        assert refused["error"]["code"] == -32602, refused
    finally:
        one.ok("PUT", "/tools/demo_echo", {"enabled": True})
    wait_until(lambda: "demo_echo" in mcp_tools(http, ADMIN_URL_2, user_key), CONVERGENCE_S, "tool back")


def test_a_key_made_on_one_process_works_on_the_other_within_5_s_and_revocation_too(http, one, two):
    started = time.monotonic()
    created = one.ok("POST", "/keys", {"name": "e2e-converge", "scopes": ["tool:demo_add"], "expires": "1d"}, status=201)
    assert created["key"].startswith("mcpgw_") and created["status"] == "active" and created["expiresAt"]
    wait_until(lambda: mcp_tools(http, ADMIN_URL_2, created["key"]) == {"demo_add"}, CONVERGENCE_S, "key on process 2")
    assert time.monotonic() - started < CONVERGENCE_S
    listed = two.ok("GET", "/keys")["keys"]
    assert any(k["id"] == created["id"] for k in listed)
    assert created["key"] not in str(listed) and "sha256" not in str(listed)
    revoked = two.ok("DELETE", f"/keys/{created['id']}")
    assert revoked["status"] == "revoked"
    wait_until(lambda: mcp_tools(http, ADMIN_URL, created["key"]) is None, CONVERGENCE_S, "revoked on process 1")
    assert one.call("DELETE", "/keys/k_doesnotexist").status_code == 404


def test_concurrent_key_creates_on_two_processes_lose_neither(http, one, two):
    def make(admin: Admin, i: int) -> dict:
        return admin.ok("POST", "/keys", {"name": f"race-{i}", "scopes": ["tool:demo_add"]}, status=201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(lambda i: make(one if i % 2 else two, i), range(6)))
    ids = {k["id"] for k in one.ok("GET", "/keys")["keys"]}
    assert {m["id"] for m in made} <= ids
    for m in made:
        wait_until(lambda: mcp_tools(http, ADMIN_URL, m["key"]) == {"demo_add"}, CONVERGENCE_S, m["id"])


def test_status_connection_test_and_audit(one, two):
    status = two.ok("GET", "/status")
    assert status["instance"]["backends"]["demo"]["toolCount"] >= 3, status
    assert status["config"]["pollIntervalMs"] == 2000
    tested = one.ok("POST", "/backends/demo/test")
    assert tested["status"] == "up" and "add" in tested["tools"], tested
    events = one.ok("GET", "/audit?limit=200")["events"]
    actions = {e["action"] for e in events}
    assert {"backend.create", "backend.update", "backend.delete", "key.create", "key.revoke"} <= actions, actions
    assert all(e["actor"].startswith("key:k_") and e["at"] for e in events), events[:3]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs, reverse=True)
