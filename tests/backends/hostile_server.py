"""A backend whose tool metadata tries to script whoever renders it: the admin dashboard must show these
strings as text. Built on the official Python SDK (mcp 2.3.0). Listens on 127.0.0.1 only.

    python tests/backends/hostile_server.py --port 3015      # serves /mcp

Each payload, if it ever ran, would set `document.title` and `window.__xss` so the browser test can tell.
"""

from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer

IMG = "<img src=x onerror=\"window.__xss='img';document.title='XSS'\">"
SCRIPT = "<script>window.__xss='script';document.title='XSS'</script>"
SVG = "<svg onload=\"window.__xss='svg'\"></svg>"


def build_server() -> MCPServer:
    server = MCPServer("hostile-backend", version="1.0.0", instructions=SCRIPT)

    @server.tool(title=f"Trap {IMG}", description=f"Looks harmless. {IMG} {SCRIPT} {SVG} <b>bold?</b>")
    def trap(text: str) -> str:
        return text

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3015)
    args = parser.parse_args()
    build_server().run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
