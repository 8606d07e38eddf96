// An editor written with the official TypeScript ACP SDK (@agentclientprotocol/sdk), its
// workflow in `client().connectWith(...)`: `llmgw-desktop acp --model MODEL` spawned as Zed
// spawns it, then three prompts the gateway fails (an upstream 500, a stream cut mid-answer,
// an unknown model) and one that answers. Prints one JSON object on its last line of stdout:
// the error each failed prompt was rejected with (code, message, data), and the last answer.
//   node acp_model_failures.mjs PYTHON MODEL PATH-TO-THE-SDK'S-acp.js
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { openLikeZed } from "./zed_handshake.mjs";

const [python, model, sdk] = process.argv.slice(2);
const { client, ndJsonStream, PROTOCOL_VERSION } = await import(pathToFileURL(sdk).href);
const agent = spawn(python, ["-m", "llmgw_desktop", "acp", "--model", model], {
  stdio: ["pipe", "pipe", "inherit"],
});
const texts = [];
const app = client().onNotification("session/update", (cx) => {
  if (cx.params.update.sessionUpdate === "agent_message_chunk") texts.push(cx.params.update.content.text);
});
const stream = ndJsonStream(Writable.toWeb(agent.stdin), Readable.toWeb(agent.stdout));
const rejected = async (promise) => {
  try {
    return { answered: await promise };
  } catch (error) {
    return { code: error.code, message: String(error.message ?? error), data: error.data };
  }
};
let out = {};
try {
  out = await app.connectWith(stream, async (editor) => {
    const { session } = await openLikeZed(editor, PROTOCOL_VERSION);
    const sessionId = session.sessionId;
    const prompt = (text) => editor.request("session/prompt", { sessionId, prompt: [{ type: "text", text }] });
    const seen = {};
    seen.upstream500 = await rejected(prompt("upstream fails"));
    seen.cut = await rejected(prompt("stream cut"));
    await editor.request("session/set_config_option", { sessionId, configId: "model", value: "no-such-model" });
    seen.unknownModel = await rejected(prompt("hello"));
    await editor.request("session/set_config_option", { sessionId, configId: "model", value: model });
    texts.length = 0;
    seen.after = await prompt("again");
    seen.afterText = texts.join("");
    return seen;
  });
} catch (error) {
  out.error = { code: error.code, message: String(error.message ?? error), data: error.data };
}
agent.stdin.end();
out.exitCode = await new Promise((resolve) => agent.on("exit", (code) => resolve(code)));
console.log(JSON.stringify(out));
