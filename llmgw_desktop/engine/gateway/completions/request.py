"""A text completion as the gateway holds it: a prompt, and for fill-in-the-middle the code
after the cursor (`suffix`), as editor autocomplete sends it.

OpenAI's `POST /v1/completions` (`prompt` and `suffix`, or the legacy prompt alone) and
Ollama's `/api/generate` with a `suffix` are read into one `FimRequest`; a field of the wrong
type is refused naming it before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    optional_flag,
    optional_number,
    optional_positive_int,
    optional_str,
)
from llmgw_desktop.engine.gateway.facts import ONE_ANSWER, Answers, answer_count
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN, tokens_at_most

__all__ = ["FIM_OLLAMA", "FIM_OPENAI", "FimRequest", "fim_request"]

# The front doors a completion comes through: OpenAI's `/v1/completions`, Ollama's
# `/api/generate` (answered in each one's own shape).
FIM_OPENAI = "openai"
FIM_OLLAMA = "ollama"


@dataclass(frozen=True)
class FimRequest:
    """What to complete, and how."""

    model: str | None
    prompt: str
    suffix: str | None
    stream: bool
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    # An OpenAI stream's client asked for the usage chunk (`stream_options.include_usage`).
    stream_usage: bool = False
    front: str = FIM_OPENAI
    body: dict[str, Any] = field(default_factory=dict, compare=False)
    # OpenAI's `best_of` (the server writes each and bills each), where the client's body is
    # sent on (`FimWire.carries_answers`).
    answers: Answers = ONE_ANSWER

    @property
    def estimated_tokens(self) -> int:
        """Input tokens as estimated where the vendor reports none (about four bytes a token)."""
        return max(1, self._size // CHARS_PER_TOKEN)

    @property
    def held_input_tokens(self) -> int:
        """The most input tokens it can be billed as: what a hard budget holds."""
        return tokens_at_most(self._size)

    @property
    def _size(self) -> int:
        return len(self.prompt.encode()) + len((self.suffix or "").encode())


def fim_request(front: str, body: dict[str, Any]) -> FimRequest:
    """`body` read as its front door (`FIM_OPENAI`, `FIM_OLLAMA`) sends it.

    Raises:
        InvalidRequest: `prompt` is missing or not text, or another field is of the wrong
            type (named).
    """
    if front == FIM_OLLAMA:
        options = body.get("options")
        options = expect_dict(options, "options") if options is not None else {}
        return FimRequest(
            model=optional_str(body.get("model"), "model"),
            prompt=_prompt(body.get("prompt")),
            suffix=optional_str(body.get("suffix"), "suffix"),
            stream=body.get("stream") is not False,  # Ollama streams unless told not to
            max_tokens=optional_positive_int(options.get("num_predict"), "options.num_predict"),
            temperature=optional_number(options.get("temperature"), "options.temperature"),
            top_p=optional_number(options.get("top_p"), "options.top_p"),
            stop=_stop(options.get("stop"), "options.stop"),
            front=FIM_OLLAMA,
            body=body,
        )
    options = body.get("stream_options")
    stream = optional_flag(body.get("stream"), "stream")
    return FimRequest(
        model=optional_str(body.get("model"), "model"),
        prompt=_prompt(body.get("prompt")),
        suffix=optional_str(body.get("suffix"), "suffix"),
        stream=stream,
        max_tokens=optional_positive_int(body.get("max_tokens"), "max_tokens"),
        temperature=optional_number(body.get("temperature"), "temperature"),
        top_p=optional_number(body.get("top_p"), "top_p"),
        stop=_stop(body.get("stop"), "stop"),
        stream_usage=stream and isinstance(options, dict) and options.get("include_usage") is True,
        front=FIM_OPENAI,
        body=body,
        answers=_answers(body),
    )


def _answers(body: dict[str, Any]) -> Answers:
    """The answers an OpenAI completion has written: `best_of`, of which the best is sent back.

    Raises:
        InvalidRequest: it asks for more than one back (`n`): the gateway answers one.
    """
    if answer_count(body.get("n")) > 1:
        # Each would be held and billed, and one relayed: the wires read `choices[0]`.
        raise InvalidRequest(
            "n: the gateway answers one completion a request; send a request for each",
            param="n",
        )
    return Answers.of(answer_count(body.get("best_of")), "best_of")


def _prompt(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]  # OpenAI's list form, of one prompt
    if isinstance(value, list):
        raise InvalidRequest(
            "prompt: one prompt a request (a string, or a list of one string)", param="prompt"
        )
    if not isinstance(value, str):
        raise InvalidRequest("prompt: required, a string", param="prompt")
    return value


def _stop(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidRequest(f"{path}: expected a string or a list of strings", param=path)
