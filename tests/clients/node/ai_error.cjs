// generateText when the call is refused: the error the SDK throws.
const { generateText } = require("ai");
const { main, describeError } = require("./ai_model.cjs");

main(async (model) => {
  try {
    const result = await generateText({ model, prompt: "say hi" });
    return { answered: result.text };
  } catch (error) {
    // With its retries spent the SDK wraps the last error; the API's own is the last one.
    const last = error.lastError ?? error;
    return { error: describeError(last), outer: error.name };
  }
});
