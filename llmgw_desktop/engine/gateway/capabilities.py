"""What a provider's models accept, where translation needs to know it.

Only one question is asked today: does the model take reasoning settings (a thinking budget, a
reasoning effort)? Sending them to a model that does not reason is a 400 at OpenAI and xAI, so
a translated request carries them only where the table says yes, and says so in a notice where
it left them out. Same-dialect requests are forwarded as sent and never consult this table.
"""

from __future__ import annotations

import fnmatch
import functools

from llmgw_desktop.engine.gateway.translation import TargetModel

__all__ = ["accepts_reasoning", "target_model"]

# Per provider id: patterns of models that reason, and exceptions among them.
_REASONING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anthropic": (
        ("claude-*",),
        ("claude-3-5-*", "claude-3-opus*", "claude-3-sonnet*", "claude-3-haiku*", "claude-2*"),
    ),
    "openai": (("o1*", "o3*", "o4*", "gpt-5*", "codex-*", "gpt-oss*"), ("gpt-5*-chat*",)),
    "google": (("gemini-2.5*", "gemini-3*", "gemini-*-thinking*", "gemini-flash*latest"), ()),
    "groq": (("openai/gpt-oss*", "qwen/qwen3*", "*deepseek-r1*"), ()),
    "xai": (("grok-3-mini*",), ()),
    "mistral": (("magistral*",), ()),
    # OpenRouter takes reasoning settings for every model and maps or ignores them.
    "openrouter": (("*",), ()),
}


# Asked for every translated request (twice under a hard budget), of a few models: the
# answer is the table's, so it is remembered (a dozen pattern matches otherwise).
@functools.lru_cache(maxsize=1024)
def accepts_reasoning(provider: str, model: str) -> bool:
    """Whether `model` of `provider` takes reasoning settings (unknown providers: no)."""
    patterns, exceptions = _REASONING.get(provider, ((), ()))
    lowered = model.lower()
    if any(fnmatch.fnmatchcase(lowered, p) for p in exceptions):
        return False
    return any(fnmatch.fnmatchcase(lowered, p) for p in patterns)


def target_model(
    provider: str, model: str, dialect: str, *, like: tuple[str, str] | None = None
) -> TargetModel:
    """The translation target for one attempt; `like` is (provider, model) whose table
    entry speaks for it (a cloud's model is its vendor's: `azure/prod` is OpenAI's gpt-4o)."""
    family, underlying = like or (provider, model)
    return TargetModel(provider, model, dialect, reasoning=accepts_reasoning(family, underlying))
