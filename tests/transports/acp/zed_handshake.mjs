// What Zed sends first over ACP, shared by the editor scripts of this folder: `initialize`
// (naming itself as Zed does), then a new session in the working directory, with no MCP servers.
export async function openLikeZed(editor, protocolVersion) {
  const initialize = await editor.request("initialize", {
    protocolVersion,
    clientCapabilities: {},
    clientInfo: { name: "zed", version: "0.999.0" },
  });
  const session = await editor.request("session/new", { cwd: process.cwd(), mcpServers: [] });
  return { initialize, session };
}
