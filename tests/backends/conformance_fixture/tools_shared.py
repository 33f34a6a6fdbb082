"""The tools both eras list, in the reference's order, plus the legacy-only roots tool.

On a legacy session every reply to a tools/call is an SSE stream (the SDK's streamable HTTP transport): log and
progress notifications travel on it while the tool runs, and sampling, elicitation and roots requests go to the
client on that same stream, the call completing once the client's answer (a separate POST carrying the JSON-RPC
response) arrives. On 2026-07-28 there is no stream a server may send requests on: the tools that would ask the
client answer "not supported", as the reference does (the input-required tools in `tools_modern` are the
2026-07-28 way to ask).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ListRootsRequest,
    ListRootsResult,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)
from pydantic import Field

from .content import (
    AUDIO_B64,
    ELICITATION_SCHEMA,
    IMAGE_B64,
    JSON_SCHEMA_2020_12,
    SEP1034_SCHEMA,
    SEP1330_SCHEMA,
    text,
)

STEP_DELAY = 0.05  # seconds between the notifications of one call, so they arrive mid-call, not with the result


def progress_token(ctx: Context) -> Any:
    meta = ctx.request_context.meta or {}
    return meta.get("progress_token", meta.get("progressToken"))


def register_shared_tools(server: MCPServer) -> None:  # noqa: C901 - one registration block per tool
    def tool(description: str):  # noqa: ANN202
        # Every tool builds its CallToolResult itself: no derived output schema.
        return server.tool(description=description, structured_output=False)

    @tool("Tests simple text content response")
    def test_simple_text() -> CallToolResult:
        return text("This is a simple text response for testing.")

    @tool("Tests image content response")
    def test_image_content() -> CallToolResult:
        return CallToolResult(content=[ImageContent(type="image", data=IMAGE_B64, mime_type="image/png")])

    @tool("Tests audio content response")
    def test_audio_content() -> CallToolResult:
        return CallToolResult(content=[AudioContent(type="audio", data=AUDIO_B64, mime_type="audio/wav")])

    @tool("Tests embedded resource content response")
    def test_embedded_resource() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )
        return CallToolResult(content=[EmbeddedResource(type="resource", resource=resource)])

    @tool("Tests response with multiple content types (text, image, resource)")
    def test_multiple_content_types() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://mixed-content-resource",
            mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
        )
        return CallToolResult(
            content=[
                TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=IMAGE_B64, mime_type="image/png"),
                EmbeddedResource(type="resource", resource=resource),
            ]
        )

    @tool("Tests tool that emits log messages during execution")
    async def test_tool_with_logging(ctx: Context) -> CallToolResult:
        # On 2026-07-28 the SDK sends these only when the request opted in with a logLevel (SEP-2575).
        for step, message in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
            if step:
                await anyio.sleep(STEP_DELAY)
            await ctx.info(message)
        return text("Tool with logging executed successfully")

    @tool("Tests tool that reports progress notifications")
    async def test_tool_with_progress(ctx: Context) -> CallToolResult:
        for step in (0, 50, 100):
            if step:
                await anyio.sleep(STEP_DELAY)
            await ctx.report_progress(step, 100, f"Completed step {step} of 100")  # only with a progressToken
        token = progress_token(ctx)
        return text(str(token if token is not None else 0))

    @tool("Tests error response handling")
    def test_error_handling() -> CallToolResult:
        return text("This tool intentionally returns an error for testing", is_error=True)

    @tool(
        "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call "
        "and send the result after client reconnects."
    )
    async def test_reconnection(ctx: Context) -> CallToolResult:
        # Legacy: ends this call's SSE stream after its priming event; the client resumes with GET + Last-Event-ID
        # and gets the result replayed from the event store. 2026-07-28 has no resumption: a no-op there.
        await ctx.close_sse_stream()
        await anyio.sleep(0.1)
        return text(
            "Reconnection test completed successfully. If you received this, the client properly reconnected "
            "after stream closure."
        )

    @tool("Tests server-initiated sampling (LLM completion request)")
    async def test_sampling(
        prompt: Annotated[str, Field(description="The prompt to send to the LLM")], ctx: Context
    ) -> CallToolResult:
        try:
            result = await ctx.session.create_message(
                messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
                max_tokens=100,
                related_request_id=ctx.request_id,
            )
        except Exception as exc:  # noqa: BLE001 - reported to the caller, like the reference
            return text(f"Sampling not supported or error: {exc}")
        return text(f"LLM response: {getattr(result.content, 'text', None) or 'No response'}")

    async def elicit(ctx: Context, message: str, requested_schema: dict[str, Any], label: str) -> CallToolResult:
        try:
            result = await ctx.session.elicit_form(message, requested_schema, related_request_id=ctx.request_id)
        except Exception as exc:  # noqa: BLE001
            return text(f"Elicitation not supported or error: {exc}")
        content = json.dumps(result.content or {}, separators=(",", ":"))
        return text(f"{label}: action={result.action}, content={content}")

    @tool("Tests server-initiated elicitation (user input request)")
    async def test_elicitation(
        message: Annotated[str, Field(description="The message to show the user")], ctx: Context
    ) -> CallToolResult:
        return await elicit(ctx, message, ELICITATION_SCHEMA, "User response")

    @tool("Tests elicitation with default values per SEP-1034")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> CallToolResult:
        message = "Please review and update the form fields with defaults"
        return await elicit(ctx, message, SEP1034_SCHEMA, "Elicitation completed")

    @tool("Tests elicitation with enum schema improvements per SEP-1330")
    async def test_elicitation_sep1330_enums(ctx: Context) -> CallToolResult:
        return await elicit(ctx, "Please select options from the enum fields", SEP1330_SCHEMA, "Elicitation completed")

    @tool("Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)")
    def json_schema_2020_12_tool(
        name: str | None = None,
        address: dict[str, Any] | None = None,
        contactMethod: str | None = None,  # noqa: N803 - wire name
        phone: str | None = None,
        email: str | None = None,
    ) -> CallToolResult:
        given = {"name": name, "address": address, "contactMethod": contactMethod, "phone": phone, "email": email}
        given = {key: value for key, value in given.items() if value is not None}
        return text(f"JSON Schema 2020-12 tool called with: {json.dumps(given, separators=(',', ':'))}")

    # Advertise the raw schema (the SDK would derive a plain one from the signature).
    server._tool_manager.get_tool("json_schema_2020_12_tool").parameters = JSON_SCHEMA_2020_12  # noqa: SLF001

    @tool("Tests server-initiated roots listing (roots/list request on the call's stream)")
    async def test_list_roots(ctx: Context) -> CallToolResult:
        try:
            result = await ctx.session.send_request(
                ListRootsRequest(),
                ListRootsResult,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except Exception as exc:  # noqa: BLE001
            return text(f"Roots not supported or error: {exc}")
        uris = ", ".join(str(root.uri) for root in result.roots)
        return text(f"Found {len(result.roots)} root(s): {uris}")
