"""Ollama's `/api/chat` and `/api/generate` as OpenAI Chat requests, and their answers back.

A request: `messages` (with `images` as base64 and assistant `tool_calls` whose arguments
are objects), `tools` (already in OpenAI's shape), `format` (`json` or a JSON schema),
`options` (`temperature`, `top_p`, `num_predict`, `stop`, `seed`) and `stream` (on unless
`false`). `/api/generate` sends `prompt` and `system` instead of `messages`. The answer: a
`message` (or, for generate, a `response`), `done`, `done_reason` and the counts Ollama
reports (`prompt_eval_count`, `eval_count`, `total_duration` in nanoseconds).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    optional_str,
)
from llmgw_desktop.engine.gateway.http_client.sse import SseParser

__all__ = ["ollama_answer", "ollama_lines", "ollama_to_openai"]

# OpenAI's finish reasons as Ollama says them.
_DONE_REASONS = {"stop": "stop", "length": "length", "tool_calls": "stop", "content_filter": "stop"}


def ollama_to_openai(body: dict[str, Any], *, generate: bool) -> dict[str, Any]:
    """An Ollama chat (or, with `generate`, generate) request as an OpenAI Chat body.

    Raises:
        InvalidRequest: `model` is missing, or a message, image, tool call or option is of
            the wrong shape (named).
    """
    model = optional_str(body.get("model"), "model")
    if not model:
        raise InvalidRequest("model: required", param="model")
    if generate:
        messages = _generate_messages(body)
    else:
        messages = [
            _message(expect_dict(m, f"messages[{i}]"), i)
            for i, m in enumerate(expect_list(body.get("messages", []), "messages"))
        ]
    out: dict[str, Any] = {"model": model, "messages": messages}
    stream = body.get("stream") is not False
    out["stream"] = stream
    if stream:
        out["stream_options"] = {"include_usage": True}  # Ollama's last line has the counts
    if body.get("tools"):
        out["tools"] = expect_list(body["tools"], "tools")
    _options(body, out)
    return out


def _generate_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt: required, a string", param="prompt")
    messages: list[dict[str, Any]] = []
    system = optional_str(body.get("system"), "system")
    if system:
        messages.append({"role": "system", "content": system})
    messages.append(_message({"role": "user", "content": prompt, "images": body.get("images")}, 0))
    return messages


def _message(message: dict[str, Any], index: int) -> dict[str, Any]:
    path = f"messages[{index}]"
    role = optional_str(message.get("role"), f"{path}.role") or "user"
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise InvalidRequest(f"{path}.content: expected a string")
    out: dict[str, Any] = {"role": role, "content": content}
    images = message.get("images")
    if images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
        for n, image in enumerate(expect_list(images, f"{path}.images")):
            if not isinstance(image, str):
                raise InvalidRequest(f"{path}.images[{n}]: expected base64 text")
            parts.append(
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}
            )
        out["content"] = parts
    calls = message.get("tool_calls")
    if calls:
        out["tool_calls"] = [
            _tool_call(expect_dict(call, f"{path}.tool_calls[{n}]"), index, n)
            for n, call in enumerate(expect_list(calls, f"{path}.tool_calls"))
        ]
    if role == "tool":
        # Ollama names the tool, OpenAI the call: the call of this name made before it.
        out["tool_call_id"] = f"call_{message.get('tool_name') or 'tool'}"
    return out


def _tool_call(call: dict[str, Any], message: int, number: int) -> dict[str, Any]:
    function = expect_dict(
        call.get("function"), f"messages[{message}].tool_calls[{number}].function"
    )
    name = optional_str(function.get("name"), "function.name") or ""
    arguments = function.get("arguments") or {}
    return {
        "id": f"call_{name or number}",
        "type": "function",
        "function": {
            "name": name,
            "arguments": arguments if isinstance(arguments, str) else jsonio.dumps_text(arguments),
        },
    }


def _options(body: dict[str, Any], out: dict[str, Any]) -> None:
    options = body.get("options")
    options = expect_dict(options, "options") if options is not None else {}
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("num_predict", "max_tokens"),
        ("seed", "seed"),
        ("stop", "stop"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
    ):
        if options.get(ours) is not None:
            out[theirs] = options[ours]
    shape = body.get("format")
    if shape == "json":
        out["response_format"] = {"type": "json_object"}
    elif isinstance(shape, dict):
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": shape},
        }


def ollama_answer(
    answer: dict[str, Any], model: str, *, generate: bool, elapsed_ns: int
) -> dict[str, Any]:
    """An OpenAI Chat answer (whole) in Ollama's shape."""
    choice = (answer.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = answer.get("usage") or {}
    line = _line(model, generate, str(message.get("content") or ""), message.get("tool_calls"))
    return _done(line, choice.get("finish_reason"), usage, elapsed_ns)


async def ollama_lines(
    chunks: AsyncIterator[bytes], model: str, *, generate: bool
) -> AsyncIterator[bytes]:
    """An OpenAI Chat stream's bytes as Ollama's newline-delimited JSON: a line per piece of
    text, the tool calls and counts on the last line (`done: true`); an error event as
    Ollama's `{"error": ...}` line. `chunks` are closed when these are."""
    started = time.perf_counter_ns()
    parser = SseParser()
    calls: dict[int, dict[str, Any]] = {}
    finish: str | None = None
    usage: dict[str, Any] = {}
    try:
        async for chunk in chunks:
            for _, data in parser.feed(chunk):
                if data == "[DONE]":
                    last = _line(model, generate, "", _calls(calls))
                    yield _json(_done(last, finish, usage, time.perf_counter_ns() - started))
                    return
                event = jsonio.loads(data)
                if "error" in event:
                    error = event["error"]
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    yield _json({"error": message})
                    return
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    finish = choice.get("finish_reason") or finish
                    delta = choice.get("delta") or {}
                    _gather(calls, delta.get("tool_calls"))
                    if delta.get("content"):
                        yield _json(_line(model, generate, delta["content"], None))
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def _gather(calls: dict[int, dict[str, Any]], pieces: Any) -> None:
    """Tool calls arrive in pieces (the arguments a string in parts): joined by index."""
    for piece in pieces or []:
        call = calls.setdefault(int(piece.get("index") or 0), {"name": "", "arguments": ""})
        function = piece.get("function") or {}
        call["name"] += function.get("name") or ""
        call["arguments"] += function.get("arguments") or ""


def _calls(calls: dict[int, dict[str, Any]]) -> list[dict[str, Any]] | None:
    if not calls:
        return None
    return [
        {"function": {"name": c["name"], "arguments": c["arguments"]}}
        for _, c in sorted(calls.items())
    ]


def _line(model: str, generate: bool, text: str, tool_calls: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if generate:
        line["response"] = text
    else:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool_calls:
            message["tool_calls"] = [_ollama_call(call) for call in tool_calls]
        line["message"] = message
    line["done"] = False
    return line


def _ollama_call(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call with its arguments as an object, as Ollama gives them."""
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        parsed = jsonio.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        parsed = {}
    return {"function": {"name": function.get("name") or "", "arguments": parsed}}


def _done(
    line: dict[str, Any], finish: str | None, usage: dict[str, Any], elapsed_ns: int
) -> dict[str, Any]:
    line["done"] = True
    line["done_reason"] = _DONE_REASONS.get(finish or "stop", "stop")
    line["total_duration"] = elapsed_ns
    line["load_duration"] = 0
    line["prompt_eval_count"] = int(usage.get("prompt_tokens") or 0)
    line["eval_count"] = int(usage.get("completion_tokens") or 0)
    return line


def _json(data: dict[str, Any]) -> bytes:
    return jsonio.dumps(data) + b"\n"
