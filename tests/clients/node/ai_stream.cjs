// streamText: the text as it arrives, then how the stream ended.
const { streamText } = require("ai");
const { main, describeError } = require("./ai_model.cjs");

main(async (model) => {
  const errors = [];
  const result = streamText({ model, prompt: "say hi", onError: ({ error }) => errors.push(error) });
  const chunks = [];
  for await (const chunk of result.textStream) chunks.push(chunk);
  return {
    chunks,
    text: await result.text,
    finishReason: await result.finishReason,
    usage: await result.usage,
    errors: errors.map(describeError),
  };
});
