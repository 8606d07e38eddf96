// The TypeScript MCP SDK's client on the gateway's /mcp, as its README shows: a Client over
// the streamable HTTP transport, with the gateway's token as a bearer header when it has one.
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const {
  StreamableHTTPClientTransport,
} = require("@modelcontextprotocol/sdk/client/streamableHttp.js");

async function connect() {
  const headers = process.env.GATEWAY_TOKEN
    ? { Authorization: `Bearer ${process.env.GATEWAY_TOKEN}` }
    : {};
  const transport = new StreamableHTTPClientTransport(new URL(process.env.GATEWAY_MCP_URL), {
    requestInit: { headers },
  });
  const client = new Client({ name: "llmgw-ts-sdk-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

// Runs `body` with a connected client and prints what it returns as one JSON line (or, when
// the gateway refuses the connection, what the SDK says about that).
async function main(body) {
  let client;
  try {
    client = await connect();
  } catch (error) {
    console.log(JSON.stringify({ refused: { code: error.code, message: error.message } }));
    return;
  }
  try {
    console.log(JSON.stringify(await body(client)));
  } finally {
    await client.close();
  }
}

module.exports = { connect, main };
