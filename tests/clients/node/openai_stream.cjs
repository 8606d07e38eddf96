// A streamed answer from Chat Completions (with usage) or Responses.
const { main } = require("./openai_client.cjs");

main(async (client, api, model) => {
  if (api === "chat") {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "say hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) chunks.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    return { chunks, finish, usage };
  }
  const stream = await client.responses.create({ model, input: "say hi", stream: true });
  const chunks = [];
  const sequence = [];
  let finish = null;
  let usage = null;
  for await (const event of stream) {
    sequence.push(event.sequence_number);
    if (event.type === "response.output_text.delta") chunks.push(event.delta);
    if (event.type === "response.completed") {
      finish = event.response.status;
      usage = event.response.usage;
    }
  }
  return { chunks, finish, usage, sequence };
});
