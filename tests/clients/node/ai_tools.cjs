// generateText with a tool the SDK runs itself, until the model answers in text.
const { generateText, tool, stepCountIs } = require("ai");
const { z } = require("zod");
const { main } = require("./ai_model.cjs");

const getWeather = tool({
  description: "The weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `18 C and sunny in ${city}`,
});

main(async (model) => {
  const result = await generateText({
    model,
    prompt: "What is the weather in Paris?",
    tools: { get_weather: getWeather },
    stopWhen: stepCountIs(4),
  });
  return {
    text: result.text,
    steps: result.steps.map((step) => ({
      finishReason: step.finishReason,
      toolCalls: step.toolCalls.map((call) => ({ name: call.toolName, input: call.input })),
      toolResults: step.toolResults.map((r) => ({ name: r.toolName, output: r.output })),
      text: step.text,
    })),
  };
});
