"""A real MCP server (Streamable HTTP, JSON-RPC by hand) that misbehaves on request, for the gateway's fault suite.

Listens on 127.0.0.1 only; exits by itself after --max-seconds. Every request's method, path and headers are
recorded (GET /_recorded returns them, DELETE /_recorded clears them), so tests can prove which credentials
reached the backend and that the client's never did.

Endpoints (all JSON-RPC over POST, answered with application/json unless a fault says otherwise):
  /mcp                    per-tool faults (below); --mode MODE makes every request fail with MODE instead
  /m/<mode>/mcp           every request fails with <mode>
  /names/<a,b,...>/mcp    exactly these tool names (each echoes), to collide with another backend's names
  /tools/<a,b,...>/mcp    like /mcp, listing only these of its tools (keeps a gateway's merged list small)
  /auth/static/mcp        like /mcp, but only with `Authorization: Bearer <--static-token>` (else 401)
  /auth/oauth/mcp         like /mcp, but only with a bearer token issued by /oauth/token (else 401)
  /oauth/token            OAuth 2.0 client credentials (HTTP Basic client auth: --oauth-client-id/-secret)

Faults (tool name = mode): slow (sleeps `seconds`, default 30), http_500, invalid_json, rpc_error (JSON-RPC
error -32001), drop_sse (SSE response cut off mid-event), huge (50 MB JSON body, streamed in chunks).
Other tools: echo(text), headers (this request's headers), add_tool(name) (adds a tool and announces
notifications/tools/list_changed on the SSE response that carries the result), echo_error(text) (a JSON-RPC
error whose message and data carry `text`: what a backend reflecting its input in errors does).

    python tests/backends/fault_server.py --port 3011
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import secrets
from typing import Any

import uvicorn

FAULTS = ("slow", "http_500", "invalid_json", "rpc_error", "drop_sse", "huge")
STRICT_SCHEMA = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1}, "label": {"type": "string", "maxLength": 20}},
    "required": ["count"],
    "additionalProperties": False,
}
HUGE_BYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024
SUPPORTED = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")


class Dropped(Exception):
    """Raised after a partial response: uvicorn then aborts the connection mid-body."""


class FaultServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.recorded: collections.deque[dict[str, Any]] = collections.deque(maxlen=5000)
        self.tokens: set[str] = set()
        self.extra_tools: list[str] = []

    # ---- ASGI plumbing -------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI signature
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path, method = scope["path"], scope["method"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if path != "/_recorded":
            self.recorded.append({"method": method, "path": path, "headers": headers, **rpc_summary(body)})
        try:
            await self.route(method, path, headers, body, send)
        except Dropped:
            raise
        except (ConnectionError, OSError):
            pass  # the gateway hung up (e.g. after its size limit): nothing to do

    @staticmethod
    async def respond(send, status: int, body: bytes, content_type: str = "application/json") -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def rpc(self, send, message_id: Any, *, result: Any = None, error: dict | None = None) -> None:  # noqa: ANN001
        payload = {"jsonrpc": "2.0", "id": message_id}
        payload.update({"error": error} if error is not None else {"result": result})
        await self.respond(send, 200, json.dumps(payload).encode())

    # ---- routing --------------------------------------------------------------------------------------

    async def route(self, method: str, path: str, headers: dict[str, str], body: bytes, send) -> None:  # noqa: ANN001
        if path == "/_recorded":
            if method == "DELETE":
                self.recorded.clear()
            return await self.respond(send, 200, json.dumps(list(self.recorded)).encode())
        if path == "/oauth/token" and method == "POST":
            return await self.token(headers, body, send)
        if not path.endswith("/mcp"):
            return await self.respond(send, 404, b'{"error":"not found"}')
        if method != "POST":
            return await self.respond(send, 405, b"")
        parts = path.strip("/").split("/")
        mode, names, only = self.args.mode, None, None
        if parts[0] == "m" and len(parts) == 3:
            mode = parts[1]
        elif parts[0] == "names" and len(parts) == 3:
            names = [n for n in parts[1].split(",") if n]
        elif parts[0] == "tools" and len(parts) == 3:
            only = {n for n in parts[1].split(",") if n}
        elif parts[0] == "auth" and len(parts) == 3:
            only = {"echo", "headers"}
            expected = f"Bearer {self.args.static_token}" if parts[1] == "static" else None
            presented = headers.get("authorization", "")
            ok = presented == expected if expected else presented.removeprefix("Bearer ") in self.tokens
            if not ok:
                return await self.respond(send, 401, b'{"error":"unauthorized"}')
        try:
            message = json.loads(body)
        except ValueError:
            return await self.respond(send, 400, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}')
        if not isinstance(message, dict) or "id" not in message:
            return await self.respond(send, 202, b"")
        if mode and mode != "ok":
            return await self.fault(mode, message, send)
        await self.handle(message, names, only, headers, send)

    async def token(self, headers: dict[str, str], body: bytes, send) -> None:  # noqa: ANN001
        from urllib.parse import parse_qs, unquote_plus

        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        try:
            user, _, password = base64.b64decode(headers.get("authorization", "").removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user = password = ""
        client_ok = unquote_plus(user) == self.args.oauth_client_id and unquote_plus(password) == self.args.oauth_client_secret
        if form.get("grant_type") != "client_credentials" or not client_ok:
            return await self.respond(send, 401, b'{"error":"invalid_client"}')
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        await self.respond(send, 200, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600}).encode())

    # ---- MCP ------------------------------------------------------------------------------------------

    def tools(self, names: list[str] | None, only: set[str] | None = None) -> list[dict[str, Any]]:
        listed = self.all_tools(names)
        # Tools added at run time are listed wherever add_tool is: they are what its list_changed announces.
        with_added = only is None or "add_tool" in only
        return [t for t in listed if only is None or t["name"] in only or (with_added and t["name"] in self.extra_tools)]

    def all_tools(self, names: list[str] | None) -> list[dict[str, Any]]:
        schema = {"type": "object", "properties": {}}
        if names is not None:
            return [{"name": n, "description": "Echoes (fault server).", "inputSchema": schema} for n in names]
        tools = [{"name": f, "description": f"Fault: {f}.", "inputSchema": schema} for f in FAULTS]
        tools.append({"name": "echo", "description": "Echo text.",
                      "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}})
        tools.append({"name": "headers", "description": "The request headers this backend got.", "inputSchema": schema})
        tools.append({"name": "strict", "description": "Echoes a count; its schema is strict (argument validation).",
                      "inputSchema": STRICT_SCHEMA})
        tools.append({"name": "add_tool", "description": "Add a tool; announces list_changed.",
                      "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}}})
        tools.append({"name": "echo_error", "description": "Answer with a JSON-RPC error that repeats `text`.",
                      "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}})
        tools += [{"name": n, "description": "Added at run time.", "inputSchema": schema} for n in self.extra_tools]
        return tools

    async def handle(  # noqa: PLR0911 - one branch per method
        self, message: dict, names: list[str] | None, only: set[str] | None, headers: dict[str, str], send  # noqa: ANN001
    ) -> None:
        rid, method, params = message["id"], message.get("method"), message.get("params") or {}
        if method == "initialize":
            version = params.get("protocolVersion")
            return await self.rpc(send, rid, result={
                "protocolVersion": version if version in SUPPORTED else SUPPORTED[0],
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "fault-server", "version": "1.0.0"},
            })
        if method == "ping":
            return await self.rpc(send, rid, result={})
        if method == "tools/list":
            return await self.rpc(send, rid, result={"tools": self.tools(names, only)})
        if method != "tools/call":
            return await self.rpc(send, rid, error={"code": -32601, "message": f"Method not found: {method}"})
        name, arguments = params.get("name"), params.get("arguments") or {}
        known = {t["name"] for t in self.tools(names, only)}
        if name not in known:
            return await self.rpc(send, rid, error={"code": -32602, "message": f"Unknown tool: {name}"})
        if names is not None:
            return await self.rpc(send, rid, result=text(f"fault server: {name}"))
        if name in FAULTS:
            return await self.fault(name, message, send)
        if name == "echo":
            return await self.rpc(send, rid, result=text(str(arguments.get("text", ""))))
        if name == "echo_error":
            said = str(arguments.get("text", ""))
            return await self.rpc(send, rid, error={"code": -32602, "message": f"cannot process {said}", "data": {"input": said}})
        if name == "strict":
            return await self.rpc(send, rid, result=text(f"strict: count={arguments.get('count')}"))
        if name == "headers":
            return await self.rpc(send, rid, result=text(json.dumps(headers, sort_keys=True)))
        if name == "add_tool":
            new = str(arguments.get("name") or f"added_{len(self.extra_tools) + 1}")
            if new not in self.extra_tools and len(self.extra_tools) < 100:
                self.extra_tools.append(new)
            changed = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
            reply = {"jsonrpc": "2.0", "id": rid, "result": text(f"added {new}")}
            stream = f"event: message\ndata: {json.dumps(changed)}\n\nevent: message\ndata: {json.dumps(reply)}\n\n"
            return await self.respond(send, 200, stream.encode(), "text/event-stream")
        return await self.rpc(send, rid, result=text(f"{name}: ok"))

    async def fault(self, mode: str, message: dict, send) -> None:  # noqa: ANN001
        rid, params = message["id"], message.get("params") or {}
        if mode == "slow":
            seconds = float((params.get("arguments") or {}).get("seconds", 30))
            await asyncio.sleep(min(max(seconds, 0), 120))
            return await self.rpc(send, rid, result=text("slow: done"))
        if mode == "http_500":
            return await self.respond(send, 500, b"Internal Server Error", "text/plain")
        if mode == "invalid_json":
            return await self.respond(send, 200, b'{"jsonrpc": "2.0", "id": ' + json.dumps(rid).encode() + b', "result": {oops')
        if mode == "rpc_error":
            return await self.rpc(send, rid, error={"code": -32001, "message": "fault server: deliberate JSON-RPC error"})
        if mode == "drop_sse":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
            note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "about to drop"}}
            await send({"type": "http.response.body", "body": f"event: message\ndata: {json.dumps(note)}\n\n".encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b'event: message\ndata: {"jsonrpc":"2.0","id":', "more_body": True})
            await asyncio.sleep(0.05)
            raise Dropped("connection dropped mid-SSE on purpose")
        if mode == "huge":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            head = b'{"jsonrpc":"2.0","id":' + json.dumps(rid).encode() + b',"result":{"content":[{"type":"text","text":"'
            await send({"type": "http.response.body", "body": head, "more_body": True})
            chunk, sent = b"x" * CHUNK, len(head)
            while sent < HUGE_BYTES:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += CHUNK
            return await send({"type": "http.response.body", "body": b'"}]}}'})
        return await self.rpc(send, rid, error={"code": -32602, "message": f"unknown fault mode {mode!r}"})


def rpc_summary(body: bytes) -> dict[str, Any]:
    """The JSON-RPC method, tool name and arguments of a request body, for the record (empty if not JSON-RPC)."""
    try:
        message = json.loads(body or b"null")
    except ValueError:
        return {}
    if not isinstance(message, dict):
        return {}
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    return {"rpc": message.get("method"), "tool": params.get("name"), "arguments": params.get("arguments")}


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}]}


async def serve(args: argparse.Namespace) -> None:
    config = uvicorn.Config(FaultServer(args), host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.serve(), timeout=args.max_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3011)
    parser.add_argument("--mode", choices=("ok",) + FAULTS, default="ok", help="fail every request on /mcp this way")
    parser.add_argument("--static-token", default="fault-static-token")
    parser.add_argument("--oauth-client-id", default="gateway")
    parser.add_argument("--oauth-client-secret", default="fault-client-secret")
    parser.add_argument("--max-seconds", type=float, default=7200)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
