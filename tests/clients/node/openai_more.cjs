// Embeddings and fill-in-the-middle completions (whole and streamed) with the `openai` npm
// package in its default configuration; the case is named on the command line.
const { main } = require("./openai_client.cjs");

main(async (client, kind, model) => {
  if (kind === "embed") {
    // The package asks for base64 unless told otherwise, and decodes it.
    const answer = await client.embeddings.create({ model, input: ["alpha", "beta"] });
    return { vectors: answer.data.map((d) => d.embedding), usage: answer.usage };
  }
  const prompt = "def add(a, b):\n    ";
  const suffix = "\n\nprint(add(1, 2))";
  if (kind === "fim") {
    const answer = await client.completions.create({ model, prompt, suffix, max_tokens: 16 });
    return { text: answer.choices[0].text, finish: answer.choices[0].finish_reason, usage: answer.usage };
  }
  const stream = await client.completions.create({
    model,
    prompt,
    suffix,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.text) chunks.push(choice.text);
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  return { text: chunks.join(""), finish, usage };
});
