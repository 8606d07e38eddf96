// Lists the gateway's tools and calls ask_model on an API provider.
const { main } = require("./mcp_connect.cjs");

main(async (client) => {
  const { tools } = await client.listTools();
  const call = await client.callTool({
    name: "ask_model",
    arguments: { provider: "openai", model: "gpt-4o-mini", prompt: "say hi" },
  });
  return {
    tools: tools.map((tool) => tool.name),
    withOutputSchema: tools.filter((tool) => tool.outputSchema).map((tool) => tool.name),
    call,
  };
});
