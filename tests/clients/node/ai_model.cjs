// A Vercel AI SDK model pointed at the gateway as each provider package documents it: the
// base URL in `baseURL`, the key in the package's own environment variable (OPENAI_API_KEY,
// ANTHROPIC_API_KEY, GOOGLE_GENERATIVE_AI_API_KEY), everything else at its default.
const { createOpenAI } = require("@ai-sdk/openai");
const { createAnthropic } = require("@ai-sdk/anthropic");
const { createGoogleGenerativeAI } = require("@ai-sdk/google");

function model(kind, name) {
  const gateway = process.env.GATEWAY_URL;
  switch (kind) {
    case "openai-responses": // the package's default API
      return createOpenAI({ baseURL: `${gateway}/v1` })(name);
    case "openai-chat":
      return createOpenAI({ baseURL: `${gateway}/v1` }).chat(name);
    case "anthropic":
      return createAnthropic({ baseURL: `${gateway}/v1` })(name);
    case "google":
      return createGoogleGenerativeAI({ baseURL: `${gateway}/v1beta` })(name);
    default:
      throw new Error(`unknown provider kind ${kind}`);
  }
}

// The model named on the command line (kind, model name).
function modelFromArgs() {
  return model(process.argv[2], process.argv[3]);
}

// Prints what `body` returns as one JSON line.
async function main(body) {
  console.log(JSON.stringify(await body(modelFromArgs())));
}

// What an SDK error carries that a caller reads.
function describeError(error) {
  return {
    name: error.name,
    message: error.message,
    statusCode: error.statusCode,
    isRetryable: error.isRetryable,
    cause: error.cause ? String(error.cause) : undefined,
  };
}

module.exports = { main, describeError };
