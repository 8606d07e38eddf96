"""What the gateway benchmarks send: a one-line question, or a coding agent's request.

`REQUEST` is the OpenAI Chat request every bench sends by default; `agent_request()` one the
size and shape coding agents send (`--agent`), and `as_anthropic` either in Anthropic Messages'
shape (`--cross`: the gateway translates it for the OpenAI upstream). Every request carries
`AUTH_HEADERS`, which the gateway checks only when locked with `BENCH_TOKEN` (`--bearer`).
"""

from __future__ import annotations

import json

# Start-up refuses guessable tokens, so this one is random (made with secrets.token_urlsafe).
BENCH_TOKEN = "bench-Xq7vR2mZk9LpT4wYc8NbH3sJd6FgA1eU5oKi0rWt"
# Sent on every request (the upstream ignores it); the gateway checks it only with --bearer.
AUTH_HEADERS = {"Authorization": f"Bearer {BENCH_TOKEN}"}

REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Capital of France?"}]}


def agent_request() -> dict[str, object]:
    """A request the size and shape coding agents send (about 40 KB): a long system prompt,
    a dozen tools with schemas, and a history of tool calls and results."""
    schema = {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": f"The {name} to use. " * 8}
            for name in ("path", "command", "pattern", "content", "description")
        },
        "required": ["path"],
        "additionalProperties": False,
    }
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"tool_{i}",
                "description": "Does one thing. " * 20,
                "parameters": schema,
            },
        }
        for i in range(12)
    ]
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are a coding agent. Follow the rules. " * 200}
    ]
    for turn in range(10):
        call_id = f"call_{turn}"
        arguments = json.dumps({"path": f"src/file_{turn}.py", "command": "read"})
        messages += [
            {"role": "user", "content": f"Step {turn}: look at the next file, please. " * 5},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": f"tool_{turn}", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "def f():\n    return 1\n" * 40},
        ]
    messages.append({"role": "user", "content": "Now summarise what you found."})
    return {"model": "gpt-4o", "messages": messages, "tools": tools, "tool_choice": "auto"}


def as_anthropic(body: dict[str, object]) -> dict[str, object]:
    """The same request in Anthropic Messages' shape (for `--cross`)."""
    system = ""
    messages: list[dict[str, object]] = []
    for message in body["messages"]:  # type: ignore[attr-defined]
        role, content = message["role"], message.get("content")
        if role == "system":
            system = content
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": content,
            }
            messages.append({"role": "user", "content": [block]})
        elif message.get("tool_calls"):
            uses = [
                {
                    "type": "tool_use",
                    "id": call["id"],
                    "name": call["function"]["name"],
                    "input": json.loads(call["function"]["arguments"]),
                }
                for call in message["tool_calls"]
            ]
            messages.append({"role": "assistant", "content": uses})
        else:
            messages.append({"role": role, "content": content})
    merged: list[dict[str, object]] = []
    for message in messages:  # Anthropic's turns alternate: a tool result and text share one
        blocks = message["content"]
        if not isinstance(blocks, list):
            blocks = [{"type": "text", "text": blocks}]
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"] = [*merged[-1]["content"], *blocks]  # type: ignore[misc]
        else:
            merged.append({"role": message["role"], "content": blocks})
    messages = merged
    anthropic: dict[str, object] = {"model": body["model"], "max_tokens": 1024}
    if system:
        anthropic["system"] = system
    anthropic["messages"] = messages
    if body.get("tools"):
        anthropic["tools"] = [
            {
                "name": tool["function"]["name"],
                "description": tool["function"]["description"],
                "input_schema": tool["function"]["parameters"],
            }
            for tool in body["tools"]  # type: ignore[attr-defined]
        ]
    return anthropic
