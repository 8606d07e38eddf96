"""One adapter per CLI provider, looked up by provider id."""

from __future__ import annotations

from llmgw_desktop.config.cli_catalog import PROVIDER_IDS, PROVIDERS
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest
from llmgw_desktop.engine.providers.acp.adapter import AcpAdapter
from llmgw_desktop.engine.providers.base import CliAdapter
from llmgw_desktop.engine.providers.cli.claude import ClaudeAdapter
from llmgw_desktop.engine.providers.cli.codex import CodexAdapter
from llmgw_desktop.engine.providers.cli.copilot import CopilotAdapter
from llmgw_desktop.engine.providers.cli.gemini import GeminiAdapter
from llmgw_desktop.engine.providers.cli.grok import GrokAdapter
from llmgw_desktop.engine.providers.cli.mistral import MistralAdapter
from llmgw_desktop.engine.providers.cli.opencode import OpenCodeAdapter

__all__ = ["adapter_for"]

# Adapters hold no state (each run gets its own parser), so one instance each is shared.
_ADAPTERS: dict[str, CliAdapter] = {
    "claude": ClaudeAdapter(),
    "codex": CodexAdapter(),
    "gemini": GeminiAdapter(),
    "grok": GrokAdapter(),
    "mistral": MistralAdapter(),
    "copilot": CopilotAdapter(),
    "opencode": OpenCodeAdapter(),
    # Every ACP agent of the catalog shares one adapter class (`providers/acp/`).
    **{p.id: AcpAdapter(p) for p in PROVIDERS if p.speaks_acp},
}
assert set(_ADAPTERS) == set(PROVIDER_IDS), "every catalog provider needs an adapter"


def adapter_for(provider: str) -> CliAdapter:
    """The adapter for `provider`.

    Raises:
        InvalidRequest: no such provider.
    """
    try:
        return _ADAPTERS[provider]
    except KeyError:
        raise InvalidRequest(
            f"unknown provider {provider!r}; known: {', '.join(PROVIDER_IDS)}",
            code=ErrorCode.UNKNOWN_PROVIDER,
        ) from None
