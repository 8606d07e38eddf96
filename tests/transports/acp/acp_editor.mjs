// An editor's side of ACP, with the official TypeScript SDK (@agentclientprotocol/sdk), driving
// `llmgw-desktop acp` as Zed would: spawn it, initialize, new session, a prompt whose answer
// streams, a second prompt cancelled mid-turn, session/load, then a malformed line. Prints
// one JSON object on its last line of stdout: what the SDK handed back.
//   node acp_editor.mjs PYTHON MODEL PATH-TO-THE-SDK'S-acp.js
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { openLikeZed } from "./zed_handshake.mjs";

// ESM ignores NODE_PATH: the SDK is imported from where .ci/run installed it.
const [python, model, sdk] = process.argv.slice(2);
const { client, ndJsonStream, PROTOCOL_VERSION } = await import(pathToFileURL(sdk).href);
const agent = spawn(python, ["-m", "llmgw_desktop", "acp", "--model", model], {
  stdio: ["pipe", "pipe", "inherit"],
});
const updates = [];
const app = client().onNotification("session/update", (cx) => {
  updates.push(cx.params);
});
const stream = ndJsonStream(Writable.toWeb(agent.stdin), Readable.toWeb(agent.stdout));
const connection = app.connect(stream);
const editor = connection.agent;
const out = {};
try {
  const { initialize, session } = await openLikeZed(editor, PROTOCOL_VERSION);
  out.initialize = initialize;
  out.session = session;
  const first = await editor.request("session/prompt", {
    sessionId: session.sessionId,
    prompt: [{ type: "text", text: "Say hello" }],
  });
  out.first = first;
  out.firstChunks = updates
    .filter((u) => u.update.sessionUpdate === "agent_message_chunk")
    .map((u) => u.update.content.text);
  // A prompt the scripted upstream answers slowly, cancelled mid-turn.
  const slow = editor.request("session/prompt", {
    sessionId: session.sessionId,
    prompt: [{ type: "text", text: "slow please" }],
  });
  await new Promise((r) => setTimeout(r, 1500));
  await editor.notify("session/cancel", { sessionId: session.sessionId });
  out.cancelled = await slow;
  updates.length = 0;
  out.loaded = await editor.request("session/load", {
    sessionId: session.sessionId,
    cwd: process.cwd(),
    mcpServers: [],
  });
  out.replayed = updates.map((u) => u.update.sessionUpdate);
  try {
    await editor.request("session/prompt", { sessionId: "no-such", prompt: [{ type: "text", text: "x" }] });
  } catch (error) {
    out.unknownSession = { code: error.code, message: error.message };
  }
} catch (error) {
  out.error = { code: error.code, message: String(error.message ?? error), data: error.data };
}
connection.close();
agent.stdin.end();
const exit = await new Promise((resolve) => agent.on("exit", (code) => resolve(code)));
out.exitCode = exit;
console.log(JSON.stringify(out));
