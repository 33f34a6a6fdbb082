"""Mint JWTs for the gateway's end-to-end tests with the checked-in TEST key (the one
tests/backends/jwks_server.py publishes), plus the malformed and malicious tokens of the attack table.

    from jwt_tokens import mint, expired, alg_none, hs256_with_public_key, tampered
    headers = {"Authorization": f"Bearer {mint(scope='tool:demo_add')}"}

    python tests/e2e/jwt_tokens.py --sub alice --scope 'tool:call'     # print one token (manual testing)

Defaults match the local oauth setup; override with E2E_OAUTH_ISSUER / E2E_OAUTH_AUDIENCE:
  issuer   http://127.0.0.1:3005          (the jwks server's origin)
  audience http://127.0.0.1:9000/mcp      (the gateway's resource URI)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt  # PyJWT

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "shared/src/auth/testdata"
PRIVATE_KEY = (TESTDATA / "jwt_rsa_private.pem").read_bytes()
PUBLIC_KEY = (TESTDATA / "jwt_rsa_public.pem").read_bytes()
ATTACKER_KEY = (TESTDATA / "attacker_rsa_private.pem").read_bytes()
KID = "gw-test-1"
ISSUER = os.environ.get("E2E_OAUTH_ISSUER", "http://127.0.0.1:3005")
AUDIENCE = os.environ.get("E2E_OAUTH_AUDIENCE", "http://127.0.0.1:9000/mcp")


def claims(
    sub: str = "e2e-user",
    scope: str | None = "*",
    iss: str = ISSUER,
    aud: str | list[str] = AUDIENCE,
    lifetime: int = 300,
    not_before: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Valid claims; `not_before` is seconds from now; keys set to None in `extra` are dropped."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + lifetime}
    if scope is not None:
        body["scope"] = scope
    if not_before is not None:
        body["nbf"] = now + not_before
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def mint(kid: str | None = KID, key: bytes = PRIVATE_KEY, algorithm: str = "RS256", **claim_args: Any) -> str:
    """A token signed with the test key (or `key`), e.g. mint(scope="tool:demo_add")."""
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**claim_args), key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], body: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"


# --- the attack table -------------------------------------------------------------------------------------

def expired(**claim_args: Any) -> str:
    """Expired 10 minutes ago (beyond the gateway's 60 s leeway)."""
    return mint(lifetime=-600, **claim_args)


def not_yet_valid(**claim_args: Any) -> str:
    """`nbf` 10 minutes in the future."""
    return mint(not_before=600, **claim_args)


def wrong_issuer(**claim_args: Any) -> str:
    return mint(iss="https://evil.example.com", **claim_args)


def wrong_audience(**claim_args: Any) -> str:
    return mint(aud="https://other.example.com/mcp", **claim_args)


def alg_none(**claim_args: Any) -> str:
    """Unsigned token with `alg: none` (built by hand: PyJWT rightly refuses to help)."""
    return _unsigned({"alg": "none", "typ": "JWT", "kid": KID}, claims(**claim_args)) + "."


def hs256_with_public_key(**claim_args: Any) -> str:
    """HS256 with the RSA *public* key as the HMAC secret: the RS/HS key-confusion attack."""
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, claims(**claim_args))
    signature = hmac.new(PUBLIC_KEY, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unknown_kid(**claim_args: Any) -> str:
    return mint(kid="not-in-the-jwks", **claim_args)


def foreign_key(**claim_args: Any) -> str:
    """Right kid, but signed by a key the issuer never published."""
    return mint(key=ATTACKER_KEY, **claim_args)


def tampered(**claim_args: Any) -> str:
    """A valid token whose payload was swapped for one claiming another subject and every scope."""
    header, _, signature = mint(**claim_args).split(".")
    forged = _b64(json.dumps(claims(sub="admin", scope="*")).encode())
    return f"{header}.{forged}.{signature}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sub", default="e2e-user")
    parser.add_argument("--scope", default="*")
    parser.add_argument("--lifetime", type=int, default=3600, help="seconds until exp")
    parser.add_argument("--iss", default=ISSUER)
    parser.add_argument("--aud", default=AUDIENCE)
    parser.add_argument("--kid", default=KID)
    args = parser.parse_args()
    print(mint(kid=args.kid, sub=args.sub, scope=args.scope, lifetime=args.lifetime, iss=args.iss, aud=args.aud))


if __name__ == "__main__":
    main()
