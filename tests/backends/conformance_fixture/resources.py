"""Resources, prompts, completion, and the legacy-only resources/subscribe, unsubscribe and logging/setLevel.

`test://stateless-static-text` is offered to 2026-07-28 requests only (`catalog`). Subscribing records the URI
for the session, so a later `POST /fixture/notify` sends that session `notifications/resources/updated`
(`notify`). Like the reference, subscribe, unsubscribe and setLevel each log one line on the session's
standalone stream.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import (
    Completion,
    EmptyResult,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from pydantic import Field

from .catalog import STATELESS_TEXT_URI
from .content import IMAGE_B64
from .notify import Sessions

LOGGER = "conformance-test-server"


def register_resources(server: MCPServer, sessions: Sessions) -> None:
    @server.resource(
        "test://static-text",
        name="static-text",
        title="Static Text Resource",
        description="A static text resource for testing",
        mime_type="text/plain",
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @server.resource(
        "test://static-binary",
        name="static-binary",
        title="Static Binary Resource",
        description="A static binary resource (image) for testing",
        mime_type="image/png",
    )
    def static_binary() -> bytes:
        return base64.b64decode(IMAGE_B64)

    @server.resource(
        "test://template/{id}/data",
        name="template",
        title="Resource Template",
        description="A resource template with parameter substitution",
        mime_type="application/json",
    )
    def template(id: str) -> str:  # noqa: A002 - the URI template's parameter name
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"}, separators=(",", ":"))

    @server.resource(
        "test://watched-resource",
        name="watched-resource",
        title="Watched Resource",
        description="A resource that can be subscribed to (updates are announced through POST /fixture/notify)",
        mime_type="text/plain",
    )
    def watched_resource() -> str:
        return "Watched resource content"

    @server.resource(
        STATELESS_TEXT_URI,
        name="Stateless Static Text",
        description="A static text resource served on the draft path",
        mime_type="text/plain",
    )
    def stateless_static_text() -> str:
        return "Static text content from the stateless draft path."

    async def log(ctx: ServerRequestContext[Any, Any], message: str) -> None:
        await ctx.session.send_log_message("info", message, logger=LOGGER)  # standalone stream: best effort

    # Legacy-wire methods with no MCPServer decorator (the SDK answers them -32601 on 2026-07-28 by itself).
    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        sessions.subscribe(ctx, str(params.uri))
        await log(ctx, f"Subscribed to resource: {params.uri}")
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        sessions.unsubscribe(ctx, str(params.uri))
        await log(ctx, f"Unsubscribed from resource: {params.uri}")
        return EmptyResult()

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        await log(ctx, f"Log level set to: {params.level}")
        return EmptyResult()

    lowlevel = server._lowlevel_server  # noqa: SLF001 - no public hook for these methods
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)

    @server.completion()
    async def complete(ref, argument, context):  # noqa: ANN001, ANN202 - SDK callback signature
        return Completion(values=[], total=0, has_more=False)


def register_prompts(server: MCPServer) -> None:
    @server.prompt(title="Simple Test Prompt", description="A simple prompt without arguments")
    def test_simple_prompt() -> list[dict[str, Any]]:
        return [{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}]

    @server.prompt(title="Prompt With Arguments", description="A prompt with required arguments")
    def test_prompt_with_arguments(
        arg1: Annotated[str, Field(description="First test argument")],
        arg2: Annotated[str, Field(description="Second test argument")],
    ) -> list[dict[str, Any]]:
        message = f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
        return [{"role": "user", "content": {"type": "text", "text": message}}]

    @server.prompt(title="Prompt With Embedded Resource", description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(
        resourceUri: Annotated[str, Field(description="URI of the resource to embed")],  # noqa: N803 - wire name
    ) -> list[dict[str, Any]]:
        resource = {"uri": resourceUri, "mimeType": "text/plain", "text": "Embedded resource content for testing."}
        return [
            {"role": "user", "content": {"type": "resource", "resource": resource}},
            {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}},
        ]

    @server.prompt(title="Prompt With Image", description="A prompt that includes image content")
    def test_prompt_with_image() -> list[dict[str, Any]]:
        return [
            {"role": "user", "content": {"type": "image", "data": IMAGE_B64, "mimeType": "image/png"}},
            {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}},
        ]
