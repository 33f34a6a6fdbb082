"""Fixture backend for the official MCP conformance suite, run *through* the gateway.

Built on the official Python SDK (mcp 2.3.0, MCPServer). Listens on 127.0.0.1 only. The gateway exposes it
with an empty prefix (infra/backends.conformance.json), so the suite finds its fixtures by their plain names.

    python tests/backends/conformance_server.py --port 3004        # streamable HTTP on /mcp

Names and behaviour follow the suite's scenarios (@modelcontextprotocol/conformance 0.2.0-alpha.12,
`conformance server --help`; the reference fixture is its examples/servers/typescript/everything-server.ts):

Tools      test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
           test_multiple_content_types, json_schema_2020_12_tool, test_tool_with_logging, test_tool_with_progress,
           test_error_handling,
           test_sampling, test_elicitation, test_elicitation_sep1034_defaults, test_elicitation_sep1330_enums
           (server->client requests on the legacy wire, InputRequiredResult on 2026-07-28),
           2026-07-28 diagnostics: test_missing_capability, test_streaming_elicitation, test_logging_tool,
           test_trigger_tool_change, test_trigger_prompt_change,
           multi-round-trip (SEP-2322): test_input_required_result_{elicitation,sampling,list_roots,
           request_state,multiple_inputs,multi_round,tampered_state,capabilities}
Resources  test://static-text, test://static-binary, template test://template/{id}/data, test://watched-resource
           (+ resources/subscribe and resources/unsubscribe on the legacy wire)
Prompts    test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource,
           test_prompt_with_image, test_input_required_result_prompt (2026-07-28)
Also       completion/complete (empty values), logging/setLevel (legacy wire).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import warnings
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp_types import (
    AudioContent,
    CallToolResult,
    Completion,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequiredResult,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

# Logging, sampling and roots are deprecated in 2026-07-28; this fixture exercises them on purpose.
warnings.filterwarnings("ignore", message=r".*deprecated as of 2026-07-28.*")

# 1x1 red PNG and a minimal WAV (the suite's reference fixture uses the same bytes).
IMAGE_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
AUDIO_B64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
MISSING_CAPABILITY = -32021  # MissingRequiredClientCapabilityError (2026-07-28)

SEP1034_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
    "required": [],
}

SEP1330_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {
            "type": "string",
            "description": "Select one option",
            "enum": ["option1", "option2", "option3"],
        },
        "titledSingle": {
            "type": "string",
            "description": "Select one option with titles",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "description": "Select one option (legacy)",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "description": "Select multiple options",
            "minItems": 1,
            "maxItems": 3,
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "description": "Select multiple options with titles",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}

# SEP-1613 / SEP-2106: a raw JSON Schema 2020-12 inputSchema the gateway must pass through unchanged.
JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

USER_RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}


# ----- helpers -----------------------------------------------------------------------------------------


def text(value: str, *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=value)], is_error=is_error)


def is_modern(ctx: Context) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def schema(**properties: str) -> dict[str, Any]:
    """A flat elicitation schema: every named property is required and of the given JSON type."""
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


def elicit_request(message: str, requested_schema: dict[str, Any]) -> dict[str, Any]:
    return {"method": "elicitation/create", "params": {"message": message, "requestedSchema": requested_schema}}


def sampling_request(prompt: str, max_tokens: int = 100) -> dict[str, Any]:
    return {
        "method": "sampling/createMessage",
        "params": {
            "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
            "maxTokens": max_tokens,
        },
    }


ROOTS_REQUEST: dict[str, Any] = {"method": "roots/list", "params": {}}


def input_required(requests: dict[str, dict[str, Any]], state: dict[str, Any] | None = None) -> InputRequiredResult:
    """An InputRequiredResult (SEP-2322). The SDK seals `requestState` and verifies the echo (tamper-proof)."""
    payload: dict[str, Any] = {"resultType": "input_required", "inputRequests": requests}
    if state is not None:
        payload["requestState"] = json.dumps(state, separators=(",", ":"))
    return InputRequiredResult.model_validate(payload)


def response(ctx: Context, key: str) -> dict[str, Any] | None:
    """The client's answer to input request `key` as wire JSON, or None."""
    answer = (ctx.input_responses or {}).get(key)
    if answer is None:
        return None
    if hasattr(answer, "model_dump"):
        return answer.model_dump(mode="json", by_alias=True, exclude_none=True)
    return answer if isinstance(answer, dict) else None


