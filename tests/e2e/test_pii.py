"""PII tokenization end to end: a real backend returns PII, the client sees tokens, tokens sent back are
restored before the backend sees them, a second gateway process resolves them (the vault is in
DynamoDB), and another session cannot. The values are in pii_values.txt, which infra/test.sh uses to
scan every gateway log of the run afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import GATEWAY_URL, GATEWAY_URL_2, open_session

VALUES = [v for v in (Path(__file__).parent / "pii_values.txt").read_text().splitlines() if v]
EMAIL, PHONE, SSN, CARD = VALUES[:4]
TOKEN = re.compile(r"\[[A-Z_]+_\d+\]")


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"] if c.get("type") == "text")


async def echo(session, text: str, base: str | None = None) -> str:
    return text_of(await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": text}}, base=base))


async def length(session, text: str, base: str | None = None) -> int:
    result = await session.result("tools/call", {"name": "demo_length", "arguments": {"text": text}}, base=base)
    return int(text_of(result))


async def test_results_carry_tokens_not_values(http):
    session = await open_session(http, GATEWAY_URL)
    seen = await echo(session, f"mail {EMAIL}, call {PHONE}, ssn {SSN}, card {CARD}")
    for value in VALUES:
        assert value not in seen, seen
    tokens = TOKEN.findall(seen)
    assert len(tokens) == 4 and len(set(tokens)) == 4, seen
    assert await echo(session, f"again {EMAIL}") == f"again {tokens[0]}", "same value, same token"


async def test_tokens_are_restored_for_the_backend_across_processes(http):
    session = await open_session(http, GATEWAY_URL)
    token = TOKEN.findall(await echo(session, EMAIL))[0]
    assert await length(session, token) == len(EMAIL)
    assert await length(session, token, base=GATEWAY_URL_2) == len(EMAIL), "second process resolves the token"


async def test_another_session_cannot_resolve_tokens(http):
    owner = await open_session(http, GATEWAY_URL)
    token = TOKEN.findall(await echo(owner, EMAIL))[0]
    stranger = await open_session(http, GATEWAY_URL)
    assert await length(stranger, token) == len(token), "a foreign token reaches the backend as is"


async def test_structured_content_is_tokenized_too(http):
    session = await open_session(http, GATEWAY_URL)
    result = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": EMAIL}})
    assert EMAIL not in json.dumps(result)
