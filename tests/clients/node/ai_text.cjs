// generateText: one answer.
const { generateText } = require("ai");
const { main } = require("./ai_model.cjs");

main(async (model) => {
  const result = await generateText({ model, prompt: "say hi" });
  return { text: result.text, finishReason: result.finishReason, usage: result.usage };
});
