// One answer from Chat Completions or Responses.
const { main } = require("./openai_client.cjs");

main(async (client, api, model) => {
  if (api === "chat") {
    const reply = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "say hi" }],
    });
    const choice = reply.choices[0];
    return { text: choice.message.content, finish: choice.finish_reason, usage: reply.usage };
  }
  const reply = await client.responses.create({ model, input: "say hi" });
  return { text: reply.output_text, finish: reply.status, usage: reply.usage };
});
