"""The providers the gateway knows, with the facts a user sees (name, binary, how to install)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROVIDERS", "PROVIDER_IDS", "ProviderInfo", "provider_info"]


@dataclass(frozen=True)
class ProviderInfo:
    """What the gateway knows about one provider before it ever runs it."""

    id: str
    display_name: str
    binaries: tuple[str, ...]  # looked for in this order
    package: str  # the package that installs the CLI
    installer: str  # "npm" or "pip"
    supports_sessions: bool = True  # whether the CLI can continue a conversation
    # Whether every finished turn reports what it cost from the CLI's own prices (so it is
    # priced whatever its model; `tokens/pricing.CostBasis`). Not Vibe (its session cost
    # is not always written) nor OpenCode (a model its price list lacks reports a cost of 0).
    reports_cost: bool = False

    @property
    def install_command(self) -> str:
        if self.installer == "npm":
            return f"npm install -g {self.package}"
        return f"pip install {self.package}"

    @property
    def upgrade_argv(self) -> tuple[str, ...]:
        if self.installer == "npm":
            return ("npm", "install", "-g", f"{self.package}@latest")
        return ("pip", "install", "--upgrade", self.package)


PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        "claude", "Claude Code", ("claude",), "@anthropic-ai/claude-code", "npm", reports_cost=True
    ),
    ProviderInfo("codex", "Codex", ("codex",), "@openai/codex", "npm"),
    ProviderInfo("gemini", "Gemini", ("gemini", "agy"), "@google/gemini-cli", "npm"),
    ProviderInfo("grok", "Grok", ("grok",), "@vibe-kit/grok-cli", "npm", supports_sessions=False),
    ProviderInfo("mistral", "Mistral Vibe", ("vibe",), "mistral-vibe", "pip"),
    ProviderInfo("copilot", "GitHub Copilot", ("copilot",), "@github/copilot", "npm"),
    ProviderInfo("opencode", "OpenCode", ("opencode",), "opencode-ai", "npm"),
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
