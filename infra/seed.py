"""Idempotent bootstrap of the local AWS emulation (moto) for the gateway.

Creates, if absent:
  * DynamoDB table $TABLE_NAME (default mcp-gateway): PAY_PER_REQUEST, partition key `pk` (S) only,
    TTL on attribute `expires_at`;
  * Secrets Manager secret `mcp-gateway/api-keys` with SecretString {"keys": []}.

Refuses to run without AWS_ENDPOINT_URL so it can never touch a real account by accident.
Prints one line per resource: "created" or "already present".
"""

from __future__ import annotations

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

SECRET_NAME = "mcp-gateway/api-keys"


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


def ensure_secret(sm) -> None:
    try:
        sm.create_secret(
            Name=SECRET_NAME,
            Description="API keys accepted by the MCP gateway (local dev)",
            SecretString=json.dumps({"keys": []}),
        )
        print(f"secret {SECRET_NAME}: created")
    except ClientError as exc:
        if _error_code(exc) != "ResourceExistsException":
            raise
        print(f"secret {SECRET_NAME}: already present")


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("seed.py: AWS_ENDPOINT_URL is not set; refusing to touch a real AWS account", file=sys.stderr)
        return 2
    table = os.environ.get("TABLE_NAME", "mcp-gateway")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    ensure_table(session.client("dynamodb", endpoint_url=endpoint), table)
    ensure_secret(session.client("secretsmanager", endpoint_url=endpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
