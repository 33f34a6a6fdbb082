"""A backend that never answers: accepts TCP connections on 127.0.0.1, reads whatever comes, replies nothing.

Used to prove the gateway's per-backend timeout. Exits by itself after --max-seconds.

    python tests/backends/hang_server.py --port 3003 --max-seconds 7200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass  # swallow everything, never write
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(port: int, max_seconds: float) -> None:
    server = await asyncio.start_server(handle, host="127.0.0.1", port=port)
    print(f"hang server listening on 127.0.0.1:{port} (exits after {max_seconds:.0f}s)", flush=True)
    async with server:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.serve_forever(), timeout=max_seconds)
    print("hang server: max-seconds reached, exiting", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3003)
    parser.add_argument("--max-seconds", type=float, default=7200)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.max_seconds))


if __name__ == "__main__":
    main()
