// The `openai` npm package in its default configuration: it reads OPENAI_BASE_URL and
// OPENAI_API_KEY from the environment.
const OpenAI = require("openai");

// Runs `body` with a client and the API named on the command line ("chat" or "responses"),
// and prints what it returns as one JSON line.
async function main(body) {
  console.log(JSON.stringify(await body(new OpenAI(), process.argv[2], process.argv[3])));
}

module.exports = { main };
