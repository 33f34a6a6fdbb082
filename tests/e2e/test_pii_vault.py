"""The PII vault under abuse, against the real stack (vault items in moto's DynamoDB).

- A caller filling its own vault hits the cap of its own scope only: new values are redacted (never
  raw), its existing tokens keep resolving, the event is audited and counted (`PiiVaultFull`), and another
  scope mints as usual. GATEWAY_URL_PII_CAP is a gateway with PII_VAULT_MAX_TOKENS=20 (infra/test.sh).
- Minting costs the same small writes whatever the vault holds: the items a mint writes are read back from
  the table itself (boto3 on moto) and measured by DynamoDB's size rules. (The requests per mint are counted
  by an SDK interceptor in the adapter test, shared/src/pii/vault/dynamodb_tests.rs.)
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import boto3
import pytest

from conftest import GATEWAY_URL, Session, open_session

CAP_URL = os.environ.get("GATEWAY_URL_PII_CAP", "http://127.0.0.1:9018").rstrip("/")
CAP = int(os.environ.get("E2E_PII_CAP", "20"))
ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"\[[A-Z_]+_\d+\]")
TABLE = os.environ.get("TABLE_NAME", "mcp-gateway")


def emails(label: str, n: int) -> list[str]:
    """`n` addresses no other test (or run) uses."""
    run = secrets.token_hex(4)
    return [f"{label}-{run}-{i}@example.com" for i in range(n)]


async def echo(session: Session, text: str) -> str:
    result = await session.result("tools/call", {"name": "demo_echo", "arguments": {"text": text}})
    return result["content"][0]["text"]


async def length(session: Session, text: str) -> int:
    result = await session.result("tools/call", {"name": "demo_length", "arguments": {"text": text}})
    return int(result["content"][0]["text"])


def cap_log() -> str:
    log = ROOT / ".run" / f"gateway-{CAP_URL.rsplit(':', 1)[-1]}.log"
    if not log.exists():
        pytest.skip(f"no local log for {CAP_URL}")
    return log.read_text(errors="replace")


async def test_a_full_vault_redacts_new_values_keeps_its_tokens_and_reports_it(http):
    filler = await open_session(http, CAP_URL)
    values = emails("cap", CAP + 5)
    seen = await echo(filler, " ".join(values))
    words = seen.split(" ")
    assert not any(v in seen for v in values), seen
    assert len(set(words[:CAP])) == CAP and all(TOKEN.fullmatch(w) for w in words[:CAP]), seen
    assert words[CAP:] == ["[EMAIL_REDACTED]"] * 5, "past the cap: redacted, never raw"

    # Tokens minted before the cap keep resolving for the backend; a known value keeps its token.
    assert await length(filler, words[3]) == len(values[3])
    assert await echo(filler, f"again {values[3]}") == f"again {words[3]}"
    assert await echo(filler, "one more new-" + values[0]) == "one more [EMAIL_REDACTED]"

    # Visible to the operator: one audit line per request that met the cap (no value in it) and the metric.
    log = cap_log()
    audits = [line for line in log.splitlines() if "PII vault full" in line]
    assert audits and all("audit=true" in a or '"audit":true' in a for a in audits), audits[-3:]
    assert any(filler.session_id in a for a in audits), "the audit line names the scope"
    assert not any(v in log for v in values), "a value reached the log"
    emf = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"PiiVaultFull"' in line]
    assert any(doc["PiiVaultFull"] == 1 for doc in emf), emf[-3:]
    directives = [m["Name"] for doc in emf[-1:] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    assert "PiiVaultFull" in directives


async def test_a_caller_filling_its_own_vault_leaves_other_scopes_alone(http):
    filler, other = await open_session(http, CAP_URL), await open_session(http, CAP_URL)
    before = await echo(other, emails("victim", 1)[0])
    assert before == "[EMAIL_1]"
    for chunk in range(2):
        await echo(filler, " ".join(emails(f"flood{chunk}", CAP)))
    assert "[EMAIL_REDACTED]" in await echo(filler, emails("flood", 1)[0]), "the filler's own vault is full"
    fresh = emails("victim", 3)
    assert await echo(other, " ".join(fresh)) == "[EMAIL_2] [EMAIL_3] [EMAIL_4]", "another scope mints as usual"
    assert await length(other, "[EMAIL_3]") == len(fresh[1])


# ---- minting cost, measured on the table ----------------------------------------------------------------


def table():
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("AWS_ENDPOINT_URL (moto) is not set")
    region = os.environ.get("AWS_REGION", "us-east-1")
    return boto3.session.Session(region_name=region).client("dynamodb", endpoint_url=endpoint)


def item_size(item: dict) -> int:
    """DynamoDB's item size: attribute names plus values (strings, binaries by length; numbers by digits)."""
    size = 0
    for name, value in item.items():
        (kind, inner), = value.items()
        size += len(name.encode())
        if kind == "S":
            size += len(inner.encode())
        elif kind == "B":
            size += len(inner)
        elif kind == "N":
            size += (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
        else:
            size += 1
    return size


def vault_items(ddb) -> dict[str, dict]:
    items: dict[str, dict] = {}
    pages = ddb.get_paginator("scan").paginate(TableName=TABLE)
    for page in pages:
        for item in page["Items"]:
            if item["pk"]["S"].startswith("pii#"):
                items[item["pk"]["S"]] = item
    return items


def write_units(before: dict[str, dict], after: dict[str, dict]) -> tuple[list[int], list[int]]:
    """Sizes of the items a request created and of those it changed."""
    created = [item_size(after[k]) for k in after.keys() - before.keys()]
    changed = [item_size(after[k]) for k in after.keys() & before.keys() if after[k] != before[k]]
    return sorted(created), sorted(changed)


@pytest.mark.parametrize("held", [1, 300])
async def test_minting_writes_three_small_items_whatever_the_vault_holds(http, held: int):
    ddb = table()
    session = await open_session(http, GATEWAY_URL)
    await echo(session, " ".join(emails(f"held{held}", held)))
    before = vault_items(ddb)
    assert await echo(session, f"new {emails('newcomer', 1)[0]}") == f"new [EMAIL_{held + 1}]"
    created, changed = write_units(before, vault_items(ddb))
    # One token item and one fingerprint item appended, the scope's meta item updated: each under 1 KB,
    # so one write unit each — the same at 1 and at 300 tokens, where the old single-blob vault rewrote all.
    assert len(created) == 2 and len(changed) == 1, (created, changed)
    assert all(size < 1024 for size in created + changed), (created, changed)
    await session.delete()
