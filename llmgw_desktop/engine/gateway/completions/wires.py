"""Each provider's completion API on the wire: what it is sent, and its answer read whole or
piece by piece.

- `openai` (OpenAI-compatible servers taking `suffix`: vLLM, llama.cpp, LM Studio, DeepSeek's
  beta API at `https://api.deepseek.com/beta`, OpenAI's own instruct models): `POST
  {base}/completions`; answers `choices[].text`, streams the same in SSE ending `[DONE]`.
- `mistral` (Codestral): `POST {base}/fim/completions`; answers and streams in the Chat
  Completions shape (`message.content`, `delta.content`).
- `ollama`: `POST {root}/api/generate` with `suffix`, `options.num_predict`; answers
  `response`, streams it as newline-delimited JSON ending with `done: true`.

`fim_wire` chooses one for a provider, or says why that target cannot complete (Anthropic,
Gemini and the clouds have no completion endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT, ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.completions.request import FIM_OPENAI, FimRequest
from llmgw_desktop.engine.gateway.embeddings.wires import is_ollama, ollama_root
from llmgw_desktop.engine.gateway.same_dialect.passthrough import GATEWAY_FIELDS
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["FimPiece", "FimWire", "fim_wire"]


@dataclass(frozen=True)
class FimPiece:
    """Text the model wrote (all of it, or the next piece of a stream), and at the end why it
    stopped and what the call used (None where the upstream did not say)."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    done: bool = False  # the stream's last piece ([DONE], Ollama's `done: true`)


@dataclass(frozen=True)
class FimWire:
    """One completion API (the list above)."""

    name: str

    @property
    def lines(self) -> bool:
        """Streams newline-delimited JSON (Ollama), not server-sent events."""
        return self.name == "ollama"

    def url(self, base_url: str) -> str:
        base = base_url.rstrip("/")
        if self.name == "ollama":
            return ollama_root(base) + "/api/generate"
        if self.name == "mistral":
            return base + "/fim/completions"
        return base + "/completions"

    def carries_answers(self, request: FimRequest) -> bool:
        """Whether the client's own body is sent on, with the answers it asks for (`n`,
        `best_of`); the other wires are sent the fields the gateway reads, for one answer."""
        return self.name == "openai" and request.front == FIM_OPENAI

    def body(self, request: FimRequest, model: str, limit: int | None) -> bytes:
        """What the upstream is sent (`limit`: the output limit a hard budget holds, each
        answer's)."""
        if self.name == "ollama":
            return jsonio.dumps(_ollama_body(request, model, limit))
        if self.carries_answers(request):
            # The client's own body: fields the gateway does not know go along.
            body = {k: v for k, v in request.body.items() if k not in GATEWAY_FIELDS}
            body["model"] = model
        else:
            body = _openai_body(request, model)
        if request.stream:
            body["stream"] = True
            if self.name == "openai":
                body["stream_options"] = {"include_usage": True}  # the recorder counts it
        if limit is not None:
            body["max_tokens"] = limit
        return jsonio.dumps(body)

    def whole(self, data: Any) -> FimPiece:
        """A whole answer.

        Raises:
            KeyError, TypeError, ValueError, IndexError: not of this wire's shape.
        """
        if self.name == "ollama":
            return _ollama_piece(data)
        choice = data["choices"][0]
        text = choice["message"]["content"] if self.name == "mistral" else choice["text"]
        return FimPiece(
            str(text or ""), choice.get("finish_reason"), _openai_usage(data), done=True
        )

    def event(self, data: str) -> FimPiece | None:
        """One event of a stream (an SSE event's data, or a line of Ollama's); None for one
        that carries nothing.

        Raises:
            ValueError, KeyError, TypeError, IndexError: not of this wire's shape.
        """
        if data == "[DONE]":
            return FimPiece("", done=True)
        parsed = jsonio.loads(data)
        if self.name == "ollama":
            return _ollama_piece(parsed)
        if "error" in parsed:
            raise ValueError(f"the stream reported an error: {parsed['error']}")
        usage = _openai_usage(parsed)
        choices = parsed.get("choices") or []
        if not choices:
            return FimPiece("", usage=usage) if usage is not None else None
        choice = choices[0]
        if self.name == "mistral":
            text = (choice.get("delta") or {}).get("content") or ""
        else:
            text = choice.get("text") or ""
        return FimPiece(str(text), choice.get("finish_reason"), usage)


def fim_wire(spec: ApiProviderSpec, model: str) -> FimWire | str:
    """The completion API of `model` at `spec`, or why that target cannot complete."""
    label = f"{spec.id}/{model}"
    if spec.cloud or spec.dialect != DIALECT_OPENAI_CHAT:
        return (
            f"{label} does not take text completions (`prompt`, `suffix`); fill-in-the-middle "
            "is served by Codestral (mistral/codestral-latest), DeepSeek's beta completions, "
            "Ollama and OpenAI-compatible servers"
        )
    if is_ollama(spec):
        return FimWire("ollama")
    if spec.id == "mistral" or "api.mistral.ai" in spec.base_url:
        return FimWire("mistral")
    return FimWire("openai")


def _openai_body(request: FimRequest, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": request.prompt}
    if request.suffix is not None:
        body["suffix"] = request.suffix
    for name, value in (
        ("max_tokens", request.max_tokens),
        ("temperature", request.temperature),
        ("top_p", request.top_p),
    ):
        if value is not None:
            body[name] = value
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def _ollama_body(request: FimRequest, model: str, limit: int | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.front == "ollama" and isinstance(request.body.get("options"), dict):
        options.update(request.body["options"])  # an Ollama client's own options go along
    for name, value in (
        ("num_predict", limit if limit is not None else request.max_tokens),
        ("temperature", request.temperature),
        ("top_p", request.top_p),
    ):
        if value is not None:
            options[name] = value
    if request.stop:
        options["stop"] = list(request.stop)
    body: dict[str, Any] = {"model": model, "prompt": request.prompt, "stream": request.stream}
    if request.suffix is not None:
        body["suffix"] = request.suffix
    if options:
        body["options"] = options
    for name in ("raw", "keep_alive", "system", "template"):
        if request.front == "ollama" and name in request.body:
            body[name] = request.body[name]
    return body


def _openai_usage(data: dict[str, Any]) -> Usage | None:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
    )


def _ollama_piece(data: dict[str, Any]) -> FimPiece:
    if "error" in data:
        raise ValueError(f"the stream reported an error: {data['error']}")
    done = data.get("done") is True
    usage = None
    if done:
        usage = Usage(
            input_tokens=int(data.get("prompt_eval_count") or 0),
            output_tokens=int(data.get("eval_count") or 0),
        )
    reason = data.get("done_reason") if done else None
    return FimPiece(str(data.get("response") or ""), reason, usage, done=done)
