"""The conformance fixture backend, split by concern; `conformance_server.py` runs it.

catalog        what each protocol era is offered, capabilities, wire traits (a server middleware)
content        payloads, schemas and result builders
tools_shared   tools of both eras (notifications and server->client requests on the legacy stream)
tools_modern   2026-07-28-only tools and prompt (diagnostics, InputRequiredResult round trips)
resources      resources, prompts, completion, subscribe/unsubscribe, logging/setLevel
notify         change announcements (POST /fixture/notify), legacy sessions, the SSE event store
"""

from __future__ import annotations

import warnings

from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from starlette.applications import Starlette

from .catalog import CACHE_HINTS, EraCatalog
from .notify import MemoryEventStore, Sessions, watch_admissions
from .resources import register_prompts, register_resources
from .tools_modern import register_modern_tools
from .tools_shared import register_shared_tools

__all__ = ["build_app"]

# Logging, sampling and roots are deprecated in 2026-07-28; this fixture exercises them on purpose.
warnings.filterwarnings("ignore", message=r".*deprecated as of 2026-07-28.*")


def build_app(host: str, retry_ms: int) -> Starlette:
    """The fixture as an ASGI app serving /mcp (streamable HTTP, both eras) and POST /fixture/notify."""
    server, sessions = build_server()
    # Any event store switches resumability on (priming events, test_reconnection); each session gets its own.
    app = server.streamable_http_app(event_store=MemoryEventStore(), retry_interval=retry_ms, host=host)
    watch_admissions(server.session_manager, sessions)
    return app


def build_server() -> tuple[MCPServer, Sessions]:
    bus = InMemorySubscriptionBus()
    server = MCPServer("mcp-conformance-fixture", version="1.0.0", cache_hints=CACHE_HINTS, subscriptions=bus)
    sessions = Sessions(bus)
    server.middleware.append(sessions.record)
    server.middleware.append(EraCatalog())
    # Registration order is listing order: the reference's, with the 2026-07-28-only entries last.
    register_shared_tools(server)
    register_resources(server, sessions)
    register_prompts(server)
    register_modern_tools(server)
    server.custom_route("/fixture/notify", methods=["POST"])(sessions.endpoint)
    return server, sessions
