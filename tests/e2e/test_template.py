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
# Backend credentials live under this stack's own prefix, never `*` and never another stack's.
BACKEND_SECRETS_PREFIX = "${AWS::StackName}/backends/"
BACKEND_SECRETS = (
    "{'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    + BACKEND_SECRETS_PREFIX
    + "*'}"
)
# Per function: action -> resources it may be granted on (after !Ref / !GetAtt are read as names).
MCP_GRANTS: dict[str, set[str]] = {
    "dynamodb:GetItem": {TABLE},
    "dynamodb:BatchGetItem": {TABLE},
    "dynamodb:PutItem": {TABLE},
    "dynamodb:UpdateItem": {TABLE},
    "dynamodb:DeleteItem": {TABLE},
    "secretsmanager:GetSecretValue": KEY_SECRETS | {BACKEND_SECRETS},
    # Lambda backends: exactly the functions the operator lists, only when some are listed;
    # gateway_execute_code: the code function (code never runs here).
    "lambda:InvokeFunction": {"LambdaBackendFunctionArns", "CodeFunction.Arn"},
}
# The functions that make tool calls, and so may invoke Lambda backends.
TOOL_CALLERS = ("McpFunction", "McpStreamingFunction", "CodeFunction")
EXPECTED: dict[str, dict[str, set[str]]] = {
    # The /mcp function in its two forms (McpFrontDoor): buffered behind the HTTP API, streaming behind the
    # REST API. The same grants: pending requests and stream events are items of the same table.
    "McpFunction": MCP_GRANTS,
    "McpStreamingFunction": MCP_GRANTS,
    # Tool calls from code: counters and the PII vault (no DeleteItem), the keys, the backends' credentials.
    "CodeFunction": {
        "dynamodb:GetItem": {TABLE},
        "dynamodb:BatchGetItem": {TABLE},
        "dynamodb:PutItem": {TABLE},
        "dynamodb:UpdateItem": {TABLE},
        "secretsmanager:GetSecretValue": KEY_SECRETS | {BACKEND_SECRETS},
        # Tool calls from code reach Lambda backends too; never the code function itself.
        "lambda:InvokeFunction": {"LambdaBackendFunctionArns"},
    },
    # Basic execution role only (CloudWatch Logs): no table, no secret.
    "HealthFunction": {},
    "MetricsFunction": {},
    # The stored configuration, the audit ring, its callers' rate limits (conditions checked below) and
    # the API-key secret: no other secret, no sessions, no PII.
    "AdminFunction": {
        "dynamodb:GetItem": {TABLE},
        "dynamodb:PutItem": {TABLE},
        "dynamodb:UpdateItem": {TABLE},
        "dynamodb:BatchGetItem": {TABLE},
        "dynamodb:ConditionCheckItem": {TABLE},
        "secretsmanager:GetSecretValue": {"ApiKeysSecret"},
        "secretsmanager:PutSecretValue": {"ApiKeysSecret"},
        "secretsmanager:UpdateSecretVersionStage": {"ApiKeysSecret"},
    },
}
# Functions whose table grants must be limited to items whose key starts with one of these.
MCP_ITEMS = {"session#*", "rl#*", "pii#*", "result#*", "pending#*", "event#*", "config#*"}
LEADING_KEYS: dict[str, set[str]] = {
    # Everything /mcp stores, and nothing of the admin API's audit ring.
    "McpFunction": MCP_ITEMS,
    "McpStreamingFunction": MCP_ITEMS,
    # Code reaches backends through tools/call: its callers' limits, their PII vaults, the stored
    # configuration; never a session, a pending request or a cached result.
    "CodeFunction": {"rl#*", "pii#*", "config#*"},
    "AdminFunction": {"config#*", "audit#*", "rl#*"},
}
# Functions whose grants are theirs to declare (still inline, explicit and wildcard-free).
DECLARED_BY_ITSELF: set[str] = set()
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
        for statement in (s for item in as_list(policy["Statement"]) for s in branches(item)):
            assert "NotAction" not in statement and "NotResource" not in statement, (
                f"{name}: NotAction/NotResource grants everything not listed: {statement}"
            )
            out.append(statement)
    return out


def branches(item: Any) -> list[Any]:
    """A statement under `Fn::If [condition, statement, AWS::NoValue]` counts as granted: its condition may
    hold. Both branches are checked when both are statements."""
    if isinstance(item, dict) and "Fn::If" in item:
        _, yes, no = item["Fn::If"]
        return [s for s in (yes, no) if s != {"Ref": "AWS::NoValue"}]
    return [item]


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


@pytest.mark.parametrize("name", sorted(LEADING_KEYS))
def test_table_grants_are_limited_to_their_items(template: dict[str, Any], name: str) -> None:
    seen: set[str] = set()
    for statement in statements(name, template["Resources"][name]):
        if not any(str(a).startswith("dynamodb:") for a in as_list(statement["Action"])):
            continue
        keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        assert keys, f"{name}: {statement['Action']} on the whole table, without a dynamodb:LeadingKeys condition"
        seen.update(as_list(keys))
    assert seen == LEADING_KEYS[name], f"{name}: items {sorted(seen)}"


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


