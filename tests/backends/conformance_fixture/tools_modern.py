"""The tools and the prompt only 2026-07-28 requests get (`catalog` hides them from legacy sessions).

Diagnostics of the server-stateless scenario (SEP-2575) and the multi-round-trip tools of the
input-required-result-* scenarios (SEP-2322): instead of sending a request to the client, a tool returns an
InputRequiredResult naming what it needs, and the client calls again with `inputResponses` and the echoed
`requestState`. The SDK seals `requestState` (AES-GCM) and rejects a modified echo before the tool runs.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, InputRequiredResult

from .catalog import MODERN_ONLY_TOOLS
from .content import NO_ARGUMENTS, ROOTS_REQUEST, elicit_request, input_required, sampling_request, schema, text

MISSING_CAPABILITY = -32021  # MissingRequiredClientCapabilityError (2026-07-28)


def response(ctx: Context, key: str) -> dict[str, Any] | None:
    """The client's answer to input request `key` as wire JSON, or None."""
    answer = (ctx.input_responses or {}).get(key)
    if answer is None:
        return None
    if hasattr(answer, "model_dump"):
        return answer.model_dump(mode="json", by_alias=True, exclude_none=True)
    return answer if isinstance(answer, dict) else None


def answered_text(ctx: Context, key: str, field: str) -> str:
    """`content[field]` of the answer to elicitation `key`, "unknown" when absent (the reference's wording)."""
    content = (response(ctx, key) or {}).get("content")
    value = content.get(field) if isinstance(content, dict) else None
    return value if isinstance(value, str) else "unknown"


def sampled_text(ctx: Context, key: str) -> str | None:
    content = (response(ctx, key) or {}).get("content")
    value = content.get("text") if isinstance(content, dict) else None
    return value if isinstance(value, str) else None


def roots_count(ctx: Context, key: str) -> int:
    roots = (response(ctx, key) or {}).get("roots")
    return len(roots) if isinstance(roots, list) else 0


def state(ctx: Context) -> dict[str, Any]:
    try:
        value = json.loads(ctx.request_state) if ctx.request_state else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def declared(ctx: Context, capability: str) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and getattr(capabilities, capability, None) is not None


