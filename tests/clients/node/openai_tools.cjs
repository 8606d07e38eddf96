// A tool round trip by hand, as the package's docs show it: the model calls get_weather,
// the caller answers with the tool's output, the model answers in text.
const { main } = require("./openai_client.cjs");

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const weather = (args) => `18 C and sunny in ${JSON.parse(args).city}`;

main(async (client, api, model) => {
  if (api === "chat") {
    const tools = [{ type: "function", function: WEATHER }];
    const messages = [{ role: "user", content: "What is the weather in Paris?" }];
    const first = await client.chat.completions.create({ model, messages, tools });
    const asked = first.choices[0].message;
    messages.push(asked);
    for (const call of asked.tool_calls) {
      messages.push({ role: "tool", tool_call_id: call.id, content: weather(call.function.arguments) });
    }
    const second = await client.chat.completions.create({ model, messages, tools });
    return {
      calls: asked.tool_calls.map((c) => ({ name: c.function.name, arguments: JSON.parse(c.function.arguments) })),
      firstFinish: first.choices[0].finish_reason,
      text: second.choices[0].message.content,
    };
  }
  const tools = [{ type: "function", ...WEATHER }];
  const input = [{ role: "user", content: "What is the weather in Paris?" }];
  const first = await client.responses.create({ model, input, tools });
  const calls = first.output.filter((item) => item.type === "function_call");
  input.push(...first.output);
  for (const call of calls) {
    input.push({ type: "function_call_output", call_id: call.call_id, output: weather(call.arguments) });
  }
  const second = await client.responses.create({ model, input, tools });
  return {
    calls: calls.map((c) => ({ name: c.name, arguments: JSON.parse(c.arguments) })),
    firstFinish: first.status,
    text: second.output_text,
  };
});
