// A refused call: the error class the package throws and what it read from the body.
const OpenAI = require("openai");
const { main } = require("./openai_client.cjs");

main(async (client, api, model) => {
  try {
    if (api === "chat") {
      await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
    } else {
      await client.responses.create({ model, input: "hi" });
    }
    return { answered: true };
  } catch (error) {
    return {
      isApiError: error instanceof OpenAI.APIError,
      name: error.constructor.name,
      status: error.status,
      message: error.message,
      error: error.error,
    };
  }
});
