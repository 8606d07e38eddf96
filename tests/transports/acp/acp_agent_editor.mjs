// An editor's side of ACP with the official TypeScript SDK (@agentclientprotocol/sdk), driving
// `llmgw-desktop acp --agent AGENT` as Zed would: initialize, a new session, a prompt whose
// answer streams, a tool call the editor approves, one it rejects, a prompt cancelled mid-turn,
// session/load, and a prompt that continues the loaded session. Prints one JSON object on its
// last line of stdout: what the SDK handed back, and every line the editor sent (`sent`).
//   node acp_agent_editor.mjs PYTHON AGENT PATH-TO-THE-SDK'S-acp.js
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { openLikeZed } from "./zed_handshake.mjs";

const [python, agentName, sdk] = process.argv.slice(2);
const { client, ndJsonStream, PROTOCOL_VERSION } = await import(pathToFileURL(sdk).href);
const agent = spawn(python, ["-m", "llmgw_desktop", "acp", "--agent", agentName], {
  stdio: ["pipe", "pipe", "inherit"],
});
const updates = [];
const asked = [];
let decision = "allow";
const app = client()
  .onNotification("session/update", (cx) => {
    updates.push(cx.params);
  })
  .onRequest("session/request_permission", (cx) => {
    asked.push({ title: cx.params.toolCall.title, kind: cx.params.toolCall.kind, options: cx.params.options });
    const wanted = decision === "allow" ? "allow_once" : "reject_once";
    const option = cx.params.options.find((o) => o.kind === wanted);
    return { outcome: { outcome: "selected", optionId: option.optionId } };
  });
// Everything the editor writes, as the agent reads it: the fixture of what an editor sends.
const sent = [];
const decoder = new TextDecoder();
const tee = new TransformStream({
  transform(chunk, controller) {
    sent.push(decoder.decode(chunk));
    controller.enqueue(chunk);
  },
});
tee.readable.pipeTo(Writable.toWeb(agent.stdin)).catch(() => {}); // ends with the agent
const connection = app.connect(ndJsonStream(tee.writable, Readable.toWeb(agent.stdout)));
const editor = connection.agent;
const chunks = () =>
  updates
    .filter((u) => u.update.sessionUpdate === "agent_message_chunk")
    .map((u) => u.update.content.text)
    .join("");
const prompt = (sessionId, text) =>
  editor.request("session/prompt", { sessionId, prompt: [{ type: "text", text }] });
const out = {};
try {
  const { initialize, session } = await openLikeZed(editor, PROTOCOL_VERSION);
  out.initialize = initialize;
  out.session = session;
  const id = session.sessionId;
  out.hello = await prompt(id, "Say hello");
  out.helloText = chunks();
  out.helloChunks = updates.filter((u) => u.update.sessionUpdate === "agent_message_chunk").length;
  decision = "allow";
  out.approved = await prompt(id, "make a file");
  decision = "reject";
  out.rejected = await prompt(id, "make another file");
  out.asked = asked;
  // A prompt the scripted upstream answers slowly, cancelled mid-turn: once the test says its
  // model call is under way (the file CANCEL_FLAG appears), so the turn is surely mid-way.
  const slow = prompt(id, "slow please");
  for (let i = 0; i < 600 && !existsSync(process.env.CANCEL_FLAG); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await editor.notify("session/cancel", { sessionId: id });
  out.cancelled = await slow;
  updates.length = 0;
  out.loaded = await editor.request("session/load", { sessionId: id, cwd: process.cwd(), mcpServers: [] });
  out.replayed = updates.map((u) => u.update.sessionUpdate);
  updates.length = 0;
  out.again = await prompt(id, "still there?");
  out.againText = chunks();
} catch (error) {
  out.error = { code: error.code, message: String(error.message ?? error), data: error.data };
}
out.sent = sent.join("");
connection.close();
agent.stdin.end();
out.exitCode = await new Promise((resolve) => agent.on("exit", (code) => resolve(code)));
console.log(JSON.stringify(out));
