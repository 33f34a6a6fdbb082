"""Server-initiated traffic of the fixture: change announcements, resource subscriptions and SSE resumability.

Nothing in the reference fixture ever changes, so nothing would ever send `notifications/resources/updated` or
`notifications/*/list_changed` to a legacy session; a test of a gateway's relay needs them on demand. The fixture
therefore has a control endpoint beside /mcp (loopback only, like the whole fixture):

    POST /fixture/notify   {"method": "notifications/resources/updated", "params": {"uri": "test://watched-resource"}}
                           {"method": "notifications/tools/list_changed"}   (also prompts/…, resources/list_changed)

A `resources/updated` goes to every legacy session subscribed to that URI, a `list_changed` to every legacy
session seen, each on that session's standalone (GET) stream, and both to the 2026-07-28 `subscriptions/listen`
streams that asked for them. The answer says how many legacy sessions were addressed: `{"legacySessions": N}`.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.streamable_http import (
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamableHTTPServerTransport,
    StreamId,
)
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import SubscriptionBus
from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp_types import (
    JSONRPCMessage,
    PromptListChangedNotification,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
    ResourceUpdatedNotificationParams,
    ServerNotification,
    ToolListChangedNotification,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .catalog import is_modern

RESOURCE_UPDATED = "notifications/resources/updated"
_LIST_CHANGED: dict[str, tuple[ServerNotification, ServerEvent]] = {
    "notifications/tools/list_changed": (ToolListChangedNotification(), ToolsListChanged()),
    "notifications/prompts/list_changed": (PromptListChangedNotification(), PromptsListChanged()),
    "notifications/resources/list_changed": (ResourceListChangedNotification(), ResourcesListChanged()),
}
MAX_SESSIONS = 256  # sessions remembered for announcements; the oldest is forgotten first
MAX_EVENTS = 1_000  # SSE events a session keeps for resumption, all its streams together


def session_id(ctx: ServerRequestContext[Any, Any]) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    return headers.get("mcp-session-id") if headers is not None else None


class Sessions:
    """The live legacy sessions the fixture has seen (bounded) and the URIs each one subscribed to."""

    def __init__(self, bus: SubscriptionBus) -> None:
        self._bus = bus
        self._sessions: OrderedDict[str, ServerSession] = OrderedDict()
        self._transports: dict[str, StreamableHTTPServerTransport] = {}
        self._subscriptions: dict[str, set[str]] = {}

    def admitted(self, transport: StreamableHTTPServerTransport) -> None:
        """A new session's transport, which tells when the session ends (DELETE, idle timeout)."""
        if transport.mcp_session_id is not None:
            self._transports[transport.mcp_session_id] = transport
            while len(self._transports) > MAX_SESSIONS:  # admitted, maybe never used: bounded too
                self._forget(next(iter(self._transports)))

    def _forget(self, sid: str) -> None:
        self._sessions.pop(sid, None)
        self._transports.pop(sid, None)
        self._subscriptions.pop(sid, None)

    async def record(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: remember the session behind every legacy message (initialize has no id yet)."""
        sid = session_id(ctx)
        if sid is not None and not is_modern(ctx.protocol_version):
            self._sessions[sid] = ctx.session
            self._sessions.move_to_end(sid)
            while len(self._sessions) > MAX_SESSIONS:
                self._forget(next(iter(self._sessions)))
        return await call_next(ctx)

    def _ended(self, sid: str) -> bool:
        transport = self._transports.get(sid)
        return transport is None or transport.is_terminated

    def subscribe(self, ctx: ServerRequestContext[Any, Any], uri: str) -> None:
        if (sid := session_id(ctx)) is not None:
            self._subscriptions.setdefault(sid, set()).add(uri)

    def unsubscribe(self, ctx: ServerRequestContext[Any, Any], uri: str) -> None:
        if (sid := session_id(ctx)) is not None:
            self._subscriptions.get(sid, set()).discard(uri)

    async def announce(self, method: str, uri: str | None = None) -> int:
        """Send one change notification to the live legacy sessions it concerns and to the listen streams."""
        for sid in [sid for sid in self._sessions if self._ended(sid)]:
            self._forget(sid)
        if method == RESOURCE_UPDATED:
            assert uri is not None
            notification: ServerNotification = ResourceUpdatedNotification(
                params=ResourceUpdatedNotificationParams(uri=uri)
            )
            event: ServerEvent = ResourceUpdated(uri=uri)
            targets = [sid for sid, uris in self._subscriptions.items() if uri in uris]
        else:
            notification, event = _LIST_CHANGED[method]
            targets = list(self._sessions)
        for sid in targets:
            if (session := self._sessions.get(sid)) is not None:
                await session.send_notification(notification)  # the standalone stream; best effort
        await self._bus.publish(event)
        return len(targets)

    async def endpoint(self, request: Request) -> Response:
        """POST /fixture/notify: announce one change (see the module docs)."""
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        method = body.get("method") if isinstance(body, dict) else None
        params = (body.get("params") if isinstance(body, dict) else None) or {}
        known = [RESOURCE_UPDATED, *_LIST_CHANGED]
        if method not in known or not isinstance(params, dict):
            return JSONResponse({"error": f"method must be one of {known}"}, status_code=400)
        uri = params.get("uri")
        if method == RESOURCE_UPDATED and not isinstance(uri, str):
            return JSONResponse({"error": f"{RESOURCE_UPDATED} needs params.uri (a string)"}, status_code=400)
        return JSONResponse({"legacySessions": await self.announce(method, uri)})


class MemoryEventStore(EventStore):
    """One session's SSE events, kept in memory (bounded) so its client can resume a stream with Last-Event-ID.

    With an event store the SDK starts each POST stream with a priming event (an id and empty data, plus
    `retry`), which is what the reference sends, and lets test_reconnection close a stream mid-call (SEP-1699).
    The SDK names a stream after the JSON-RPC id of its request, which every session reuses, so one store shared
    by all sessions would replay another session's events: `watch_admissions` gives each its own.
    """

    def __init__(self) -> None:
        self._events: OrderedDict[EventId, tuple[StreamId, JSONRPCMessage | None]] = OrderedDict()
        self._counter = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = f"{stream_id}::{next(self._counter)}"
        self._events[event_id] = (stream_id, message)
        while len(self._events) > MAX_EVENTS:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        if last_event_id not in self._events:
            return None
        stream_id, _ = self._events[last_event_id]
        after = False
        for event_id, (stream, message) in list(self._events.items()):
            if after and stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
            after = after or event_id == last_event_id
        return stream_id


def watch_admissions(manager: StreamableHTTPSessionManager, sessions: Sessions) -> None:
    """Give every session the manager admits a `MemoryEventStore` of its own, and tell `sessions` about it.

    The SDK hands one event store to all sessions and has no per-session hook, so this wraps the manager's
    session admission (private to mcp 2.3.0, which requirements-dev.txt pins).
    """
    admit = manager._admit_session  # noqa: SLF001

    def admit_and_watch(requestor: Any) -> StreamableHTTPServerTransport | None:  # noqa: ANN401
        transport = admit(requestor)
        if transport is not None:
            transport._event_store = MemoryEventStore()  # noqa: SLF001
            sessions.admitted(transport)
        return transport

    manager._admit_session = admit_and_watch  # type: ignore[method-assign]  # noqa: SLF001
