#!/usr/bin/env python3
"""Manage the gateway's API keys in Secrets Manager. Only SHA-256 hashes are stored; a new key is printed
once, on stdout, and cannot be recovered afterwards.

    infra/create-api-key.py --name ci-bot --scopes 'tool:demo_add tool:everything_echo' [--expires 90d]
    infra/create-api-key.py --list
    infra/create-api-key.py --revoke k_0123456789abcdef

Options: --secret-id (default $API_KEYS_SECRET_ID or mcp-gateway/api-keys); --table (default $TABLE_NAME):
the gateway's DynamoDB table, where a change is announced so every instance reloads its keys at its next
configuration poll (GATEWAY_CONFIG_POLL_SECS, 2 s by default). Honours AWS_ENDPOINT_URL (moto for the local
stack) and the usual AWS credential and region settings. A new key works on every instance within a few
seconds anyway (an unknown key makes an instance reload its keys, at most once per 2 s); a revocation
takes effect at the next poll when announced, else within API_KEYS_REFRESH_SECS (default 300 s).

Keys are `mcpgw_` + 43 base64url characters (32 bytes from the OS CSPRNG). Changes are safe to run
concurrently with each other and with the admin API: the new document is staged as a version of its own,
and the AWSCURRENT label is moved to it only from the version that was read (otherwise the change is made
again on the newer document).

Scopes (space or comma separated). Backend items are authorized by the backend they belong to, never by how
their exposed name reads:
  *, mcp:*                      everything
  backend:<id>                  every tool, prompt, resource and completion of backend <id>; backend:* all backends
  tool:<exposed name>           exactly that tool (a renamed collision has its own name: tool:demo_echo-1a2b3c4d)
  tool:<prefix><separator>*     every tool of the backend exposed with that prefix (tool:gh_* = prefix gh, separator _);
                                never a tool of another backend renamed into that prefix; unprefixed backends need
                                exact names or backend:<id>; other wildcard shapes (tool:gh*, tool:gh_is*) grant nothing
  tool:*, tool:call             every backend tool
  prompt:<exposed name>, prompt:<prefix><separator>*, prompt:*      the same for prompts
  resource:<backend id>, resource:*                                 resources and templates of a backend / of all
  gateway:<name>, gateway:call  the gateway's own tools; gateway:health the detailed /mcp/health view;
                                gateway:metrics the full /metrics of the plain server
  code:execute                  code execution (its tool calls are checked against the scopes above)
  pii:raw                       untokenized results on request
  gateway:admin                 the admin API (/admin/api/*); only * grants it otherwise (not gateway:*, mcp:*)
A key holding only tool scopes sees and reaches no resource and no prompt.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import random
import re
import secrets
import sys
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

DEFAULT_SECRET_ID = "mcp-gateway/api-keys"
SCOPE = re.compile(r"^(\*|[a-z][a-z0-9_-]*:[A-Za-z0-9_.*-]+)$")
DURATION = re.compile(r"^(\d+)([dh])$")


def fail(message: str) -> None:
    print(f"create-api-key: {message}", file=sys.stderr)
    sys.exit(1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expires(text: str) -> str:
    """`90d`, `12h`, `2027-01-01` or `2027-01-01T00:00:00Z` → RFC 3339 UTC, which must lie in the future."""
    if m := DURATION.match(text):
        n, unit = int(m.group(1)), m.group(2)
        when = now() + (dt.timedelta(days=n) if unit == "d" else dt.timedelta(hours=n))
    else:
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--expires {text!r}: expected e.g. 90d, 12h, 2027-01-01 or 2027-01-01T00:00:00Z")
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
    if when <= now():
        fail(f"--expires {text!r} is not in the future")
    return rfc3339(when)


def parse_scopes(text: str) -> list[str]:
    scopes = [s for s in re.split(r"[,\s]+", text) if s]
    if not scopes:
        fail("--scopes is empty")
    for scope in scopes:
        if not SCOPE.match(scope):
            fail(f"--scopes: {scope!r} is not a scope (e.g. '*', 'tool:call', 'tool:demo_add', 'code:execute')")
    return scopes


def client():
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.session.Session(region_name=region).client("secretsmanager", endpoint_url=endpoint)


def load(sm, secret_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The key document and its version id, or (None, None) when the secret does not exist."""
    try:
        found = sm.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None, None
        raise
    text = found["SecretString"]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        fail(f"secret {secret_id} is not JSON; refusing to overwrite it")
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        fail(f'secret {secret_id} has no "keys" list; refusing to overwrite it')
    return doc, found["VersionId"]


def save(sm, secret_id: str, doc: dict[str, Any], version: str | None) -> bool:
    """Makes `doc` current if the secret is still at `version`; False when another change came first."""
    text = json.dumps(doc, indent=1)
    if version is None:
        try:
            sm.create_secret(Name=secret_id, Description="API keys accepted by the MCP gateway (hashed)", SecretString=text)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceExistsException":
                return False
            raise
    staged = sm.put_secret_value(
        SecretId=secret_id, SecretString=text, ClientRequestToken=secrets.token_hex(16), VersionStages=["AWSPENDING"]
    )
    try:
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=staged["VersionId"], RemoveFromVersionId=version
        )
        return True
    except ClientError:
        if load(sm, secret_id)[1] != version:
            return False  # lost the race: apply the change again on the newer document
        raise


