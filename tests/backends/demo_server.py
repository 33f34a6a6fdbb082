"""Demo MCP backend for the gateway's local stack and end-to-end tests.

Built on the official Python SDK (mcp 2.3.0, MCPServer). Listens on 127.0.0.1 only.

    python tests/backends/demo_server.py --port 3002 --transport streamable-http   # serves /mcp
    python tests/backends/demo_server.py --port 3005 --transport sse               # serves /sse + /messages/

Tools:     echo(text), length(text), echo_json(document), add(a, b), slow(seconds), whoami()
           (whoami = JSON of the request headers it received; echo_json = `document` parsed, as structured
           content, so a value can come back as a key or a number),
           records(count) (a JSON document of `count` rows, for result shaping),
           lookup(key) (read-only and idempotent by its annotations; counts its calls per key, so a test can
           tell a cached answer from a fresh one), calls(key) (that count, without counting)
Resources: demo://greeting, demo://items/1..N (resources/list is paginated, --page-size per page),
           templates demo://users/{user_id}, demo://contacts/{email}
Prompts:   summarize(topic) (+ completion for `topic`), contact(email) (+ completion for `email`: addresses,
           i.e. personal data the gateway must tokenize in completion values)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resources import TextResource
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    Completion,
    ListResourcesResult,
    PaginatedRequestParams,
    PromptReference,
    ToolAnnotations,
)

TOPICS = ["mcp", "lambda", "rust"]
# Personal data the backend itself holds (in completions and in a template's description): what the gateway
# tokenizes on those paths. Listed in tests/e2e/pii_values.txt, so no gateway log may ever contain them.
CONTACTS = ["bob.pii-complete@example.com", "bea.pii-complete@example.org"]
SUPPORT = "support.pii-list@example.net"
ITEM_COUNT = 12


def build_server(page_size: int) -> MCPServer:
    server = MCPServer("demo-backend", version="1.0.0", instructions="Demo backend for the MCP gateway tests.")

    @server.tool(description="Echo the given text back unchanged.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Count the characters of the given text (proves what the backend received).")
    def length(text: str) -> int:
        return len(text)

    @server.tool(description="Parse `document` as JSON and return it as structured content (keys and numbers as sent).")
    def echo_json(document: str) -> dict[str, Any]:
        parsed = json.loads(document)
        return parsed if isinstance(parsed, dict) else {"value": parsed}

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Sleep for `seconds`, then answer 'done'.")
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @server.tool(description="Return, as JSON, the HTTP request headers this backend received (lowercased names).")
    def whoami(ctx: Context) -> str:
        headers = ctx.headers or {}
        return json.dumps({k.lower(): v for k, v in headers.items()}, sort_keys=True)

    @server.tool(
        description="Return `count` records (id, name, tags, a long note) as one JSON document.",
        structured_output=True,
    )
    def records(count: int = 10) -> dict[str, Any]:
        rows = [
            {"id": i, "name": f"record {i}", "tags": ["a", "b", "c"], "note": f"note {i} " + "lorem ipsum " * 20}
            for i in range(max(0, min(count, 1000)))
        ]
        return {"items": rows, "count": len(rows)}

    lookups: dict[str, int] = {}

    @server.tool(
        description="Look a key up (read-only, idempotent). Answers how many times this backend was asked for it.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True),
        structured_output=True,
    )
    def lookup(key: str) -> dict[str, Any]:
        lookups[key] = lookups.get(key, 0) + 1
        return {"key": key, "calls": lookups[key]}

    @server.tool(description="How many times lookup(key) reached this backend.")
    def calls(key: str) -> int:
        return lookups.get(key, 0)

    @server.resource("demo://greeting", name="greeting", description="A static greeting.", mime_type="text/plain")
    def greeting() -> str:
        return "Hello from the demo backend"

    @server.resource("demo://users/{user_id}", name="user", description="A user by id.", mime_type="text/plain")
    def user(user_id: str) -> str:
        return f"User {user_id}"

    @server.resource(
        "demo://contacts/{email}", name="contact", description=f"A contact card by address (questions: {SUPPORT}).",
        mime_type="text/plain",
    )
    def contact_card(email: str) -> str:
        return f"Contact card of {email}"

    for n in range(1, ITEM_COUNT + 1):
        server.add_resource(
            TextResource(uri=f"demo://items/{n}", name=f"item-{n}", text=f"Item {n}", mime_type="text/plain")
        )

    @server.prompt(description="Ask for a summary of a topic.")
    def summarize(topic: str) -> str:
        return f"Please summarize the topic: {topic}"

    @server.prompt(description="Draft a note to a contact.")
    def contact(email: str) -> str:
        return f"Write a short note to {email}"

    @server.completion()
    async def complete(ref, argument, context):  # noqa: ANN001 - SDK callback signature
        if isinstance(ref, PromptReference) and ref.name == "summarize" and argument.name == "topic":
            values = [t for t in TOPICS if t.startswith(argument.value)]
            return Completion(values=values, total=len(values), has_more=False)
        if isinstance(ref, PromptReference) and ref.name == "contact" and argument.name == "email":
            values = [c for c in CONTACTS if c.startswith(argument.value)]
            return Completion(values=values, total=len(values), has_more=False)
        return None

    # MCPServer lists every resource in one page; replace resources/list with a paginated one so the
    # gateway's cursor aggregation is exercised. Cursor = base64 of the next offset (opaque to clients).
    async def list_resources_paginated(ctx, params: PaginatedRequestParams) -> ListResourcesResult:  # noqa: ANN001
        resources = await server.list_resources()
        offset = 0
        if params.cursor is not None:
            try:
                offset = int(base64.urlsafe_b64decode(params.cursor.encode()).decode().removeprefix("offset:"))
                if not 0 <= offset < len(resources):
                    raise ValueError(offset)
            except ValueError:
                raise MCPError(code=INVALID_PARAMS, message="Invalid cursor") from None
        end = offset + page_size
        next_cursor = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(resources) else None
        return ListResourcesResult(resources=resources[offset:end], next_cursor=next_cursor)

    server._lowlevel_server.add_request_handler(  # noqa: SLF001 - no public hook for paginated lists
        "resources/list", PaginatedRequestParams, list_resources_paginated
    )
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3002)
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    parser.add_argument("--page-size", type=int, default=5, help="resources/list page size (default 5)")
    parser.add_argument("--json-response", action="store_true", help="answer POSTs with JSON instead of SSE")
    args = parser.parse_args()
    server = build_server(args.page_size)
    if args.transport == "sse":
        server.run("sse", host="127.0.0.1", port=args.port)
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port, json_response=args.json_response)


if __name__ == "__main__":
    main()
