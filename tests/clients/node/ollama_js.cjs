// The `ollama` npm package pointed at the gateway as its docs show (`host`, and on a locked
// gateway the key as a header): chat whole and streamed, generate, embed and list.
const { Ollama } = require("ollama");

async function run() {
  const [host, key, chatModel, embedModel] = process.argv.slice(2);
  const headers = key ? { Authorization: `Bearer ${key}` } : undefined;
  const client = new Ollama({ host, headers });
  const messages = [{ role: "user", content: "say hi" }];
  const whole = await client.chat({ model: chatModel, messages, stream: false });
  const parts = [];
  let last = null;
  for await (const part of await client.chat({ model: chatModel, messages, stream: true })) {
    parts.push(part.message.content);
    last = part;
  }
  const generated = await client.generate({ model: chatModel, prompt: "say hi", stream: false });
  const embedded = await client.embed({ model: embedModel, input: ["alpha", "beta"] });
  const listed = await client.list();
  return {
    chat: whole.message.content,
    chatDone: whole.done,
    streamed: parts.join(""),
    streamDone: last.done,
    evalCount: last.eval_count,
    generated: generated.response,
    vectors: embedded.embeddings,
    models: listed.models.map((m) => m.name),
  };
}

run().then(
  (answer) => console.log(JSON.stringify(answer)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
