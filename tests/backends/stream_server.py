"""Streaming MCP backend for the gateway's streaming end-to-end tests (official Python SDK, mcp 2.3.0).

Every reply to a legacy session's request is an SSE stream (the SDK's streamable HTTP transport), so what a tool
sends while it runs travels mid-call. Listens on 127.0.0.1 only.

    python tests/backends/stream_server.py --port 3016

Tools:
  long_task(seconds, every)   progress (with a message) and a log line every `every` seconds, then the result:
                              the long call (minutes) a buffered front door cannot carry
  ask_name()                  elicits a name from the client (form mode), answers "Hello, <name>"
  ask_many(count)             `count` elicitations at once; reports how many were answered and how many refused
  chatter(seconds)            a log line every few milliseconds for `seconds` (a backend that never stops talking)
  huge_event(size)            one log line of `size` characters, then the result
  log_pii()                   a log line and a progress message carrying an email address
"""

from __future__ import annotations

import argparse
import time
import warnings

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

PII_EMAIL = "grace.pii-stream@example.com"  # listed in tests/e2e/pii_values.txt: never in a gateway log

# Logging is deprecated in 2026-07-28; this backend serves legacy sessions and uses it on purpose.
warnings.filterwarnings("ignore", message=r".*deprecated as of 2026-07-28.*")


class Name(BaseModel):
    name: str


def build_server() -> MCPServer:
    server = MCPServer("stream-backend", version="1.0.0", instructions="Streaming backend for the MCP gateway tests.")

    @server.tool(description="Work for `seconds`, reporting progress every `every` seconds.")
    async def long_task(seconds: float, every: float, ctx: Context) -> str:
        started = time.monotonic()
        step = 0
        while (elapsed := time.monotonic() - started) < seconds:
            step += 1
            await ctx.report_progress(min(elapsed, seconds), seconds, f"step {step}")
            await ctx.info(f"long_task step {step}")
            await anyio.sleep(min(every, max(seconds - elapsed, 0.01)))
        await ctx.report_progress(seconds, seconds, "done")
        return f"finished after {seconds:g} s in {step} steps"

    @server.tool(description="Ask the client for a name (elicitation), then greet it.")
    async def ask_name(ctx: Context) -> str:
        result = await ctx.elicit("What is your name?", Name)
        if result.action != "accept":
            return f"no name ({result.action})"
        return f"Hello, {result.data.name}"

    @server.tool(description="Ask the client `count` questions at once; report how they went.")
    async def ask_many(count: int, ctx: Context) -> str:
        answered = refused = 0

        async def one(i: int) -> None:
            nonlocal answered, refused
            try:
                result = await ctx.elicit(f"Question {i}?", Name)
                answered += result.action == "accept"
            except Exception:  # noqa: BLE001 - a refusal from the gateway is what is counted here
                refused += 1

        async with anyio.create_task_group() as group:
            for i in range(count):
                group.start_soon(one, i)
        return f"answered={answered} refused={refused}"

    @server.tool(description="Log a line every few milliseconds for `seconds`.")
    async def chatter(seconds: float, ctx: Context) -> str:
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            await ctx.debug(f"chatter {n}")
            await anyio.sleep(0.002)
        return f"chattered {n} lines"

    @server.tool(description="Send one log line of `size` characters, then answer.")
    async def huge_event(size: int, ctx: Context) -> str:
        await ctx.info("x" * size)
        return "sent"

    @server.tool(description="Send a log line and a progress message that carry an email address.")
    async def log_pii(ctx: Context) -> str:
        await ctx.info(f"contact {PII_EMAIL}")
        await ctx.report_progress(1, 1, f"mailed {PII_EMAIL}")
        return "logged"

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3016)
    args = parser.parse_args()
    app = build_server().streamable_http_app(host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
