"""What the fixture offers in each protocol era, and the wire shaping that makes each era look like the reference.

The reference fixture (examples/servers/typescript/everything-server.ts of modelcontextprotocol/conformance)
serves two catalogs on one endpoint: a legacy session (initialize, 2025-11-25 and earlier) sees the base tools,
prompts and resources; a 2026-07-28 request additionally sees the diagnostic and multi-round-trip tools, one
prompt and one resource. A gateway that builds one catalog for both eras loses exactly these, so the fixture
reproduces the split: `EraCatalog` is a server middleware that filters the listings per era, answers a call to
a name the era does not offer as unknown, and sets the capabilities each era advertises.

Two more observable traits of the reference are reproduced on purpose, because a real backend built on an SDK
that predates them behaves the same way and the gateway has to cope:
- legacy list results and resources/read carry SEP-2549 caching hints (`ttlMs`, `cacheScope`);
- on 2026-07-28, a tools/call of a tool both eras share answers without `resultType` (the spec lets clients read
  that as "complete"; a gateway must stamp it on what it returns). Calls of the 2026-07-28-only tools carry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server import CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

STATELESS_TEXT_URI = "test://stateless-static-text"

# Listed and callable only on 2026-07-28 (the reference appends them to the modern tools/list).
MODERN_ONLY_TOOLS = frozenset(
    {
        "test_missing_capability",
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_tampered_state",
        "test_input_required_result_capabilities",
        "test_streaming_elicitation",
        "test_logging_tool",
    }
)
# Callable only on 2026-07-28 and never listed: the suite's server-stateless scenario calls these hooks by name.
UNLISTED_MODERN_TOOLS = frozenset({"test_trigger_tool_change", "test_trigger_prompt_change"})
MODERN_CALLABLE_TOOLS = MODERN_ONLY_TOOLS | UNLISTED_MODERN_TOOLS
# Not in the reference: the one legacy tool that sends roots/list on the call's stream (sampling and elicitation
# have theirs), so a gateway's relay of all three server->client requests can be tested.
LEGACY_ONLY_TOOLS = frozenset({"test_list_roots"})
MODERN_ONLY_PROMPTS = frozenset({"test_input_required_result_prompt"})
MODERN_ONLY_RESOURCES = frozenset({STATELESS_TEXT_URI})

# What `initialize` advertises (the SDK would derive listChanged=false; the reference says true).
LEGACY_CAPABILITIES: dict[str, Any] = {
    "completions": {},
    "logging": {},
    "prompts": {"listChanged": True},
    "resources": {"listChanged": True, "subscribe": True},
    "tools": {"listChanged": True},
}
# What `server/discover` advertises on 2026-07-28.
MODERN_CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "prompts": {"listChanged": True},
    "resources": {},
}

LIST_METHODS = {"tools/list": "tools", "prompts/list": "prompts", "resources/list": "resources"}
_LIST_HINT = CacheHint(ttl_ms=300_000, scope="public")
_READ_HINT = CacheHint(ttl_ms=300_000, scope="private")
# SEP-2549 hints the SDK fills on 2026-07-28 results (it sieves them out of legacy results).
CACHE_HINTS: dict[str, CacheHint] = {
    "tools/list": _LIST_HINT,
    "prompts/list": _LIST_HINT,
    "resources/list": _LIST_HINT,
    "resources/templates/list": _LIST_HINT,
    "resources/read": _READ_HINT,
}


def is_modern(protocol_version: str | None) -> bool:
    return protocol_version in MODERN_PROTOCOL_VERSIONS


def hidden_tools(modern: bool) -> frozenset[str]:
    """Tools left out of this era's tools/list."""
    return LEGACY_ONLY_TOOLS | UNLISTED_MODERN_TOOLS if modern else MODERN_CALLABLE_TOOLS


def tool_offered(modern: bool, name: str) -> bool:
    """Whether a tools/call of `name` reaches the tool in this era."""
    return name not in (LEGACY_ONLY_TOOLS if modern else MODERN_CALLABLE_TOOLS)


def _hidden(modern: bool, key: str) -> frozenset[str]:
    if key == "tools":
        return hidden_tools(modern)
    if modern:
        return frozenset()
    return MODERN_ONLY_PROMPTS if key == "prompts" else MODERN_ONLY_RESOURCES


def _target(params: Mapping[str, Any] | None, field: str) -> str:
    value = (params or {}).get(field)
    return value if isinstance(value, str) else ""


class EraCatalog:
    """Server middleware: per-era listings, unknown-in-this-era answers, advertised capabilities, wire quirks."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        modern, method = is_modern(ctx.protocol_version), ctx.method
        if method == "tools/call" and not tool_offered(modern, name := _target(ctx.params, "name")):
            # The same answer the SDK gives any unknown tool: an error result, not a protocol error.
            unknown: dict[str, Any] = {"content": [{"type": "text", "text": f"Unknown tool: {name}"}], "isError": True}
            return {**unknown, "resultType": "complete"} if modern else unknown
        if not modern and method == "prompts/get" and (name := _target(ctx.params, "name")) in MODERN_ONLY_PROMPTS:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}")
        if not modern and method == "resources/read" and (uri := _target(ctx.params, "uri")) in MODERN_ONLY_RESOURCES:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown resource: {uri}", data={"uri": uri})

        result = await call_next(ctx)
        if not isinstance(result, dict):
            return result
        if method in LIST_METHODS:
            key = LIST_METHODS[method]
            field = "uri" if key == "resources" else "name"
            hidden = _hidden(modern, key)
            result = {**result, key: [item for item in result.get(key, []) if item.get(field) not in hidden]}
        if method == "initialize":
            result = {**result, "capabilities": LEGACY_CAPABILITIES}
        elif method == "server/discover":
            result = {**result, "capabilities": MODERN_CAPABILITIES}
        elif modern and method == "tools/call" and _target(ctx.params, "name") not in MODERN_CALLABLE_TOOLS:
            result = {key: value for key, value in result.items() if key != "resultType"}
        elif not modern and (hint := CACHE_HINTS.get(method)) is not None:
            result = {**result, "ttlMs": hint.ttl_ms, "cacheScope": hint.scope}
        return result