def accepted(ctx: Context, key: str) -> dict[str, Any] | None:
    """The `content` of an accepted elicitation answer to `key`, or None."""
    answer = response(ctx, key)
    if answer is None or answer.get("action") != "accept" or not isinstance(answer.get("content"), dict):
        return None
    return answer["content"]


def state(ctx: Context) -> dict[str, Any]:
    try:
        value = json.loads(ctx.request_state) if ctx.request_state else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def progress_token(ctx: Context) -> Any:
    meta = ctx.request_context.meta or {}
    return meta.get("progress_token", meta.get("progressToken"))


def declared(ctx: Context, capability: str) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and getattr(capabilities, capability, None) is not None


# ----- the server --------------------------------------------------------------------------------------


def build_server() -> MCPServer:
    server = MCPServer(
        "mcp-conformance-fixture",
        version="1.0.0",
        instructions="Fixture backend for the MCP conformance suite, served through the gateway.",
    )
    subscriptions: set[str] = set()

    def tool(description: str):  # noqa: ANN202
        # Every fixture returns its CallToolResult / InputRequiredResult itself: no derived output schema.
        return server.tool(description=description, structured_output=False)

    # --- content tools ---

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
            text=json.dumps({"test": "data", "value": 123}),
        )
        return CallToolResult(
            content=[
                TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=IMAGE_B64, mime_type="image/png"),
                EmbeddedResource(type="resource", resource=resource),
            ]
        )

    @tool("Tests error response handling")
    def test_error_handling() -> CallToolResult:
        return text("This tool intentionally returns an error for testing", is_error=True)

    @tool("Tool with JSON Schema 2020-12 features (SEP-1613, SEP-2106)")
    def json_schema_2020_12_tool(
        name: str | None = None,
        address: dict[str, Any] | None = None,
        contactMethod: str | None = None,  # noqa: N803 - wire name
        phone: str | None = None,
        email: str | None = None,
    ) -> CallToolResult:
        given = {"name": name, "address": address, "contactMethod": contactMethod, "phone": phone, "email": email}
        given = {key: value for key, value in given.items() if value is not None}
        return text(f"JSON Schema 2020-12 tool called with: {json.dumps(given)}")

    # Advertise the raw schema (the SDK would derive a plain one from the signature).
    server._tool_manager.get_tool("json_schema_2020_12_tool").parameters = JSON_SCHEMA_2020_12  # noqa: SLF001

    # --- notifications during a call ---

    @tool("Tests tool that emits log messages during execution")
    async def test_tool_with_logging(ctx: Context) -> CallToolResult:
        await ctx.info("Tool execution started")
        await asyncio.sleep(0.05)
        await ctx.info("Tool processing data")
        await asyncio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return text("Tool with logging executed successfully")

    @tool("Tests tool that reports progress notifications")
    async def test_tool_with_progress(ctx: Context) -> CallToolResult:
        for step in (0, 50, 100):
            await ctx.report_progress(step, 100, f"Completed step {step} of 100")
            if step != 100:
                await asyncio.sleep(0.05)
        token = progress_token(ctx)
        return text(str(token) if token is not None else "Progress completed")

    @tool("Emits log messages; on 2026-07-28 only when the request opted in with a logLevel (SEP-2575)")
    async def test_logging_tool(ctx: Context) -> CallToolResult:
        await ctx.info("test_logging_tool: info message")
        await ctx.warning("test_logging_tool: warning message")
        return text("Logging tool complete")

    # --- server -> client requests: legacy wire = requests on the POST stream, 2026-07-28 = InputRequiredResult ---

    @tool("Tests server-initiated sampling (LLM completion request)")
    async def test_sampling(prompt: str, ctx: Context) -> CallToolResult | InputRequiredResult:
        if is_modern(ctx):
            answer = response(ctx, "sampling")
            if answer is None:
                return input_required({"sampling": sampling_request(prompt)})
            return text(f"LLM response: {(answer.get('content') or {}).get('text', 'No response')}")
        try:
            result = await ctx.session.create_message(
                messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
                max_tokens=100,
                related_request_id=ctx.request_id,
            )
        except Exception as exc:  # noqa: BLE001 - reported to the caller, like the reference fixture
            return text(f"Sampling not supported or error: {exc}")
        content = result.content
        return text(f"LLM response: {getattr(content, 'text', None) or 'No response'}")

    async def elicit(ctx: Context, key: str, message: str, requested_schema: dict[str, Any], label: str) -> Any:
        if is_modern(ctx):
            answer = response(ctx, key)
            if answer is None:
                return input_required({key: elicit_request(message, requested_schema)})
            action, content = answer.get("action"), answer.get("content") or {}
        else:
            try:
                result = await ctx.session.elicit_form(message, requested_schema, related_request_id=ctx.request_id)
            except Exception as exc:  # noqa: BLE001
                return text(f"Elicitation not supported or error: {exc}")
            action, content = result.action, result.content or {}
        return text(f"{label}: action={action}, content={json.dumps(content)}")

    @tool("Tests server-initiated elicitation (user input request)")
    async def test_elicitation(message: str, ctx: Context) -> CallToolResult | InputRequiredResult:
        return await elicit(ctx, "user_response", message, USER_RESPONSE_SCHEMA, "User response")

    @tool("Tests elicitation with default values per SEP-1034")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> CallToolResult | InputRequiredResult:
        message = "Please review and update the form fields with defaults"
        return await elicit(ctx, "defaults", message, SEP1034_SCHEMA, "Elicitation completed")

    @tool("Tests elicitation with enum schema improvements per SEP-1330")
    async def test_elicitation_sep1330_enums(ctx: Context) -> CallToolResult | InputRequiredResult:
        message = "Please select options from the enum fields"
        return await elicit(ctx, "enums", message, SEP1330_SCHEMA, "Elicitation completed")

    # --- 2026-07-28 diagnostics (server-stateless, SEP-2575) ---

    @tool("Requires the sampling client capability; undeclared clients get -32021 (SEP-2575)")
    def test_missing_capability(ctx: Context) -> CallToolResult:
        if not declared(ctx, "sampling"):
            raise MCPError(
                code=MISSING_CAPABILITY,
                message="Missing required client capability: sampling",
                data={"requiredCapabilities": {"sampling": {}}},
            )
        return text("Sampling capability is declared")

    @tool("Asks for input in-band: an InputRequiredResult on 2026-07-28, never a request on the stream")
    async def test_streaming_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        return await elicit(ctx, "confirm", "Please confirm", schema(ok="boolean"), "Elicitation completed")

    def added_tool() -> str:
        return "This tool was added by test_trigger_tool_change"

    def added_prompt() -> str:
        return "This prompt was added by test_trigger_prompt_change"

    @tool("Adds or removes test_added_tool, then announces tools/list_changed")
    async def test_trigger_tool_change(ctx: Context) -> CallToolResult:
        if any(tool.name == "test_added_tool" for tool in await server.list_tools()):
            server.remove_tool("test_added_tool")
        else:
            server.add_tool(added_tool, name="test_added_tool", description="Added at run time")
        await ctx.notify_tools_changed()
        if not is_modern(ctx):
            await ctx.session.send_tool_list_changed()
        return text("Tool list changed")

    @tool("Adds or removes test_added_prompt, then announces prompts/list_changed")
    async def test_trigger_prompt_change(ctx: Context) -> CallToolResult:
        if any(prompt.name == "test_added_prompt" for prompt in await server.list_prompts()):
            server.remove_prompt("test_added_prompt")
        else:
            prompt = Prompt.from_function(added_prompt, name="test_added_prompt", description="Added at run time")
            server.add_prompt(prompt)
        await ctx.notify_prompts_changed()
        if not is_modern(ctx):
            await ctx.session.send_prompt_list_changed()
        return text("Prompt list changed")

    # --- multi-round-trip requests (SEP-2322, input-required-result-* scenarios) ---

    def modern_only(ctx: Context) -> CallToolResult | None:
        if is_modern(ctx):
            return None
        return text("This tool needs protocol 2026-07-28 (InputRequiredResult)", is_error=True)

    @tool("MRTR: asks for the caller's name via elicitation, then greets")
    def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        content = accepted(ctx, "user_name")
        if content is not None and isinstance(content.get("name"), str):
            return text(f"Hello, {content['name']}!")
        return input_required({"user_name": elicit_request("What is your name?", schema(name="string"))})

    @tool("MRTR: asks for an LLM completion via sampling")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        answer = response(ctx, "capital_question")
        if answer is not None:
            return text(f"Sampling result: {(answer.get('content') or {}).get('text', 'no response')}")
        return input_required({"capital_question": sampling_request("What is the capital of France?")})

    @tool("MRTR: asks for the client's roots")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        answer = response(ctx, "client_roots")
        if answer is not None and isinstance(answer.get("roots"), list):
            uris = ", ".join(str(root.get("uri")) for root in answer["roots"])
            return text(f"Found {len(answer['roots'])} root(s): {uris}")
        return input_required({"client_roots": ROOTS_REQUEST})

    @tool("MRTR: round-trips requestState and validates it")
    def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        content = accepted(ctx, "confirm")
        if content is not None and state(ctx).get("kind") == "request-state":
            return text("state-ok: requestState validated")
        return input_required(
            {"confirm": elicit_request("Please confirm", schema(ok="boolean"))}, {"kind": "request-state"}
        )

    @tool("MRTR: elicitation, sampling and roots in one round")
    def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        keys = ("user_name", "greeting", "client_roots")
        if state(ctx).get("kind") == "multiple-inputs" and all(response(ctx, key) is not None for key in keys):
            return text("Multiple inputs completed")
        return input_required(
            {
                "user_name": elicit_request("What is your name?", schema(name="string")),
                "greeting": sampling_request("Generate a greeting", 50),
                "client_roots": ROOTS_REQUEST,
            },
            {"kind": "multiple-inputs"},
        )

    @tool("MRTR: two rounds of elicitation with evolving requestState")
    def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        current = state(ctx).get("round")
        if current == 2 and accepted(ctx, "step2") is not None:
            return text("Multi-round complete")
        if current == 1 and accepted(ctx, "step1") is not None:
            name = accepted(ctx, "step1").get("name")
            return input_required(
                {"step2": elicit_request("Step 2: What is your favorite color?", schema(color="string"))},
                {"round": 2, "name": name},
            )
        return input_required(
            {"step1": elicit_request("Step 1: What is your name?", schema(name="string"))}, {"round": 1}
        )

    @tool("MRTR: integrity-protected requestState; a tampered echo is rejected")
    def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        # The SDK seals requestState (AES-GCM) and rejects a modified echo before this body runs.
        if state(ctx).get("kind") == "tamper-test" and accepted(ctx, "confirm") is not None:
            return text("integrity-ok: state verified")
        return input_required(
            {"confirm": elicit_request("Please confirm", schema(ok="boolean"))}, {"kind": "tamper-test"}
        )

    @tool("MRTR: only asks for what the client declared it supports")
    def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        if (refused := modern_only(ctx)) is not None:
            return refused
        if ctx.input_responses:
            return text(f"capabilities-ok: received {','.join(sorted(ctx.input_responses))}")
        requests: dict[str, dict[str, Any]] = {}
        if declared(ctx, "elicitation"):
            requests["elicit_input"] = elicit_request("Elicitation input", schema(value="string"))
        if declared(ctx, "sampling"):
            requests["sample_input"] = sampling_request("Sample request", 50)
        if declared(ctx, "roots"):
            requests["roots_input"] = ROOTS_REQUEST
        if not requests:
            return text("No supported capabilities declared")
        return input_required(requests, {"kind": "capabilities-test"})

    # --- resources ---

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
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @server.resource(
        "test://watched-resource",
        name="watched-resource",
        title="Watched Resource",
        description="A resource that can be subscribed to",
        mime_type="text/plain",
    )
    def watched_resource() -> str:
        return "Watched resource content"

    # Legacy-wire handlers with no MCPServer decorator (the SDK answers them -32601 on 2026-07-28 by itself).
    async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:  # noqa: ANN401
        subscriptions.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:  # noqa: ANN401
        subscriptions.discard(str(params.uri))
        return EmptyResult()

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:  # noqa: ANN401
        return EmptyResult()

    lowlevel = server._lowlevel_server  # noqa: SLF001 - no public hook for these methods
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)

    # --- prompts ---

    @server.prompt(title="Simple Test Prompt", description="A simple prompt without arguments")
    def test_simple_prompt() -> list[dict[str, Any]]:
        return [{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}]

    @server.prompt(title="Prompt With Arguments", description="A prompt with required arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> list[dict[str, Any]]:
        message = f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
        return [{"role": "user", "content": {"type": "text", "text": message}}]

    @server.prompt(title="Prompt With Embedded Resource", description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[dict[str, Any]]:  # noqa: N803 - wire name
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

    @server.prompt(title="Input Required Prompt", description="MRTR: asks for context via elicitation first")
    def test_input_required_result_prompt(ctx: Context) -> Any:  # noqa: ANN401
        content = accepted(ctx, "user_context")
        if content is not None and isinstance(content.get("context"), str):
            return f"Prompt with context: {content['context']}"
        return input_required(
            {"user_context": elicit_request("What context should the prompt use?", schema(context="string"))}
        )

    @server.completion()
    async def complete(ref, argument, context):  # noqa: ANN001, ANN202 - SDK callback signature
        return Completion(values=[], total=0, has_more=False)

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3004)
    args = parser.parse_args()
    build_server().run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
