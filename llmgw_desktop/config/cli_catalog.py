"""The providers the gateway knows, with the facts a user sees (name, binary, how to install).

Seven are CLIs with an adapter of their own (`engine/providers/cli/`); the rest speak the Agent
Client Protocol (`acp_args` set) and share one adapter (`engine/providers/acp/`). A
`[providers.acp.NAME]` table in config.toml changes how one of those is started, or adds another:
the engine's catalog of a run is `provider_catalog.ProviderCatalog`, built from these and the
settings; what is here is only what the gateway ships.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACP_PROVIDER_IDS",
    "PROVIDERS",
    "PROVIDER_IDS",
    "STOP_STEPS",
    "STOP_TOLD",
    "ProviderInfo",
    "provider_info",
]

# How a job of a CLI is held to what a hard budget held for it (`ProviderInfo.budget_stop`):
# it is told the dollars and stops itself (Claude Code's `--max-budget-usd`, SECURITY 64), or it
# prints each step's cost as it runs and the gateway stops it (OpenCode, SECURITY 69).
STOP_TOLD = "told"
STOP_STEPS = "steps"


@dataclass(frozen=True)
class ProviderInfo:
    """What the gateway knows about one provider before it ever runs it."""

    id: str
    display_name: str
    binaries: tuple[str, ...]  # looked for in this order
    package: str  # the package that installs the CLI
    installer: str  # "npm", "pip" or "script" (`package` is then the vendor's command)
    supports_sessions: bool = True  # whether the CLI can continue a conversation
    # Whether every finished turn reports what it cost from the CLI's own prices (so it is
    # priced whatever its model; `tokens/pricing.CostBasis`). Not Vibe (its session cost
    # is not always written) nor OpenCode (a model its price list lacks, or a project's
    # `opencode.json` prices so, reports a cost of 0; under a hard budget the gateway counts its
    # steps at no less than its own price, SECURITY 73).
    reports_cost: bool = False
    # The price table's name prefix of the models the CLI runs: a call naming none it prices
    # (the CLI's default, an alias such as `opus`) is held against a hard budget at the dearest
    # of them (`PriceBook.dearest`), never at nothing.
    model_family: str = ""
    # How a job of it is stopped at its hold under a hard budget (`STOP_TOLD`, `STOP_STEPS`);
    # empty where it cannot be: it says what a run cost only when the run ends (Codex, Gemini
    # CLI, every ACP agent at the end of its turn), or never (grok, Copilot, Mistral Vibe), so a
    # prompted model can keep it calling tools well past its hold. Such a job runs under a hard
    # budget only where the operator accepts it (`providers.unmetered_clis`), or where its
    # model calls come back through the gateway, each held on its own (an ACP agent fronted for
    # an editor, `providers/acp/gateway_env.py`); `calls/cli_spend.unmetered` decides.
    budget_stop: str = ""
    # An ACP agent: started as `binary *acp_args` and spoken to over JSON-RPC on stdio. None
    # for the seven CLIs that have an adapter of their own.
    acp_args: tuple[str, ...] | None = None
    # Where its vendor's installer puts the binary when that is not on PATH, searched last.
    home_dirs: tuple[str, ...] = ()
    # A CLI that updates itself (its vendor's script install has no package manager): the
    # arguments to its own binary that install the newest release.
    self_update: tuple[str, ...] = ()

    @property
    def speaks_acp(self) -> bool:
        """Whether the gateway runs this provider over the Agent Client Protocol."""
        return self.acp_args is not None

    @property
    def install_command(self) -> str:
        if self.installer == "npm":
            return f"npm install -g {self.package}"
        if self.installer == "pip":
            return f"pip install {self.package}"
        if self.installer == "script":
            return self.package  # the vendor's own install command
        # An agent `[providers.acp.NAME]` added: the gateway knows no package for it.
        return f"put {self.binaries[0]} on PATH, or name its path in [providers.acp.{self.id}]"

    @property
    def upgrade_argv(self) -> tuple[str, ...]:
        """The package manager's command that upgrades it; empty where none is known."""
        if self.installer == "npm":
            return ("npm", "install", "-g", f"{self.package}@latest")
        if self.installer == "pip":
            return ("pip", "install", "--upgrade", self.package)
        if self.self_update:
            return (self.binaries[0], *self.self_update)
        return ()


PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        "claude",
        "Claude Code",
        ("claude",),
        "@anthropic-ai/claude-code",
        "npm",
        reports_cost=True,
        model_family="claude-",
        budget_stop=STOP_TOLD,
    ),
    ProviderInfo("codex", "Codex", ("codex",), "@openai/codex", "npm"),
    ProviderInfo("gemini", "Gemini", ("gemini", "agy"), "@google/gemini-cli", "npm"),
    # xAI's Grok CLI, a native binary its vendor's script installs into ~/.grok/bin (the
    # registry's `grok-cli-bin` wheel carries the same binary inside, for SDKs and CI).
    ProviderInfo(
        "grok",
        "Grok",
        ("grok",),
        "curl -fsSL https://x.ai/cli/install.sh | bash",
        "script",
        home_dirs=("~/.grok/bin",),
        self_update=("update",),  # `grok update`: its own updater, stable channel
    ),
    ProviderInfo("mistral", "Mistral Vibe", ("vibe",), "mistral-vibe", "pip"),
    ProviderInfo("copilot", "GitHub Copilot", ("copilot",), "@github/copilot", "npm"),
    ProviderInfo(
        "opencode", "OpenCode", ("opencode",), "opencode-ai", "npm", budget_stop=STOP_STEPS
    ),
    # The ACP agents (docs/ACP.md). Gemini CLI and OpenCode speak ACP themselves; Claude Code
    # and Codex through Zed's adapters.
    ProviderInfo(
        "qwen", "Qwen Code", ("qwen",), "@qwen-code/qwen-code", "npm", acp_args=("--acp",)
    ),
    ProviderInfo(
        "gemini-acp", "Gemini (ACP)", ("gemini",), "@google/gemini-cli", "npm", acp_args=("--acp",)
    ),
    ProviderInfo(
        "opencode-acp", "OpenCode (ACP)", ("opencode",), "opencode-ai", "npm", acp_args=("acp",)
    ),
    ProviderInfo(
        "claude-acp",
        "Claude (ACP)",
        ("claude-agent-acp",),
        "@zed-industries/claude-agent-acp",
        "npm",
        acp_args=(),
    ),
    ProviderInfo(
        "codex-acp", "Codex (ACP)", ("codex-acp",), "@zed-industries/codex-acp", "npm", acp_args=()
    ),
)

PROVIDER_IDS: tuple[str, ...] = tuple(p.id for p in PROVIDERS)
ACP_PROVIDER_IDS: tuple[str, ...] = tuple(p.id for p in PROVIDERS if p.speaks_acp)


def provider_info(provider_id: str) -> ProviderInfo:
    """The catalog entry for `provider_id`.

    Raises:
        KeyError: the id is not a known provider.
    """
    for info in PROVIDERS:
        if info.id == provider_id:
            return info
    raise KeyError(provider_id)
