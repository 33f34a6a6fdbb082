// The official TypeScript MCP client SDK against a streaming gateway (GATEWAY_STREAMING=on). Run by
// tests/e2e/test_streaming.py and tests/e2e/long_calls.py with the venv's Node 24:
//   node tests/clients/ts_stream_client.mjs features URL SECOND_URL NOTIFY_URL
//     progress callbacks during a call; an elicitation whose answer (a POST of the JSON-RPC response) goes to
//     SECOND_URL, another process of the same deployment; a resource subscription that delivers an update
//     (NOTIFY_URL makes the fixture announce one)
//   node tests/clients/ts_stream_client.mjs long URL SECONDS EVERY
//     one call of stream_long_task lasting SECONDS, progress every EVERY seconds
// Prints one JSON summary line on stdout; any failure exits non-zero with the error on stderr.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../infra/package.json", import.meta.url));
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { ElicitRequestSchema, ResourceUpdatedNotificationSchema } = require("@modelcontextprotocol/sdk/types.js");

const [mode, url, ...rest] = process.argv.slice(2);
const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join("");

/** A fetch that sends the client's answers to a server's requests (JSON-RPC responses) to `second`. */
function answersTo(second, routed) {
  return async (input, init) => {
    const body = typeof init?.body === "string" ? init.body : null;
    let message = null;
    try {
      message = body ? JSON.parse(body) : null;
    } catch {}
    if (init?.method === "POST" && message && !message.method && ("result" in message || "error" in message)) {
      routed.push(message.id);
      return fetch(second, init);
    }
    return fetch(input, init);
  };
}

async function features([second, notifyUrl]) {
  const routed = [];
  const client = new Client({ name: "gateway-e2e-typescript-stream", version: "0.1.0" }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: "Ada" } }));
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: answersTo(second, routed) });
  await client.connect(transport);
  try {
    const started = Date.now();
    const progress = [];
    const long = await client.callTool(
      { name: "stream_long_task", arguments: { seconds: 3, every: 0.5 } },
      undefined,
      { onprogress: (p) => progress.push({ at: Date.now() - started, ...p }), timeout: 60000 },
    );
    const elapsed = Date.now() - started;
    const greeting = await client.callTool({ name: "stream_ask_name", arguments: {} });
    await client.subscribeResource({ uri: "test://watched-resource" });
    const announced = await fetch(notifyUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "notifications/resources/updated", params: { uri: "test://watched-resource" } }),
    }).then((r) => r.json());
    for (let i = 0; i < 100 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    console.log(JSON.stringify({
      long: text(long), elapsed, progress,
      greeting: text(greeting), routed,
      announced, updates,
      capabilities: client.getServerCapabilities(),
    }));
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

async function long([seconds, every]) {
  const client = new Client({ name: "gateway-e2e-typescript-long", version: "0.1.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    const started = Date.now();
    let progress = 0;
    const result = await client.callTool(
      { name: "stream_long_task", arguments: { seconds: Number(seconds), every: Number(every) } },
      undefined,
      { onprogress: () => progress++, timeout: (Number(seconds) + 120) * 1000 },
    );
    console.log(JSON.stringify({ text: text(result), isError: result.isError ?? false, progress, elapsed: Date.now() - started }));
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

if (mode === "features") await features(rest);
else if (mode === "long") await long(rest);
else throw new Error(`unknown mode ${mode}`);
