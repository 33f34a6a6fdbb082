"""PII that never leaks back: adversarial cases through the real gateway, real backends, official clients.

A caller without `pii:raw` sends a token (`[EMAIL_1]`) to a backend that reflects its input — in a string
glued to other text, inside JSON text, as an object key, as a number, in a JSON-RPC error, in an argument
validation message — and must get the token back, never the value. Backend data on the other paths
(completion values, prompt messages, resource contents, list metadata) is tokenized too, and values are
detected whatever punctuation surrounds them.

Some of these need every backend→client path of the MCP layer to pass through the PII request of the call
(`PiiRequest::tokenize` / `tokenize_text`); those are marked in their docstrings ("wired path").
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference

from conftest import GATEWAY_URL, mcp_url, open_session
from emulator import sdk_transport

VALUES = [v for v in (Path(__file__).parent / "pii_values.txt").read_text().splitlines() if v]
EMAIL = VALUES[0]
SSN_DIGITS = "536228147"  # an SSN written without separators (after an "SSN:" label): a number when echoed
CARD_DIGITS = "5555555555554444"
CONTACTS = ["bob.pii-complete@example.com", "bea.pii-complete@example.org"]
SUPPORT = "support.pii-list@example.net"
FAULTS_URL = os.environ.get("GATEWAY_URL_FAULTS", "http://127.0.0.1:9010").rstrip("/")
API_KEY_URL = os.environ.get("GATEWAY_URL_API_KEY", "http://127.0.0.1:9005").rstrip("/")
TOKEN = re.compile(r"\[[A-Z_]+_\d+\]")


def connect(base: str = GATEWAY_URL, mode: str = "legacy") -> Client:
    return Client(sdk_transport(mcp_url(base)), mode=mode, cache=None)


def text_of(result) -> str:  # noqa: ANN001 - CallToolResult / GetPromptResult
    return "".join(getattr(c, "text", "") for c in result.content)


def dump(result) -> str:  # noqa: ANN001 - any SDK model
    return result.model_dump_json(by_alias=True)


async def mint(client: Client, text: str) -> list[str]:
    """The tokens demo_echo gives back for `text` (its values, in order)."""
    result = await client.call_tool("demo_echo", {"text": text})
    return TOKEN.findall(text_of(result))


# ---- a restored value echoed back ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_echo_glued_to_other_text_comes_back_as_the_token(mode: str):
    async with connect(mode=mode) as client:
        [token] = await mint(client, EMAIL)
        for glued in (f"{token}.png", f"x{token}_backup", f"«{token}»", f"{token}{token}"):
            result = await client.call_tool("demo_echo", {"text": glued})
            assert EMAIL not in dump(result), (glued, dump(result))
            assert text_of(result) == glued, "the backend's answer, with the token where the value was"
        # The backend did get the value: demo_length counts its characters.
        length = await client.call_tool("demo_length", {"text": f"{token}.png"})
        assert text_of(length) == str(len(EMAIL) + 4)


async def test_an_echo_inside_json_text_and_as_an_object_key():
    async with connect() as client:
        [token] = await mint(client, EMAIL)
        document = json.dumps({"to": token, token: {"again": f"<{token}>"}})
        result = await client.call_tool("demo_echo_json", {"document": document})
        assert EMAIL not in dump(result), dump(result)
        assert result.structured_content == {"to": token, token: {"again": f"<{token}>"}}
        assert json.loads(text_of(result)) == result.structured_content, "the text content is the same JSON"


async def test_an_echo_as_a_json_number_comes_back_as_the_token():
    async with connect() as client:
        [ssn] = await mint(client, f"SSN: {SSN_DIGITS}")
        [card] = await mint(client, CARD_DIGITS)
        # The backend parses the restored JSON text: the values arrive as numbers and go back as numbers.
        result = await client.call_tool("demo_echo_json", {"document": f'{{"ssn": {ssn}, "card": {card}, "n": 7}}'})
        assert SSN_DIGITS not in dump(result) and CARD_DIGITS not in dump(result), dump(result)
        assert result.structured_content == {"ssn": ssn, "card": card, "n": 7}


# ---- backend errors and validation messages built from restored arguments (wired path) --------------


async def test_a_backend_json_rpc_error_repeating_a_restored_value_carries_the_token(http):
    """Wired path: a JSON-RPC error relayed from a backend goes through the call's PII request."""
    session = await open_session(http, FAULTS_URL)
    echoed = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": EMAIL}})
    [token] = TOKEN.findall(echoed["content"][0]["text"])
    rid, resp = await session.call("tools/call", {"name": "rpcerror_echo_error", "arguments": {"text": f"{token}.png"}})
    body = resp.json()
    assert "error" in body, body
    assert EMAIL not in resp.text, resp.text
    assert f"{token}.png" in body["error"]["message"], body


async def test_a_validation_message_naming_a_restored_property_carries_the_token(http):
    """Wired path: the gateway's own argument-validation result is built from restored arguments."""
    session = await open_session(http, FAULTS_URL)
    echoed = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": EMAIL}})
    [token] = TOKEN.findall(echoed["content"][0]["text"])
    result = await session.result("tools/call", {"name": "strict_strict", "arguments": {"count": 1, f"{token}.png": True}})
    assert result.get("isError") is True, result
    assert EMAIL not in json.dumps(result), result