def register_modern_tools(server: MCPServer) -> None:  # noqa: C901 - one registration block per tool
    def tool(description: str):  # noqa: ANN202
        return server.tool(description=description, structured_output=False)

    @tool("Test tool requiring sampling")
    def test_missing_capability(ctx: Context) -> CallToolResult:
        if not declared(ctx, "sampling"):
            raise MCPError(
                code=MISSING_CAPABILITY,
                message="Missing required client capability: sampling",
                data={"requiredCapabilities": {"sampling": {}}},
            )
        return text("Success")

    @tool("MRTR: returns InputRequiredResult with elicitation request")
    def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        if response(ctx, "user_name") is not None:
            return text(f"Hello, {answered_text(ctx, 'user_name', 'name')}!")
        return input_required({"user_name": elicit_request("What is your name?", schema(name="string"))})

    @tool("MRTR: returns InputRequiredResult with sampling request")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        if response(ctx, "sample_request") is not None:
            return text(f"Sampling result: {sampled_text(ctx, 'sample_request') or 'no response'}")
        return input_required({"sample_request": sampling_request("What is the capital of France?")})

    @tool("MRTR: returns InputRequiredResult with roots/list request")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        if response(ctx, "roots_request") is not None:
            return text(f"Found {roots_count(ctx, 'roots_request')} root(s)")
        return input_required({"roots_request": ROOTS_REQUEST})

    @tool("MRTR: returns InputRequiredResult with requestState")
    def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        content = (response(ctx, "confirm") or {}).get("content")
        if state(ctx).get("kind") == "request-state" and isinstance(content, dict) and content.get("ok") is True:
            return text("state-ok: requestState validated")
        confirm = elicit_request("Please confirm", schema(ok="boolean"))
        return input_required({"confirm": confirm}, {"kind": "request-state"})

    @tool("MRTR: returns InputRequiredResult with multiple input requests")
    def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        keys = ("user_name", "greeting", "client_roots")
        if state(ctx).get("kind") == "multiple-inputs" and all(response(ctx, key) is not None for key in keys):
            name, greeting = answered_text(ctx, "user_name", "name"), sampled_text(ctx, "greeting") or "Hello there!"
            return text(f"Name: {name}; Greeting: {greeting}; Roots: {roots_count(ctx, 'client_roots')}")
        requests = {
            "user_name": elicit_request("What is your name?", schema(name="string")),
            "greeting": sampling_request("Generate a greeting", 50),
            "client_roots": ROOTS_REQUEST,
        }
        return input_required(requests, {"kind": "multiple-inputs"})

    @tool("MRTR: multi-round InputRequiredResult workflow")
    def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        current = state(ctx)
        if current.get("round") == 2 and response(ctx, "step2") is not None:
            name = current.get("name") if isinstance(current.get("name"), str) else "friend"
            return text(f"Multi-round complete for {name} who likes {answered_text(ctx, 'step2', 'color')}")
        if current.get("round") == 1 and response(ctx, "step1") is not None:
            step2 = elicit_request("Step 2: What is your favorite color?", schema(color="string"))
            return input_required({"step2": step2}, {"round": 2, "name": answered_text(ctx, "step1", "name")})
        step1 = elicit_request("Step 1: What is your name?", schema(name="string"))
        return input_required({"step1": step1}, {"round": 1})

    @tool("MRTR: integrity-protected requestState integrity test")
    def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        # A modified requestState never gets here: the SDK's seal check rejects it with -32602.
        if state(ctx).get("kind") == "tamper-test" and response(ctx, "confirm") is not None:
            return text("integrity-ok: state verified")
        confirm = elicit_request("Please confirm", schema(ok="boolean"))
        return input_required({"confirm": confirm}, {"kind": "tamper-test"})

    @tool("MRTR: respects client capabilities in inputRequests")
    def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.input_responses:
            return text(f"capabilities-ok: received {','.join(ctx.input_responses)}")
        requests: dict[str, dict[str, Any]] = {}
        if declared(ctx, "elicitation"):
            requests["elicit_input"] = elicit_request("Elicitation input", schema(value="string"))
        if declared(ctx, "sampling"):
            requests["sample_input"] = sampling_request("Sample request", 50)
        if not requests:
            return text("No supported capabilities declared")
        return input_required(requests, {"kind": "capabilities-test"})

    @tool("Diagnostic tool validating response progress streams")
    async def test_streaming_elicitation(ctx: Context) -> CallToolResult:
        # Only notifications may precede the result on a 2026-07-28 response stream, never a request.
        await ctx.report_progress(50, 100)
        return text("Streaming complete")

    @tool("Diagnostic logging validator tool")
    async def test_logging_tool(ctx: Context) -> CallToolResult:
        await ctx.info("Diagnostic trace logging activated")  # sent only when the request carried a logLevel
        return text("Logging evaluated")

    # Hooks of server-stateless's subscriptions/listen checks: announce a change, change nothing.
    @tool("Announces tools/list_changed to subscriptions/listen streams")
    async def test_trigger_tool_change(ctx: Context) -> CallToolResult:
        await ctx.notify_tools_changed()
        return text("Mutation triggered")

    @tool("Announces prompts/list_changed to subscriptions/listen streams")
    async def test_trigger_prompt_change(ctx: Context) -> CallToolResult:
        await ctx.notify_prompts_changed()
        return text("Mutation triggered")

    # The reference lists these with a bare no-argument schema.
    for registered in server._tool_manager.list_tools():  # noqa: SLF001 - no public setter for the schema
        if registered.name in MODERN_ONLY_TOOLS:
            registered.parameters = NO_ARGUMENTS

    @server.prompt(description="MRTR: prompt that requires elicitation input")
    def test_input_required_result_prompt(ctx: Context) -> Any:  # noqa: ANN401
        if response(ctx, "user_context") is not None:
            return f"Prompt with context: {answered_text(ctx, 'user_context', 'context')}"
        return input_required(
            {"user_context": elicit_request("What context should the prompt use?", schema(context="string"))}
        )