def test_lambda_invoke_covers_only_the_listed_functions(template: dict[str, Any]) -> None:
    """The functions that make tool calls (mcp, and code for tool calls from code) may invoke the functions in
    LambdaBackendFunctionArns and no other backend: no grant when the list is empty, each item an exact
    function (or version/alias) ARN, never a wildcard."""
    for name in TOOL_CALLERS:
        policies = as_list(template["Resources"][name]["Properties"]["Policies"])
        conditional = [item["Fn::If"] for p in policies for item in as_list(p["Statement"]) if "Fn::If" in item]
        invoke = [(c, yes, no) for c, yes, no in conditional if "lambda:InvokeFunction" in as_list(yes["Action"])]
        assert len(invoke) == 1, (name, invoke)
        condition, statement, otherwise = invoke[0]
        assert otherwise == {"Ref": "AWS::NoValue"} and statement["Resource"] == {"Ref": "LambdaBackendFunctionArns"}
        assert as_list(statement["Action"]) == ["lambda:InvokeFunction"]
        assert template["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "LambdaBackendFunctionArns"}]}, ""]}]
        }, f"{name}: granted only when the list names a function"
    parameter = template["Parameters"]["LambdaBackendFunctionArns"]
    assert parameter["Type"] == "CommaDelimitedList" and parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ["", "arn:aws:lambda:eu-west-1:123456789012:function:demo-tools",
                 "arn:aws:lambda:us-east-1:123456789012:function:orders:live",
                 "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST"]:
        assert pattern.fullmatch(good), good
    for bad in ["*", "arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:*",
                "demo-tools", "arn:aws:lambda:us-east-1:123456789012:layer:x", "arn:aws:s3:::bucket"]:
        assert not pattern.fullmatch(bad), bad
    for name, resource in functions(template).items():
        if name not in TOOL_CALLERS:
            assert "lambda:InvokeFunction" not in grants(name, resource), f"{name} may invoke functions"


def test_backend_secrets_prefix_is_the_stack_s_and_the_code_checks_the_same_one(template: dict[str, Any]) -> None:
    """The prefix the code enforces at cold start (GATEWAY_BACKEND_SECRETS_PREFIX, every function that reads
    the backends document) is the one IAM grants, and it is tied to the stack: no parameter can point it at
    another stack's secrets or at the gateway's own (`<stack>/api-keys`, `<stack>/pii-key`)."""
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["GATEWAY_BACKEND_SECRETS_PREFIX"] == {"Fn::Sub": BACKEND_SECRETS_PREFIX}, env
    assert "BackendSecretsPrefix" not in template["Parameters"]
    for secret in ("ApiKeysSecret", "PiiKeySecret"):
        name = template["Resources"][secret]["Properties"]["Name"]["Fn::Sub"]
        assert not name.startswith(BACKEND_SECRETS_PREFIX), f"{secret} {name} is under the backend prefix"


def test_mcp_and_code_have_reserved_concurrency_with_safe_defaults(template: dict[str, Any]) -> None:
    """A few keys running 25-second loops must not take the account's whole Lambda concurrency."""
    for name in ("McpFunction", "McpStreamingFunction", "CodeFunction"):
        reserved = template["Resources"][name]["Properties"].get("ReservedConcurrentExecutions")
        assert isinstance(reserved, dict) and "Ref" in reserved, f"{name}: ReservedConcurrentExecutions {reserved!r}"
        parameter = template["Parameters"][reserved["Ref"]]
        assert parameter["Type"] == "Number"
        assert isinstance(parameter["Default"], int) and parameter["Default"] >= 1, f"{name}: {parameter}"
        assert parameter.get("MinValue", 0) >= 1, f"{name}: the parameter allows leaving it unset: {parameter}"
    assert "Conditions" not in template or not any(
        "Reserved" in c for c in template["Conditions"]
    ), "a condition can drop the reservation"


def test_only_tool_callers_may_invoke_and_only_listed_backends_and_mcp_the_code_function(
    template: dict[str, Any],
) -> None:
    for name, resource in functions(template).items():
        invoke = {a: t for a, t in grants(name, resource).items() if a.startswith("lambda:")}
        if name in ("McpFunction", "McpStreamingFunction"):
            assert invoke == {"lambda:InvokeFunction": {"LambdaBackendFunctionArns", "CodeFunction.Arn"}}, invoke
        elif name == "CodeFunction":
            # No code invoking code: a sandboxed run cannot fan out into more runs.
            assert invoke == {"lambda:InvokeFunction": {"LambdaBackendFunctionArns"}}, invoke
        else:
            assert not invoke, f"{name} may call Lambda: {invoke}"
    permissions = [v for v in template["Resources"].values() if v["Type"] == "AWS::Lambda::Permission"]
    assert not permissions, f"explicit invoke permissions: {permissions}"


def test_mcp_runs_no_sandboxed_code(template: dict[str, Any]) -> None:
    """gateway_execute_code is an invoke of the code function: the mcp function is told where it is and
    has none of the sandbox's settings, and its binary cannot serve as a sandbox process (only binaries that
    call serve_if_child first thing in main can)."""
    for function in ("McpFunction", "McpStreamingFunction"):
        env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env.get("CODE_FUNCTION_NAME") == {"Ref": "CodeFunction"}, env
        assert not [k for k in env if k.startswith("CODE_") and k != "CODE_FUNCTION_NAME"], env
    code_env = template["Resources"]["CodeFunction"]["Properties"]["Environment"]["Variables"]
    assert "CODE_FUNCTION_NAME" not in code_env, "the code function runs code itself"
    first_call = re.compile(r"fn main\(\)[^{]*\{\s*(?://[^\n]*\n\s*)*shared::code::serve_if_child\(\);")
    for binary, serves in (("mcp", False), ("code", True), ("server", True)):
        main = (ROOT / "functions" / binary / "src" / "main.rs").read_text()
        assert bool(first_call.search(main)) is serves, f"functions/{binary}: serve_if_child first in main: {not serves}"
        if not serves:
            assert "serve_if_child" not in main and "Sandbox" not in main, f"functions/{binary} can run code"


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
