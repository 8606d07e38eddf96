// generateObject: a value that satisfies a zod schema, in the provider's structured-output mode.
const { generateObject } = require("ai");
const { z } = require("zod");
const { main } = require("./ai_model.cjs");

main(async (model) => {
  const result = await generateObject({
    model,
    schema: z.object({ city: z.string(), temperature: z.number() }),
    prompt: "The weather in Paris, as an object.",
  });
  return { object: result.object, finishReason: result.finishReason };
});
