"""A stand-in OAuth issuer for the gateway's JWT tests: serves the JWKS of the checked-in TEST key on loopback.

The key (shared/src/auth/testdata/jwt_rsa_private.pem) is public test material; tokens for it are minted by
tests/e2e/jwt_tokens.py. Point the gateway at this server with
    AUTH_MODE=oauth OAUTH_ISSUER=http://127.0.0.1:3005 OAUTH_JWKS_URI=http://127.0.0.1:3005/jwks.json

    python tests/backends/jwks_server.py --port 3005 --max-seconds 7200
    python tests/backends/jwks_server.py --print          # print the JWKS and exit

Routes (GET unless noted):
  /jwks.json, /.well-known/jwks.json   the JWKS: one RS256 key, `kid` as set (default gw-test-1)
  /.well-known/oauth-authorization-server   minimal RFC 8414 metadata (issuer, jwks_uri)
  /stats                                {"fetches": N} how often the JWKS was served (proves caching)
  POST /kid   body = new kid            serve the same key under another kid (a key rotation)
Listens on 127.0.0.1 only and exits by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KEY = ROOT / "shared/src/auth/testdata/jwt_rsa_private.pem"
DEFAULT_KID = "gw-test-1"
MAX_BODY = 256


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks_for(key_path: Path, kid: str) -> dict:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{key_path}: not an RSA private key")
    numbers = key.public_key().public_numbers()
    return {
        "keys": [
            {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
        ]
    }


class State:
    def __init__(self, key_path: Path, kid: str, origin: str) -> None:
        self.key_path = key_path
        self.kid = kid
        self.origin = origin
        self.fetches = 0
        self.lock = threading.Lock()


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "jwks-test-server"

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = self.path.split("?", 1)[0]
            if path in ("/jwks.json", "/.well-known/jwks.json"):
                with state.lock:
                    state.fetches += 1
                    kid = state.kid
                self._send(200, jwks_for(state.key_path, kid))
            elif path == "/.well-known/oauth-authorization-server":
                self._send(200, {"issuer": state.origin, "jwks_uri": f"{state.origin}/jwks.json"})
            elif path == "/stats":
                with state.lock:
                    self._send(200, {"fetches": state.fetches, "kid": state.kid})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/kid":
                self._send(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            kid = self.rfile.read(min(length, MAX_BODY)).decode(errors="replace").strip()
            if not kid:
                self._send(400, {"error": "empty kid"})
                return
            with state.lock:
                state.kid = kid
            self._send(200, {"kid": kid})

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            sys.stderr.write(f"jwks server: {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3005)
    parser.add_argument("--key", type=Path, default=DEFAULT_KEY, help="RSA private key (PEM) whose public half is served")
    parser.add_argument("--kid", default=DEFAULT_KID)
    parser.add_argument("--max-seconds", type=float, default=7200)
    parser.add_argument("--print", action="store_true", help="print the JWKS and exit")
    args = parser.parse_args()

    if args.print:
        print(json.dumps(jwks_for(args.key, args.kid), indent=2))
        return
    state = State(args.key, args.kid, f"http://127.0.0.1:{args.port}")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    server.daemon_threads = True
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"jwks server listening on 127.0.0.1:{args.port} (kid {args.kid}, exits after {args.max_seconds:.0f}s)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
