"""The output limit a hard budget paid for, written into the request an upstream is sent.

Under a hard budget a call is held at what it may cost (`budgets/holds.py`). A call naming no
output limit would get the vendor's default, which is the model's maximum; a call whose limit
the budget has no room for is given a lower one. Either way the upstream is sent the limit
that was held, in its dialect's spelling, so it can never produce more than was paid for:

- OpenAI Chat: the provider's own name (`ApiProviderSpec.chat_output_limit`:
  `max_completion_tokens` for OpenAI and Azure, `max_tokens` for compatible servers); a member
  the client sent keeps its name;
- OpenAI Responses: `max_output_tokens`;
- Anthropic Messages: `max_tokens`, and a thinking budget lowered below it where it would not
  fit (Anthropic requires `budget_tokens` < `max_tokens`, and at least 1,024);
- Gemini: `generationConfig.maxOutputTokens` (in the client's own spelling of either key);
- Bedrock's Converse: `inferenceConfig.maxTokens`, and Claude's thinking budget
  (`additionalModelRequestFields.thinking.budget_tokens`) lowered below it as Anthropic's is.

The limit is per answer: a call asking for several answers (`n`, `candidateCount`) was held
for all of them. The answer says the limit in `x-gateway-max-tokens` (`report.py`).
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_BEDROCK_CONVERSE,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)

__all__ = ["limit_changes"]

# Anthropic's smallest thinking budget.
_MIN_THINKING = 1024


def limit_changes(
    dialect: str, body: dict[str, Any], per_answer: int, *, chat_limit: str
) -> dict[str, Any]:
    """The top-level members to set on `body` (a request in `dialect`, to a provider whose
    OpenAI Chat limit is named `chat_limit`) so each answer has at most `per_answer` output
    tokens."""
    if dialect == DIALECT_ANTHROPIC:
        changes: dict[str, Any] = {"max_tokens": per_answer}
        thinking = _thinking_within(body.get("thinking"), per_answer)
        if thinking is not None:
            changes["thinking"] = thinking
        return changes
    if dialect == DIALECT_BEDROCK_CONVERSE:
        found = body.get("inferenceConfig")
        inference = dict(found) if isinstance(found, dict) else {}
        changes = {"inferenceConfig": {**inference, "maxTokens": per_answer}}
        extra = body.get("additionalModelRequestFields")
        if isinstance(extra, dict):
            thinking = _thinking_within(extra.get("thinking"), per_answer)
            if thinking is not None:
                changes["additionalModelRequestFields"] = {**extra, "thinking": thinking}
        return changes
    if dialect == DIALECT_OPENAI_RESPONSES:
        return {"max_output_tokens": per_answer}
    if dialect == DIALECT_OPENAI_CHAT:
        named: list[str] = [n for n in ("max_completion_tokens", "max_tokens") if n in body]
        return dict.fromkeys(named or [chat_limit], per_answer)
    if dialect == DIALECT_GEMINI:
        # Every spelling the client sent is set: one left higher could be the one read.
        keys = [k for k in ("generationConfig", "generation_config") if k in body]
        out: dict[str, Any] = {}
        for key in keys or ["generationConfig"]:
            found = body.get(key)
            config = dict(found) if isinstance(found, dict) else {}
            names = [n for n in ("maxOutputTokens", "max_output_tokens") if n in config]
            config.update(dict.fromkeys(names or ["maxOutputTokens"], per_answer))
            out[key] = config
        return out
    return {}


def _thinking_within(thinking: Any, per_answer: int) -> dict[str, Any] | None:
    """Claude's `thinking` with its budget lowered below `per_answer` where it would not fit
    (Anthropic requires `budget_tokens` < `max_tokens`, at least 1,024); None: left as it is."""
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and budget >= per_answer and per_answer - 1 >= _MIN_THINKING:
        return {**thinking, "budget_tokens": per_answer - 1}
    return None
