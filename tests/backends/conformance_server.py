"""Fixture backend for the official MCP conformance suite, run *through* the gateway.

Built on the official Python SDK (mcp 2.3.0, MCPServer) and modelled on the suite's reference fixture
(examples/servers/typescript/everything-server.ts of modelcontextprotocol/conformance): the same names, the same
answers, and above all the same split between protocol eras, which a gateway has to preserve. Listens on
127.0.0.1 only. The gateway exposes it with an empty prefix (infra/backends.conformance.json), so the suite finds
its fixtures by their plain names.

    python tests/backends/conformance_server.py --port 3004        # streamable HTTP on /mcp

Both eras (legacy sessions: initialize, 2025-11-25 and earlier; 2026-07-28: per-request _meta, no session):
  tools      test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
             test_multiple_content_types, test_tool_with_logging, test_tool_with_progress, test_error_handling,
             test_reconnection, test_sampling, test_elicitation, test_elicitation_sep1034_defaults,
             test_elicitation_sep1330_enums, json_schema_2020_12_tool
  resources  test://static-text, test://static-binary, test://watched-resource, template test://template/{id}/data
  prompts    test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource,
             test_prompt_with_image
  also       completion/complete (no values)
Legacy sessions only:
  tools      test_list_roots (not in the reference: roots/list on the call's stream)
  methods    resources/subscribe, resources/unsubscribe, logging/setLevel, ping; GET stream, DELETE
  wire       every reply to a request is an SSE stream opened by a priming event (id, retry 5 s); log and progress
             notifications arrive on it mid-call; sampling/createMessage, elicitation/create and roots/list are
             sent on it and the call completes when the client POSTs its answer; test_reconnection closes the
             stream mid-call and the result is replayed on GET with Last-Event-ID
2026-07-28 only:
  tools      test_missing_capability, test_input_required_result_{elicitation,sampling,list_roots,request_state,
             multiple_inputs,multi_round,tampered_state,capabilities}, test_streaming_elicitation,
             test_logging_tool; callable but never listed: test_trigger_tool_change, test_trigger_prompt_change
  prompts    test_input_required_result_prompt
  resources  test://stateless-static-text
  methods    server/discover, subscriptions/listen
A name an era does not offer is answered as unknown in that era. Changes are announced on demand with
POST /fixture/notify (conformance_fixture/notify.py). Module map: conformance_fixture/__init__.py.
"""

from __future__ import annotations

import argparse

import uvicorn
from conformance_fixture import build_app

HOST = "127.0.0.1"
RETRY_MS = 5000  # the reconnection delay the priming event suggests (the reference's value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3004)
    args = parser.parse_args()
    uvicorn.run(build_app(HOST, RETRY_MS), host=HOST, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
