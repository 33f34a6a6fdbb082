"""Authentication and authorization through the gateway: API keys from Secrets Manager (moto) on the
api-key instance, JWTs from a local JWKS on the oauth instance, RFC 9728 metadata, scopes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

import jwt_tokens
from conftest import base_headers, initialize_params, mcp_url, request

ROOT = Path(__file__).resolve().parents[2]
API_KEY_URL = os.environ.get("GATEWAY_URL_API_KEY", "http://127.0.0.1:9005").rstrip("/")
OAUTH_URL = os.environ.get("GATEWAY_URL_OAUTH", "http://127.0.0.1:9006").rstrip("/")


def create_key(scopes: str) -> tuple[str, str]:
    """A new key through the admin script: (key, id)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/create-api-key.py"), "--name", "e2e", "--scopes", scopes],
        capture_output=True, text=True, timeout=60, check=True,
    )
    key = done.stdout.strip()
    key_id = done.stderr.split("created ", 1)[1].split(" ", 1)[0]
    return key, key_id


async def initialize(http: httpx2.AsyncClient, base: str, **auth: str) -> httpx2.Response:
    return await http.post(mcp_url(base), json=request("initialize", initialize_params()), headers={**base_headers(), **auth})


async def call(http, base, session: str, method: str, params: dict, **auth: str) -> dict:
    headers = {**base_headers(session, "2025-11-25"), **auth}
    resp = await http.post(mcp_url(base), json=request(method, params, 2), headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def full_key() -> str:
    key = create_key("*")[0]
    time.sleep(3)  # the api-key instance reloads keys every API_KEYS_REFRESH_SECS=2
    return key


async def test_missing_credential_is_401_with_resource_metadata(http):
    resp = await initialize(http, API_KEY_URL)
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    assert resp.json()["error"]["code"] == -32000


async def test_wrong_key_is_401_invalid_token_and_names_no_reason(http):
    resp = await initialize(http, API_KEY_URL, Authorization="Bearer mcpgw_" + "A" * 43)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]
    assert "unknown" not in resp.text.lower()


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
async def test_valid_key_works_in_either_header(http, full_key, header):
    value = f"Bearer {full_key}" if header == "Authorization" else full_key
    resp = await initialize(http, API_KEY_URL, **{header: value})
    assert resp.status_code == 200, resp.text
    session = resp.headers["mcp-session-id"]
    tools = await call(http, API_KEY_URL, session, "tools/list", {}, **{header: value})
    assert "demo_add" in {t["name"] for t in tools["result"]["tools"]}


async def test_scopes_filter_lists_and_hide_forbidden_tools(http):
    key, _ = create_key("tool:demo_echo")
    auth = {"Authorization": f"Bearer {key}"}
    await asyncio.sleep(3)  # the instance reloads keys every API_KEYS_REFRESH_SECS=2
    session = (await initialize(http, API_KEY_URL, **auth)).headers["mcp-session-id"]
    tools = await call(http, API_KEY_URL, session, "tools/list", {}, **auth)
    assert [t["name"] for t in tools["result"]["tools"]] == ["demo_echo"]
    allowed = await call(http, API_KEY_URL, session, "tools/call", {"name": "demo_echo", "arguments": {"text": "ok"}}, **auth)
    assert "ok" in json.dumps(allowed["result"])
    forbidden = await call(http, API_KEY_URL, session, "tools/call", {"name": "demo_add", "arguments": {"a": 1, "b": 2}}, **auth)
    unknown = await call(http, API_KEY_URL, session, "tools/call", {"name": "demo_nope", "arguments": {}}, **auth)
    # Same answer for "not allowed" and "does not exist": no oracle.
    assert forbidden["error"]["code"] == unknown["error"]["code"] == -32602


async def test_session_of_one_key_is_not_found_for_another(http, full_key):
    other, _ = create_key("*")
    await asyncio.sleep(3)
    session = (await initialize(http, API_KEY_URL, Authorization=f"Bearer {full_key}")).headers["mcp-session-id"]
    headers = {**base_headers(session, "2025-11-25"), "Authorization": f"Bearer {other}"}
    resp = await http.post(mcp_url(API_KEY_URL), json=request("tools/list", {}), headers=headers)
    assert resp.status_code == 404


async def test_revoked_key_is_refused_within_the_refresh_ttl(http):
    key, key_id = create_key("*")
    auth = {"Authorization": f"Bearer {key}"}
    for _ in range(20):  # the new key appears within the 2 s refresh
        if (await initialize(http, API_KEY_URL, **auth)).status_code == 200:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("new key never accepted")
    subprocess.run([sys.executable, str(ROOT / "infra/create-api-key.py"), "--revoke", key_id], check=True, timeout=60,
                   capture_output=True)
    for _ in range(20):
        if (await initialize(http, API_KEY_URL, **auth)).status_code == 401:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("revoked key still accepted after 10 s")


async def test_client_credentials_never_reach_backends(http, full_key):
    auth = {"Authorization": f"Bearer {full_key}"}
    session = (await initialize(http, API_KEY_URL, **auth)).headers["mcp-session-id"]
    result = await call(http, API_KEY_URL, session, "tools/call", {"name": "demo_whoami", "arguments": {}}, **auth)
    seen = json.dumps(result["result"]).lower()
    assert full_key.lower() not in seen and "authorization" not in seen and "x-api-key" not in seen


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
async def test_protected_resource_metadata_is_public(http, path):
    resp = await http.get(OAUTH_URL + path)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["resource"] == f"{OAUTH_URL}/mcp"
    assert doc["authorization_servers"] == ["http://127.0.0.1:3005"]
    assert "header" in doc["bearer_methods_supported"]


async def test_valid_jwt_is_accepted_and_its_scopes_apply(http):
    token = jwt_tokens.mint(scope="tool:demo_add")
    auth = {"Authorization": f"Bearer {token}"}
    resp = await initialize(http, OAUTH_URL, **auth)
    assert resp.status_code == 200, resp.text
    tools = await call(http, OAUTH_URL, resp.headers["mcp-session-id"], "tools/list", {}, **auth)
    assert [t["name"] for t in tools["result"]["tools"]] == ["demo_add"]


@pytest.mark.parametrize(
    "make", [jwt_tokens.expired, jwt_tokens.wrong_audience, jwt_tokens.wrong_issuer, jwt_tokens.alg_none,
             jwt_tokens.hs256_with_public_key, jwt_tokens.foreign_key, jwt_tokens.tampered, jwt_tokens.not_yet_valid],
    ids=lambda f: f.__name__,
)
async def test_bad_jwts_are_401(http, make):
    resp = await initialize(http, OAUTH_URL, Authorization=f"Bearer {make()}")
    assert resp.status_code == 401, resp.text
    assert "resource_metadata=" in resp.headers["www-authenticate"]


async def test_api_key_is_not_a_jwt(http, full_key):
    resp = await initialize(http, OAUTH_URL, Authorization=f"Bearer {full_key}")
    assert resp.status_code == 401
