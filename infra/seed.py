"""Idempotent bootstrap of the local AWS emulation (moto) for the gateway.

Creates, if absent:
  * DynamoDB table $TABLE_NAME (default mcp-gateway): PAY_PER_REQUEST, partition key `pk` (S) only,
    TTL on attribute `expires_at`;
  * Secrets Manager secret $API_KEYS_SECRET_ID (default `mcp-gateway/api-keys`) with SecretString {"keys": []};
  * the local fault backend's credentials (tests/backends/fault_server.py defaults), which the gateway
    reads as backend secrets: `mcp-gateway/backends/fault-static` and `mcp-gateway/backends/fault-oauth-client`;
  * Secrets Manager secret `mcp-gateway/pii-key` ($PII_KEY_SECRET_ID): 64 random characters the PII vault
    key is derived from. Never rotated here: a new key would make the stored vaults unreadable.

Refuses to run without AWS_ENDPOINT_URL so it can never touch a real account by accident.
Prints one line per resource: "created" or "already present".
"""

from __future__ import annotations

import json
import os
import secrets
import string
import sys

import boto3
from botocore.exceptions import ClientError

SECRET_NAME = "mcp-gateway/api-keys"
# Test-only values, known to the local fault backend; never used outside the local stack.
BACKEND_SECRETS = {
    "mcp-gateway/backends/fault-static": "fault-static-token",
    "mcp-gateway/backends/fault-oauth-client": "fault-client-secret",
}


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def ensure_table(ddb, name: str) -> None:
    try:
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        print(f"dynamodb table {name}: created")
    except ClientError as exc:
        if _error_code(exc) != "ResourceInUseException":
            raise
        print(f"dynamodb table {name}: already present")

    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == "expires_at":
        print(f"dynamodb table {name} ttl on expires_at: already present")
    else:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
        print(f"dynamodb table {name} ttl on expires_at: created")


def ensure_secret(sm, name: str) -> None:
    try:
        sm.create_secret(
            Name=name,
            Description="API keys accepted by the MCP gateway (local dev)",
            SecretString=json.dumps({"keys": []}),
        )
        print(f"secret {name}: created")
    except ClientError as exc:
        if _error_code(exc) != "ResourceExistsException":
            raise
        print(f"secret {name}: already present")


def ensure_pii_key(sm, name: str) -> None:
    alphabet = string.ascii_letters + string.digits
    try:
        sm.create_secret(
            Name=name,
            Description="Key material of the PII vault (local dev)",
            SecretString="".join(secrets.choice(alphabet) for _ in range(64)),
        )
        print(f"secret {name}: created")
    except ClientError as exc:
        if _error_code(exc) != "ResourceExistsException":
            raise
        print(f"secret {name}: already present")


def ensure_backend_secrets(sm) -> None:
    for name, value in BACKEND_SECRETS.items():
        try:
            sm.create_secret(Name=name, Description="Local fault backend credential (tests)", SecretString=value)
            print(f"secret {name}: created")
        except ClientError as exc:
            if _error_code(exc) != "ResourceExistsException":
                raise
            print(f"secret {name}: already present")


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("seed.py: AWS_ENDPOINT_URL is not set; refusing to touch a real AWS account", file=sys.stderr)
        return 2
    table = os.environ.get("TABLE_NAME", "mcp-gateway")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    ensure_table(session.client("dynamodb", endpoint_url=endpoint), table)
    ensure_secret(session.client("secretsmanager", endpoint_url=endpoint), os.environ.get("API_KEYS_SECRET_ID", SECRET_NAME))
    ensure_backend_secrets(session.client("secretsmanager", endpoint_url=endpoint))
    ensure_pii_key(
        session.client("secretsmanager", endpoint_url=endpoint),
        os.environ.get("PII_KEY_SECRET_ID", "mcp-gateway/pii-key"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
