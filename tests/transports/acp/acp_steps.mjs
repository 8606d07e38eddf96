// An editor written with the official TypeScript ACP SDK (@agentclientprotocol/sdk), its
// workflow inside `client().connectWith(...)`: `llmgw-desktop acp ARGS...` spawned as Zed spawns
// it, initialized as Zed does, then the steps of a plan, each one request:
//   {"new": {}}                               session/new in the working directory
//   {"load": {"sessionId": "..."}}            session/load ("" or absent: the last session)
//   {"prompt": [content blocks]}              session/prompt in the last session
//   {"set": {"configId": "...", "value": ...}} session/set_config_option in the last session
//   {"answer": "allow_always"}                the option kind later permission requests get
// Prints one JSON object on its last line of stdout: `initialize`, and per step its result
// (`answered`) or error (`code`, `message`, `data`), the updates it brought (`updates`) and
// the permission requests it asked (`asked`: their option kinds).
//   node acp_steps.mjs PYTHON SDK PLAN-JSON ARGS...
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";

const [python, sdk, planJson, ...args] = process.argv.slice(2);
const plan = JSON.parse(planJson);
const { client, ndJsonStream, PROTOCOL_VERSION } = await import(pathToFileURL(sdk).href);
const agent = spawn(python, ["-m", "llmgw_desktop", "acp", ...args], {
  stdio: ["pipe", "pipe", "inherit"],
});
let updates = [];
let asked = [];
let answerKind = "allow_once";
const app = client()
  .onNotification("session/update", (cx) => {
    updates.push(cx.params.update);
  })
  .onRequest("session/request_permission", (cx) => {
    asked.push(cx.params.options.map((o) => o.kind));
    const option = cx.params.options.find((o) => o.kind === answerKind);
    if (!option) return { outcome: { outcome: "cancelled" } };
    return { outcome: { outcome: "selected", optionId: option.optionId } };
  });
const stream = ndJsonStream(Writable.toWeb(agent.stdin), Readable.toWeb(agent.stdout));
const out = { steps: [] };
try {
  await app.connectWith(stream, async (editor) => {
    out.initialize = await editor.request("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      clientCapabilities: {},
      clientInfo: { name: "zed", version: "0.999.0" },
    });
    let sessionId = "";
    for (const step of plan) {
      updates = [];
      asked = [];
      const done = {};
      try {
        if (step.new) {
          done.answered = await editor.request("session/new", { cwd: process.cwd(), mcpServers: [] });
          sessionId = done.answered.sessionId;
        } else if (step.load) {
          sessionId = step.load.sessionId || sessionId;
          done.answered = await editor.request("session/load", { sessionId, cwd: process.cwd(), mcpServers: [] });
        } else if (step.prompt) {
          done.answered = await editor.request("session/prompt", { sessionId, prompt: step.prompt });
        } else if (step.set) {
          done.answered = await editor.request("session/set_config_option", { sessionId, ...step.set });
        } else if (step.answer) {
          answerKind = step.answer;
          done.answered = {};
        }
      } catch (error) {
        done.code = error.code;
        done.message = String(error.message ?? error);
        done.data = error.data;
      }
      done.updates = updates;
      done.asked = asked;
      out.steps.push(done);
    }
  });
} catch (error) {
  out.error = { code: error.code, message: String(error.message ?? error), data: error.data };
}
agent.stdin.end();
out.exitCode = await new Promise((resolve) => agent.on("exit", (code) => resolve(code)));
console.log(JSON.stringify(out));
