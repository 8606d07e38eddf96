"""Ollama's `/api/chat` and `/api/generate` as OpenAI Chat requests, and their answers back.

A request: `messages` (with `images` as base64 and assistant `tool_calls` whose arguments
are objects), `tools` (already in OpenAI's shape), `format` (`json` or a JSON schema),
`options` (`temperature`, `top_p`, `num_predict`, `stop`, `seed`) and `stream` (on unless
`false`). `/api/generate` sends `prompt` and `system` instead of `messages`, and the
`context` of an earlier answer to go on from it. The answer: a `message` (or, for generate, a
`response`), `done`, `done_reason` and the counts and times Ollama reports (`prompt_eval_count`
and `eval_count`; `total_duration`, `prompt_eval_duration` and `eval_duration` in nanoseconds:
a stream's prompt time is until its first piece, the rest is its eval time; a whole answer's
time is all eval time, the gateway seeing no first token). A generate's last line carries its
`context`: the conversation so far, for the next request to send back. Ollama's are its model's
token ids; the gateway's are the UTF-8 bytes of the conversation as JSON (`[[role, text], ...]`),
read back as the messages they were, so any model continues it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    optional_str,
)
from llmgw_desktop.engine.gateway.http_client.sse import SseParser

__all__ = ["ollama_answer", "ollama_lines", "ollama_to_openai"]

# The roles a generate's `context` keeps (its images are not kept: the text continues).
_CONTEXT_ROLES = frozenset({"system", "user", "assistant"})
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
    """A generate's prompt after the conversation its `context` holds, under its `system`
    (else the conversation's own)."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt: required, a string", param="prompt")
    earlier = _context_messages(body.get("context"))
    system = optional_str(body.get("system"), "system") or next(
        (m["content"] for m in earlier if m["role"] == "system"), ""
    )
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages += [m for m in earlier if m["role"] != "system"]
    messages.append(_message({"role": "user", "content": prompt, "images": body.get("images")}, 0))
    return messages


def _context_messages(context: Any) -> list[dict[str, Any]]:
    """The messages an answer's `context` holds (none when it is absent or empty).

    Raises:
        InvalidRequest: it is not a context an answer of this gateway gave.
    """
    if context is None or context == []:
        return []
    wrong = InvalidRequest(
        "context: not a context this gateway answered with; send the `context` of its last "
        "answer as it came, or none to start afresh",
        param="context",
    )
    if not isinstance(context, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 256 for n in context
    ):
        raise wrong
    try:
        turns = jsonio.loads(bytes(context))
    except ValueError:
        raise wrong from None
    if not isinstance(turns, list) or not all(
        isinstance(t, list) and len(t) == 2 and t[0] in _CONTEXT_ROLES and isinstance(t[1], str)
        for t in turns
    ):
        raise wrong
    return [{"role": role, "content": text} for role, text in turns]


def generate_context(sent: dict[str, Any], answered: str) -> list[int]:
    """The `context` of a generate's answer: the conversation `sent` held (its text) and the
    text `answered`, to go on from in the next request."""
    turns = [
        [m["role"], _text_of(m.get("content"))]
        for m in sent.get("messages") or []
        if m.get("role") in _CONTEXT_ROLES
    ]
    turns.append(["assistant", answered])
    return list(jsonio.dumps(turns))


def _text_of(content: Any) -> str:
    """A message's text, its images left out."""
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return str(content or "")


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
    answer: dict[str, Any], sent: dict[str, Any], *, generate: bool, elapsed_ns: int
) -> dict[str, Any]:
    """An OpenAI Chat answer (whole) to the request `sent` in Ollama's shape."""
    choice = (answer.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = answer.get("usage") or {}
    text = str(message.get("content") or "")
    line = _line(str(sent.get("model")), generate, text, message.get("tool_calls"))
    # The whole answer came at once: all its time is eval time (no first token was seen).
    line = _done(line, choice.get("finish_reason"), usage, _Times(elapsed_ns, 0, elapsed_ns))
    if generate:
        line["context"] = generate_context(sent, text)
    return line


async def ollama_lines(
    chunks: AsyncIterator[bytes], sent: dict[str, Any], *, generate: bool, started_ns: int
) -> AsyncIterator[bytes]:
    """An OpenAI Chat stream's bytes (the answer to `sent`, asked at `started_ns` of
    `time.perf_counter_ns`) as Ollama's newline-delimited JSON: a line per piece of text, the
    tool calls, counts and times on the last line (`done: true`, and a generate's `context`);
    an error event as Ollama's `{"error": ...}` line. `chunks` are closed when these are."""
    model = str(sent.get("model"))
    parser = SseParser()
    seen = _Seen(started_ns)
    try:
        async for chunk in chunks:
            for _, data in parser.feed(chunk):
                if data == "[DONE]":
                    yield _json(seen.last_line(sent, generate))
                    # Read to the stream's end, as the chat door does: closed here, before its
                    # end, the stream counted as cut and the response cache never kept it.
                    async for _ in chunks:
                        pass
                    return
                event = jsonio.loads(data)
                if "error" in event:
                    error = event["error"]
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    yield _json({"error": message})
                    return
                for text in seen.take(event):
                    yield _json(_line(model, generate, text, None))
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


@dataclass
class _Seen:
    """What a stream has said so far, for its last line."""

    started_ns: int  # when it was asked (`time.perf_counter_ns`)
    first_ns: int | None = None  # when the first piece of the answer came
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)

    def take(self, event: dict[str, Any]) -> list[str]:
        """Note one stream event; the pieces of text it adds."""
        self.usage = event.get("usage") or self.usage
        texts = []
        for choice in event.get("choices") or []:
            self.finish = choice.get("finish_reason") or self.finish
            delta = choice.get("delta") or {}
            _gather(self.calls, delta.get("tool_calls"))
            if self.first_ns is None and (delta.get("content") or delta.get("tool_calls")):
                self.first_ns = time.perf_counter_ns()
            if delta.get("content"):
                texts.append(delta["content"])
        self.said += texts
        return texts

    def last_line(self, sent: dict[str, Any], generate: bool) -> dict[str, Any]:
        """The `done` line: tool calls, counts and times (prompt time until the first piece,
        eval time after it), and a generate's `context`."""
        now = time.perf_counter_ns()
        first = now if self.first_ns is None else self.first_ns
        times = _Times(now - self.started_ns, first - self.started_ns, now - first)
        model = str(sent.get("model"))
        line = _done(_line(model, generate, "", _calls(self.calls)), self.finish, self.usage, times)
        if generate:
            line["context"] = generate_context(sent, "".join(self.said))
        return line


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


class _Times(NamedTuple):
    """An answer's times in nanoseconds, as Ollama's last line reports them."""

    total: int
    prompt_eval: int  # until the first piece of the answer
    eval: int  # the rest


def _done(
    line: dict[str, Any], finish: str | None, usage: dict[str, Any], times: _Times
) -> dict[str, Any]:
    line["done"] = True
    line["done_reason"] = _DONE_REASONS.get(finish or "stop", "stop")
    line["total_duration"] = times.total
    line["load_duration"] = 0  # the gateway loads no model
    line["prompt_eval_count"] = int(usage.get("prompt_tokens") or 0)
    line["prompt_eval_duration"] = times.prompt_eval
    line["eval_count"] = int(usage.get("completion_tokens") or 0)
    line["eval_duration"] = times.eval
    return line


def _json(data: dict[str, Any]) -> bytes:
    return jsonio.dumps(data) + b"\n"
