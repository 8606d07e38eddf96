// A prompt without its required argument, and a tool called with one missing: what the SDK
// hands back for each.
const { main } = require("./mcp_connect.cjs");
const { McpError } = require("@modelcontextprotocol/sdk/types.js");

main(async (client) => {
  let prompt = null;
  try {
    await client.getPrompt({ name: "review_loop", arguments: {} });
  } catch (error) {
    prompt = { isMcpError: error instanceof McpError, code: error.code, message: error.message };
  }
  const tool = await client.callTool({ name: "ask_model", arguments: { provider: "openai" } });
  return { prompt, tool };
});
