"""What a request becomes when it crosses dialects: the target it is rendered for, what had to
be left out (said in `x-gateway-notice`), and what cannot be carried at all (a 400 naming it).

Same-dialect requests never come here: they are forwarded as the client sent them
(`passthrough.py`). Everything in this module is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest

__all__ = [
    "DIALECT_NAMES",
    "MAX_WRITTEN_DEPTH",
    "TargetModel",
    "Untranslatable",
    "encode_request",
    "left_out_fields",
    "notice_for",
]

# How each dialect is named to a person reading an error or a notice.
DIALECT_NAMES = {
    "openai-chat": "OpenAI Chat Completions",
    "openai-responses": "OpenAI Responses",
    "anthropic": "Anthropic Messages",
    "gemini": "Gemini generateContent",
}
# At most this many left-out features are named in one notice (the header must stay short).
MAX_NAMED = 12
# Levels of nesting orjson writes. It reads up to 1024, so a client's body can parse and still
# be impossible to write again (its encoder raises a TypeError, which would be a 500).
MAX_WRITTEN_DEPTH = 254


@dataclass(frozen=True)
class TargetModel:
    """The model a translated request is rendered for, and what it accepts."""

    provider: str
    model: str
    dialect: str
    # Whether the model takes reasoning settings (thinking budgets, reasoning effort).
    reasoning: bool = True

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    def describe(self) -> str:
        return f"{self.label} ({DIALECT_NAMES.get(self.dialect, self.dialect)})"


class Untranslatable(InvalidRequest):
    """The request uses something the target dialect has no equivalent for.

    Raised while parsing (the feature exists in no other dialect, e.g. `previous_response_id`)
    or while rendering for one target (e.g. a document URL for an API that takes only inline
    files). `for_target` names the model in the message the client sees.
    """

    code = ErrorCode.UNTRANSLATABLE

    def __init__(self, feature: str, why: str, *, param: str | None = None) -> None:
        super().__init__(f"{feature}: {why}", param=param)
        self.feature = feature
        self.why = why

    def for_target(self, target: TargetModel, client_dialect: str) -> Untranslatable:
        """The same refusal, saying which model could not take it and how to get through."""
        error = Untranslatable(self.feature, self.why, param=self.details.get("param"))
        error.message = (
            f"{self.feature} cannot be carried from an "
            f"{DIALECT_NAMES.get(client_dialect, client_dialect)} request to "
            f"{target.describe()}: {self.why}. Send it to a model whose provider speaks "
            f"{DIALECT_NAMES.get(client_dialect, client_dialect)}, or leave it out"
        )
        return error


def left_out_fields(
    body: Mapping[str, Any], handled: Iterable[str], reasons: Mapping[str, str]
) -> list[str]:
    """Top-level fields of `body` the translation does not carry, each as a notice phrase.

    `handled` are the fields the parser maps; `reasons` gives known fields a short reason.
    Fields no one knows (clients add some every month) are named as such, never dropped
    silently. A field set to null, false or empty says nothing and is not named.
    """
    handled = set(handled)
    out = []
    for key, value in body.items():
        if key in handled or value is None or value is False or value in ({}, [], ""):
            continue
        reason = reasons.get(key)
        out.append(f"{key} ({reason})" if reason else key)
    return out


def encode_request(body: Mapping[str, Any]) -> bytes:
    """A request body for an upstream (rewritten or translated from the client's) as JSON.

    Raises:
        InvalidRequest: the client nested it deeper than can be written again.
    """
    try:
        return jsonio.dumps(body)
    except TypeError as exc:
        if "Recursion limit" not in str(exc):
            raise
        raise InvalidRequest(
            f"the request body is nested too deeply to be sent on (at most {MAX_WRITTEN_DEPTH} "
            "levels of objects and arrays)"
        ) from None


def notice_for(target: TargetModel, left_out: Iterable[str]) -> str | None:
    """The `x-gateway-notice` text for what a translation to `target` left out."""
    names = list(dict.fromkeys(left_out))
    if not names:
        return None
    shown = names[:MAX_NAMED]
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return f"left out for {target.label}: {', '.join(shown)}{more}"