def change(sm, secret_id: str, edit) -> None:
    """Applies `edit(doc)` and saves, again on the newer document while other writers win the race."""
    for _ in range(8):
        doc, version = load(sm, secret_id)
        if not edit(doc):
            return
        if save(sm, secret_id, doc, version):
            return
        time.sleep(random.uniform(0.01, 0.06))
    fail(f"secret {secret_id} kept changing; try again")


def announce(table: str | None) -> None:
    """Tells every gateway instance to reload its keys at its next configuration poll."""
    if not table:
        return
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    ddb = boto3.session.Session(region_name=region).client("dynamodb", endpoint_url=endpoint)
    try:
        ddb.update_item(
            TableName=table, Key={"pk": {"S": "config#version"}}, UpdateExpression="ADD #k :one",
            ExpressionAttributeNames={"#k": "keys"}, ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except ClientError as exc:
        print(f"create-api-key: could not announce the change in table {table} ({exc}); instances pick it up "
              "within API_KEYS_REFRESH_SECS", file=sys.stderr)


def create(sm, secret_id: str, name: str, scopes: list[str], expires: str | None, table: str | None) -> None:
    key_id = "k_" + secrets.token_hex(8)
    key = "mcpgw_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    entry = {
        "id": key_id,
        "name": name,
        # Unsalted SHA-256 is right for 256-bit random keys (no dictionary to attack); the gateway
        # hashes the presented key the same way and compares in constant time.
        "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest(),
        "scopes": scopes,
        "disabled": False,
        "expiresAt": expires,
        "createdAt": rfc3339(now()),
    }
    # No secret yet: create it holding this key (another writer creating it first means: add to theirs).
    if load(sm, secret_id)[0] is not None or not save(sm, secret_id, {"keys": [entry]}, None):
        change(sm, secret_id, lambda doc: doc["keys"].append(entry) or True)
    announce(table)
    print(key)  # the only time the key is ever shown
    print(
        f"created {key_id} ({name}) scopes={' '.join(scopes)} expires={expires or 'never'} in {secret_id}; "
        "the key above is not stored anywhere, keep it now",
        file=sys.stderr,
    )


def revoke(sm, secret_id: str, key_id: str, table: str | None) -> None:
    if load(sm, secret_id)[0] is None:
        fail(f"secret {secret_id} does not exist")
    outcome = []

    def edit(doc: dict[str, Any]) -> bool:
        entry = next((k for k in doc["keys"] if k.get("id") == key_id), None)
        if entry is None:
            fail(f"no key {key_id} in {secret_id}")
        if entry.get("disabled") is True:
            outcome.append("already")
            return False
        entry["disabled"] = True
        entry["revokedAt"] = rfc3339(now())
        return True

    change(sm, secret_id, edit)
    if outcome:
        print(f"{key_id} was already revoked", file=sys.stderr)
        return
    announce(table)
    print(f"revoked {key_id}; refused by every gateway instance at its next configuration poll "
          f"(or within API_KEYS_REFRESH_SECS if the change could not be announced)", file=sys.stderr)


def status(entry: dict[str, Any]) -> str:
    if entry.get("disabled") is not False:
        return "revoked" if entry.get("disabled") is True else "invalid"
    expires = entry.get("expiresAt")
    if expires and dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now():
        return "expired"
    return "active"


def list_keys(sm, secret_id: str) -> None:
    doc = load(sm, secret_id)[0]
    if doc is None:
        fail(f"secret {secret_id} does not exist")
    rows = [("ID", "NAME", "STATUS", "SCOPES", "EXPIRES", "CREATED")]
    for k in doc["keys"]:  # never the hash
        rows.append(
            (
                str(k.get("id", "?")),
                str(k.get("name", "")),
                status(k),
                " ".join(k.get("scopes") or []),
                str(k.get("expiresAt") or "never"),
                str(k.get("createdAt") or "-"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--name", help="create a key with this name (who or what uses it)")
    action.add_argument("--revoke", metavar="ID", help="disable the key with this id")
    action.add_argument("--list", action="store_true", help="list keys (never their hashes)")
    parser.add_argument("--scopes", help="with --name: space- or comma-separated scopes, e.g. 'tool:call'")
    parser.add_argument("--expires", help="with --name: 90d, 12h, 2027-01-01 or 2027-01-01T00:00:00Z (default never)")
    parser.add_argument("--secret-id", default=os.environ.get("API_KEYS_SECRET_ID") or DEFAULT_SECRET_ID)
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME") or None,
                        help="the gateway's DynamoDB table, to announce the change (default $TABLE_NAME)")
    args = parser.parse_args()

    if args.name is not None:
        if not args.name.strip():
            fail("--name is empty")
        if args.scopes is None:
            fail("--scopes is required: grant only what the caller needs (e.g. 'tool:call', or '*' for everything)")
        scopes = parse_scopes(args.scopes)
        expires = parse_expires(args.expires) if args.expires else None
        create(client(), args.secret_id, args.name.strip(), scopes, expires, args.table)
    elif (args.scopes or args.expires) is not None:
        fail("--scopes and --expires only go with --name")
    elif args.revoke:
        revoke(client(), args.secret_id, args.revoke, args.table)
    else:
        list_keys(client(), args.secret_id)


if __name__ == "__main__":
    main()
