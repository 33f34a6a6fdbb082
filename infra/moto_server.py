#!/usr/bin/env python3
"""moto's server (DynamoDB + Secrets Manager for the local stack), applying one request at a time.

Real DynamoDB applies each conditional write atomically. moto's threaded server does not under load: two
concurrent `UpdateItem`s can both pass `count < :max` (seen: 11 counted with a limit of 10 while the machine
was busy), which would make the local stack less exact than what it stands for. Connections are still served
concurrently (keep-alive clients do not block each other); only the application of requests is serialized.

    python infra/moto_server.py --port 4566      # listens on 127.0.0.1 only
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class Serialized:
    """WSGI middleware: one request inside moto at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self.lock:
            # Read the whole body inside the lock: moto's responses are small, buffered lists.
            return list(self.app(environ, start_response))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # what moto's own launcher sets
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", args.port, Serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