# ---- other backend → client paths --------------------------------------------------------------------


async def test_completion_values_are_tokenized():
    """Wired path: completion/complete results."""
    async with connect() as client:
        result = await client.complete(PromptReference(type="ref/prompt", name="demo_contact"), {"name": "email", "value": "b"})
        values = result.completion.values
        assert len(values) == 2, values
        assert not any(contact in dump(result) for contact in CONTACTS), dump(result)
        assert all(TOKEN.fullmatch(v) for v in values), values


async def test_prompt_messages_and_resource_contents_are_tokenized():
    async with connect() as client:
        prompt = await client.get_prompt("demo_contact", {"email": EMAIL})
        assert EMAIL not in dump(prompt), dump(prompt)
        assert TOKEN.search(prompt.messages[0].content.text), dump(prompt)
        card = await client.read_resource(f"demo://contacts/{EMAIL}")
        assert EMAIL not in dump(card), dump(card)
        assert TOKEN.search(card.contents[0].text), dump(card)


async def test_list_metadata_is_tokenized():
    """Wired path: list results (here a resource template's description) are backend data too."""
    async with connect() as client:
        templates = await client.list_resource_templates()
        assert SUPPORT not in dump(templates), "list metadata reached the client with the backend's PII"
        contact = [t for t in templates.resource_templates if t.uri_template == "demo://contacts/{email}"]
        assert contact and TOKEN.search(contact[0].description or ""), dump(templates)


async def test_code_sees_only_tokens_of_an_echo(http):
    """A tool called from sandboxed code runs on its own PII request: the echo comes back as the token, and
    the token the code returns still stands for the value. Wired path: the code's output is tokenized with
    `PiiRequest::keep_tokens` (else its tokens are taken for lookalikes and tokenized a second time)."""
    from test_code import create_key, execute

    key = create_key("code:execute tool:demo_echo")
    time.sleep(3)  # the api-key instance reloads keys every 2 s
    first = await execute(http, key, f"return (await callTool('demo_echo', {{text: {json.dumps(EMAIL)}}})).content[0].text")
    assert first["success"] is True, first
    [token] = TOKEN.findall(json.dumps(first["returnValue"]))
    code = f"const r = await callTool('demo_echo', {{text: '{token}.png'}}); console.log(JSON.stringify(r)); return r"
    second = await execute(http, key, code)
    assert second["success"] is True, second
    assert EMAIL not in json.dumps(second), second
    assert f"{token}.png" in json.dumps(second["returnValue"]), second


# ---- detector boundaries, through a real echo tool -----------------------------------------------------

BOUNDARY_CASES = [
    ("IPv6 before a full stop", "connection from 2001:db8:85a3::8a2e:370:7334. Then it closed", "2001:db8:85a3::8a2e:370:7334"),
    ("IPv6 before a colon", "peer 2001:db8::1:2: refused", "2001:db8::1:2"),
    ("IPv6 in brackets with a port", "dial [2001:db8:0:0:1:0:0:1]:443", "2001:db8:0:0:1:0:0:1"),
    ("IPv4 after a word ending in v", "dev 10.20.30.40, up", "10.20.30.40"),
    ("e-mail in quotes and parentheses", "(\"pat.quoted@example.org\").", "pat.quoted@example.org"),
    ("e-mail ending a sentence", "Write to pat.end@example.com.", "pat.end@example.com"),
    ("phone in parentheses before a full stop", "call (+44 20 7946 0958).", "+44 20 7946 0958"),
    ("NANP phone before a line end", "cell: 415-555-0199\nnext", "415-555-0199"),
    ("card before a semicolon", "card=4111-1111-1111-1111; ok", "4111-1111-1111-1111"),
    ("IBAN before a full stop", "pay DE89370400440532013000.", "DE89370400440532013000"),
    ("SSN in brackets", "[536-22-8147]", "536-22-8147"),
    ("bearer token before a full stop", "Authorization: Bearer abcdef0123456789abcdef.", "abcdef0123456789abcdef"),
    ("AWS key in backquotes", "key `AKIAIOSFODNN7EXAMPLE`!", "AKIAIOSFODNN7EXAMPLE"),
]


@pytest.mark.parametrize(("case", "text", "value"), BOUNDARY_CASES, ids=[c[0] for c in BOUNDARY_CASES])
async def test_values_are_found_whatever_surrounds_them(case: str, text: str, value: str):
    async with connect() as client:
        result = await client.call_tool("demo_echo", {"text": text})
        seen = text_of(result)
        assert value not in dump(result), (case, seen)
        # Only the value was replaced: the surrounding punctuation is intact.
        before, _, after = text.partition(value)
        assert seen.startswith(before) and seen.endswith(after), (case, seen)
        assert TOKEN.fullmatch(seen[len(before) : len(seen) - len(after)]), (case, seen)


async def test_a_backend_that_errors_with_its_arguments_through_the_official_client():
    """Wired path: the official client sees the relayed JSON-RPC error; it must hold the token only."""
    async with connect(FAULTS_URL) as client:
        [token] = await mint(client, EMAIL)
        with pytest.raises(MCPError) as raised:
            await client.call_tool("rpcerror_echo_error", {"text": f"{token}.png"})
        assert EMAIL not in f"{raised.value.message} {raised.value.data}", raised.value.error
        assert f"{token}.png" in raised.value.message
