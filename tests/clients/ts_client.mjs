// The official TypeScript MCP client SDK (@modelcontextprotocol/sdk, from infra/node_modules) against the
// gateway over Streamable HTTP. Run by tests/e2e/test_typescript_client.py with the venv's Node 24:
//   .venv/bin/node tests/clients/ts_client.mjs [URL]      default http://127.0.0.1:9000/mcp
// Connects (initialize), lists every tool page, calls demo_add {a:2,b:3}, reads demo://greeting, ends the
// session, and prints one JSON summary line on stdout. Any failure exits non-zero with the error on stderr.
import { createRequire } from "node:module";

// The SDK lives in infra/node_modules, not next to this file: resolve it from there.
const require = createRequire(new URL("../../infra/package.json", import.meta.url));
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");

const url = new URL(process.argv[2] ?? "http://127.0.0.1:9000/mcp");
const client = new Client({ name: "gateway-e2e-typescript", version: "0.1.0" });

// `cargo lambda watch` now and then loses a response the function produced and answers 500 with its own
// text/plain `httpstatuses.com/500` body (tests/e2e/emulator.py). Exactly that answer is sent again, at most
// twice, and counted in the summary (the test adds it to the run's count); any other answer is the SDK's.
let resent = 0;
async function emulatorRetryFetch(input, init) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(input, init);
    const plain = (response.headers.get("content-type") ?? "").startsWith("text/plain");
    if (response.status !== 500 || !plain || attempt === 2) return response;
    const body = await response.text();
    if (!body.includes("httpstatuses.com/500")) {
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    resent += 1;
  }
}
const transport = new StreamableHTTPClientTransport(url, { fetch: emulatorRetryFetch });

try {
  await client.connect(transport);
  const sessionId = transport.sessionId;

  const tools = [];
  let cursor;
  for (let page = 0; page < 100; page++) {
    const result = await client.listTools(cursor ? { cursor } : {});
    tools.push(...result.tools.map((tool) => tool.name));
    cursor = result.nextCursor;
    if (!cursor) break;
  }

  const sum = await client.callTool({ name: "demo_add", arguments: { a: 2, b: 3 } });
  const greeting = await client.readResource({ uri: "demo://greeting" });

  console.log(
    JSON.stringify({
      protocolVersion: transport.protocolVersion,
      sessionId,
      serverName: client.getServerVersion()?.name,
      tools,
      sum: {
        isError: sum.isError ?? false,
        text: sum.content.filter((c) => c.type === "text").map((c) => c.text).join(""),
        structured: sum.structuredContent ?? null,
      },
      greeting: greeting.contents.map((c) => c.text ?? null),
      resent,
    }),
  );
  await transport.terminateSession();
} finally {
  await client.close();
}
