"""GET /metrics (the `metrics` function): Prometheus text exposition, format 0.0.4.

What is true, and asserted: the endpoint answers with the exposition content type, every line parses,
every family is announced by `# HELP` then `# TYPE`, histograms are cumulative and end in `+Inf` = count,
the build info is there, and the function counts its own scrapes.

What is not asserted, because it is not true: that the mcp function's requests appear. Under
`cargo lambda watch`, as on Lambda, `metrics` is a separate process from `mcp`, and counters are per
process; traffic sent to /mcp below is never visible here. The fleet-wide numbers are the EMF lines every
function prints (validated by the Rust unit tests in shared/src/telemetry/emf_tests.rs)."""

from __future__ import annotations

import math
import re

import httpx2

from conftest import GATEWAY_URL, HTTP_TIMEOUT, base_headers, initialize_params, mcp_url, request
from emulator import SyncEmulatorRetry

METRICS_URL = f"{GATEWAY_URL}/metrics"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)\}})? (\S+)(?: -?\d+)?$")
FAMILIES = {
    "mcp_gateway_build_info": "gauge",
    "mcp_gateway_process_start_time_seconds": "gauge",
    "mcp_gateway_requests_total": "counter",
    "mcp_gateway_errors_total": "counter",
    "mcp_gateway_request_duration_seconds": "histogram",
    "mcp_gateway_backend_calls_total": "counter",
    "mcp_gateway_backend_errors_total": "counter",
    "mcp_gateway_backend_duration_seconds": "histogram",
    "mcp_gateway_rate_limited_total": "counter",
    "mcp_gateway_auth_denials_total": "counter",
    "mcp_gateway_pii_tokens_total": "counter",
    "mcp_gateway_pii_vault_full_total": "counter",
}


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """Strict reading of the text format: returns {family: type} and the samples; asserts on any line
    that is not a HELP, a TYPE (right after its HELP) or a sample of a declared family."""
    types: dict[str, str] = {}
    samples: list[tuple[str, dict[str, str], float]] = []
    help_for: str | None = None
    seen: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            help_for = line.split(" ", 3)[2]
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name == help_for, f"TYPE without its HELP: {line!r}"
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            assert name not in types, f"family declared twice: {name}"
            types[name] = kind
        elif line.startswith("#") or not line.strip():
            continue
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels_text, value = m.group(1), m.group(2) or "", m.group(3)
            family = next((name[: -len(s)] for s in ("_bucket", "_sum", "_count") if name.endswith(s)
                           and types.get(name[: -len(s)]) == "histogram"), name)
            assert family in types, f"sample before its TYPE: {line!r}"
            key = line.rsplit(" ", 1)[0]
            assert key not in seen, f"duplicate series: {key}"
            seen.add(key)
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"', labels_text))
            number = float(value.replace("+Inf", "inf"))
            assert not math.isnan(number), line
            samples.append((name, labels, number))
    assert text.endswith("\n"), "the exposition ends with a newline"
    return types, samples


def find(samples, name: str, **labels: str) -> list[float]:
    return [v for n, l, v in samples if n == name and all(l.get(k) == want for k, want in labels.items())]


def scrape(http: httpx2.Client) -> httpx2.Response:
    resp = http.get(METRICS_URL)
    assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text[:300]}"
    return resp


def test_metrics_serves_valid_exposition_of_its_own_process() -> None:
    with httpx2.Client(timeout=HTTP_TIMEOUT, transport=SyncEmulatorRetry()) as http:
        # Some traffic elsewhere first: it lands in the mcp process, not in this one (see the docstring).
        http.get(f"{GATEWAY_URL}/health")
        http.post(mcp_url(GATEWAY_URL), headers=base_headers(), json=request("initialize", initialize_params()))
        scrape(http)
        resp = scrape(http)

    ctype = resp.headers["content-type"]
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    assert resp.headers.get("cache-control") == "no-store"
    types, samples = parse(resp.text)
    for family, kind in FAMILIES.items():
        assert types.get(family) == kind, f"{family}: {types.get(family)!r}, expected {kind}"

    build = find(samples, "mcp_gateway_build_info")
    assert build == [1.0], build
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", next(l for n, l, _ in samples if n == "mcp_gateway_build_info")["version"])
    assert find(samples, "mcp_gateway_process_start_time_seconds")[0] > 1.6e9

    # The earlier scrape, counted by this process.
    own = find(samples, "mcp_gateway_requests_total", route="/metrics", method="GET", status="200")
    assert own and own[0] >= 1, f"the first scrape is not counted: {own}"
    # Its histogram is cumulative and complete.
    buckets = [(l["le"], v) for n, l, v in samples
               if n == "mcp_gateway_request_duration_seconds_bucket" and l.get("route") == "/metrics"]
    assert buckets and buckets[-1][0] == "+Inf"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), f"buckets are not cumulative: {buckets}"
    total = find(samples, "mcp_gateway_request_duration_seconds_count", route="/metrics")
    assert total == [counts[-1]] and total[0] >= own[0]


def test_metrics_answers_only_get_and_head() -> None:
    with httpx2.Client(timeout=HTTP_TIMEOUT, transport=SyncEmulatorRetry()) as http:
        head = http.head(METRICS_URL)
        post = http.post(METRICS_URL, content=b"")
    assert head.status_code == 200 and head.content == b""
    assert post.status_code == 405, post.status_code  # on AWS the HTTP API has no POST route: 404 before Lambda
    assert post.headers["allow"] == "GET, HEAD"
