"""template.yaml checked as data (no AWS, no gateway): every function is an arm64 provided.al2023
cargo-lambda build of a workspace binary, and each function's IAM grants exactly what it is listed to
need here, on the resources listed here, nothing else. A new function or a new grant fails this test
until it is listed below, on purpose: least privilege is reviewed, not inherited."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

TABLE = "Table.Arn"
KEY_SECRETS = {"ApiKeysSecret", "PiiKeySecret"}
# Backend credentials (issue 4) live under one operator-chosen name prefix, never `*`.
BACKEND_SECRETS = (
    "{'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${BackendSecretsPrefix}*'}"
)
# Per function: action -> resources it may be granted on (after !Ref / !GetAtt are read as names).
MCP_GRANTS: dict[str, set[str]] = {
    "dynamodb:GetItem": {TABLE},
    "dynamodb:PutItem": {TABLE},
    "dynamodb:UpdateItem": {TABLE},
    "dynamodb:DeleteItem": {TABLE},
    "secretsmanager:GetSecretValue": KEY_SECRETS | {BACKEND_SECRETS},
}
EXPECTED: dict[str, dict[str, set[str]]] = {
    # The /mcp function in its two forms (McpFrontDoor): buffered behind the HTTP API, streaming behind the
    # REST API. The same grants: pending requests and stream events are items of the same table.
    "McpFunction": MCP_GRANTS,
    "McpStreamingFunction": MCP_GRANTS,
    # Basic execution role only (CloudWatch Logs): no table, no secret.
    "HealthFunction": {},
    "MetricsFunction": {},
}
# Functions whose grants are theirs to declare (still inline, explicit and wildcard-free).
DECLARED_BY_ITSELF = {"CodeFunction"}
# Resources a secret-less function must not even be told about.
SENSITIVE = {"Table", "ApiKeysSecret", "PiiKeySecret"}


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short forms (!Ref, !GetAtt, !Sub, !If …) as their long JSON forms."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert found, "no AWS::Serverless::Function in template.yaml"
    return found


def effective(template: dict[str, Any], resource: dict[str, Any], key: str) -> Any:
    """A function property as SAM sees it: the function's own, else Globals.Function's."""
    props = resource.get("Properties", {})
    return props[key] if key in props else template.get("Globals", {}).get("Function", {}).get(key)


def name_of(resource: Any) -> str:
    """`!GetAtt Table.Arn` -> "Table.Arn", `!Ref X` -> "X", strings as they are; anything else is shown."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Ref" in resource:
        return resource["Ref"]
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return ".".join(resource["Fn::GetAtt"])
    return repr(resource)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(name: str, resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the function's Policies. Only inline documents are accepted: a managed policy
    or a SAM policy template grants actions this test (and a reviewer) cannot see in the template."""
    out = []
    for policy in as_list(resource.get("Properties", {}).get("Policies") or []):
        assert isinstance(policy, dict) and "Statement" in policy, (
            f"{name}: policy {policy!r} is not an inline document; write the exact statements instead"
        )
        for statement in as_list(policy["Statement"]):
            assert "NotAction" not in statement and "NotResource" not in statement, (
                f"{name}: NotAction/NotResource grants everything not listed: {statement}"
            )
            out.append(statement)
    return out


def grants(name: str, resource: dict[str, Any]) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in statements(name, resource):
        if statement.get("Effect") != "Allow":
            continue
        targets = {name_of(r) for r in as_list(statement["Resource"])}
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(targets)
    return granted


def test_every_function_is_an_arm64_cargo_lambda_build(template: dict[str, Any]) -> None:
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    for name, resource in functions(template).items():
        assert effective(template, resource, "Runtime") == "provided.al2023", name
        assert effective(template, resource, "Architectures") == ["arm64"], name
        assert effective(template, resource, "Handler") == "bootstrap", name
        metadata = resource.get("Metadata", {})
        assert metadata.get("BuildMethod") == "rust-cargolambda", name
        binary = metadata.get("BuildProperties", {}).get("Binary")
        assert isinstance(binary, str) and binary, f"{name}: Metadata.BuildProperties.Binary missing"
        assert f"functions/{binary}" in members, f"{name}: Binary {binary!r} is not a workspace member"
        package = tomllib.loads((ROOT / "functions" / binary / "Cargo.toml").read_text())["package"]["name"]
        assert package == binary, f"{name}: functions/{binary} builds {package!r}"


def test_every_function_is_listed_here(template: dict[str, Any]) -> None:
    unknown = set(functions(template)) - set(EXPECTED) - DECLARED_BY_ITSELF
    assert not unknown, f"list the IAM grants of {sorted(unknown)} in EXPECTED (tests/e2e/test_template.py)"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_function_grants_only_its_listed_actions(template: dict[str, Any], name: str) -> None:
    resource = template["Resources"].get(name)
    assert resource is not None, f"{name} is not in template.yaml"
    granted = grants(name, resource)
    assert set(granted) == set(EXPECTED[name]), f"{name}: grants {sorted(granted)}, listed {sorted(EXPECTED[name])}"
    for action, targets in granted.items():
        extra = targets - EXPECTED[name][action]
        assert not extra, f"{name}: {action} on {sorted(extra)} is not listed"


def test_functions_without_grants_are_not_told_about_the_table_or_secrets(template: dict[str, Any]) -> None:
    for name, expected in EXPECTED.items():
        if expected:
            continue
        text = repr(template["Resources"][name])
        leaked = {s for s in SENSITIVE if re.search(rf"'(Ref|Fn::GetAtt)': \[?'{s}'", text)}
        assert not leaked, f"{name} references {sorted(leaked)}"
        env = (effective(template, template["Resources"][name], "Environment") or {}).get("Variables", {})
        assert not {"TABLE_NAME", "API_KEYS_SECRET_ID", "PII_KEY_SECRET_ID"} & set(env), f"{name}: {sorted(env)}"


def test_no_wildcards_anywhere(template: dict[str, Any]) -> None:
    for name, resource in functions(template).items():
        for statement in statements(name, resource):
            for action in as_list(statement.get("Action", [])):
                assert "*" not in action, f"{name}: wildcard action {action!r}"
            for target in as_list(statement.get("Resource", [])):
                assert target != "*", f"{name}: {statement.get('Action')} on every resource"


def test_roles_come_only_from_function_policies(template: dict[str, Any]) -> None:
    for name, resource in functions(template).items():
        assert "Role" not in resource.get("Properties", {}), f"{name}: an explicit Role bypasses this check"
    iam = [k for k, v in template["Resources"].items() if v["Type"].startswith("AWS::IAM::")]
    assert not iam, f"IAM resources outside the functions' Policies: {iam}"


def test_every_function_logs_to_a_group_with_retention(template: dict[str, Any]) -> None:
    for name, resource in functions(template).items():
        group = name_of(resource["Properties"].get("LoggingConfig", {}).get("LogGroup"))
        assert group in template["Resources"], f"{name}: LoggingConfig.LogGroup is not a template log group"
        assert "RetentionInDays" in template["Resources"][group]["Properties"], f"{group}: logs kept forever"


def test_mcp_is_one_function_behind_one_front_door(template: dict[str, Any]) -> None:
    """Exactly one /mcp function exists per deployment; the streaming one is reached only through response
    streaming (every method, or a buffered invoke would get a streamed body it cannot read) and streams."""
    resources = template["Resources"]
    buffered, streaming = resources["McpFunction"], resources["McpStreamingFunction"]
    assert (buffered["Condition"], streaming["Condition"]) == ("BufferedMcp", "StreamingMcp")
    assert resources["McpRestApi"]["Condition"] == "StreamingMcp"
    assert resources["McpRestApi"]["Properties"]["EndpointConfiguration"]["Type"] == "REGIONAL"
    events = streaming["Properties"]["Events"]
    assert events and all(e["Type"] == "Api" for e in events.values()), events
    assert all(e["Properties"]["ResponseTransferMode"] == "RESPONSE_STREAM" for e in events.values()), events
    assert all(e["Properties"]["RestApiId"] == {"Ref": "McpRestApi"} for e in events.values()), events
    long_lived = [e for e in events.values() if e["Properties"]["Path"] == "/mcp" and e["Properties"]["Method"] in ("POST", "GET")]
    assert len(long_lived) == 2 and all(e["Properties"]["TimeoutInMillis"] == 900000 for e in long_lived)
    assert streaming["Properties"]["Timeout"] == {"Ref": "McpTimeoutSeconds"}
    assert streaming["Properties"]["Environment"]["Variables"]["GATEWAY_STREAMING"] == {"Ref": "McpStreaming"}
    assert buffered["Properties"]["Environment"]["Variables"]["GATEWAY_STREAMING"] == "off"
    assert all(e["Type"] == "HttpApi" for e in buffered["Properties"]["Events"].values())
    assert buffered["Properties"]["Timeout"] == 29
