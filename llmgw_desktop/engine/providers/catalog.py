"""The providers the gateway knows, with the facts a user sees (name, binary, how to install)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROVIDERS", "PROVIDER_IDS", "ProviderInfo", "provider_info"]


@dataclass(frozen=True)
class ProviderInfo:
    """What the gateway knows about one provider before it ever runs it."""

    id: str
    display_name: str
    binaries: tuple[str, ...]
    install_command: str


PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo("claude", "Claude Code", ("claude",), "npm install -g @anthropic-ai/claude-code"),
    ProviderInfo("codex", "Codex", ("codex",), "npm install -g @openai/codex"),
    ProviderInfo("gemini", "Gemini", ("gemini", "agy"), "npm install -g @google/gemini-cli"),
    ProviderInfo("grok", "Grok", ("grok",), "npm install -g @vibe-kit/grok-cli"),
    ProviderInfo("mistral", "Mistral Vibe", ("vibe",), "pip install mistral-vibe"),
    ProviderInfo("copilot", "GitHub Copilot", ("copilot",), "npm install -g @github/copilot"),
    ProviderInfo("opencode", "OpenCode", ("opencode",), "npm install -g opencode-ai"),
)

PROVIDER_IDS: tuple[str, ...] = tuple(p.id for p in PROVIDERS)


def provider_info(provider_id: str) -> ProviderInfo:
    """The catalog entry for `provider_id`.

    Raises:
        KeyError: the id is not a known provider.
    """
    for info in PROVIDERS:
        if info.id == provider_id:
            return info
    raise KeyError(provider_id)
