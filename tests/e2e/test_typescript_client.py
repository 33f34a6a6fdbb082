"""The official TypeScript MCP client SDK (@modelcontextprotocol/sdk) against the gateway.

tests/clients/ts_client.mjs runs under the venv's Node 24 (subprocess, bounded) and prints a JSON summary of
what it saw: it connects with StreamableHTTPClientTransport, lists tools, calls demo_add and reads
demo://greeting through the gateway.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import emulator
import pytest
from conftest import GATEWAY_URL, HTTP_TIMEOUT, SUPPORTED_VERSIONS, mcp_url

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".venv" / "bin" / "node"
CLIENT = ROOT / "tests" / "clients" / "ts_client.mjs"
SDK = ROOT / "infra" / "node_modules" / "@modelcontextprotocol" / "sdk"


@pytest.fixture(scope="module")
def summary() -> dict:
    if not NODE.exists() or not SDK.exists():
        pytest.fail(f"missing {NODE} or {SDK}: run infra/setup.sh")
    try:
        proc = subprocess.run(
            [str(NODE), str(CLIENT), mcp_url(GATEWAY_URL)],
            capture_output=True, text=True, timeout=HTTP_TIMEOUT + 30, cwd=ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"TypeScript client did not finish in {exc.timeout} s; stderr: {exc.stderr!r}")
    assert proc.returncode == 0, (
        f"TypeScript client exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"TypeScript client printed nothing; stderr: {proc.stderr}"
    summary = json.loads(lines[-1])
    # Answers the Lambda emulator lost and the client sent again, counted with the Python clients' own.
    emulator.resent += summary["resent"]
    return summary


def test_handshake(summary: dict):
    assert summary["protocolVersion"] in SUPPORTED_VERSIONS, summary
    assert summary["sessionId"], summary
    assert summary["serverName"], summary


def test_tools_from_both_backends(summary: dict):
    tools = summary["tools"]
    assert {"everything_echo", "demo_add"} <= set(tools), tools
    assert len(tools) == len(set(tools)), f"duplicate tool names: {tools}"


def test_call_demo_add(summary: dict):
    sum_ = summary["sum"]
    assert sum_["isError"] is False, sum_
    assert sum_["text"].strip() == "5", sum_


def test_read_demo_greeting(summary: dict):
    assert summary["greeting"] == ["Hello from the demo backend"], summary
