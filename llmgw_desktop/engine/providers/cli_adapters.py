"""One adapter per CLI provider, looked up by provider id in the engine's catalog."""

from __future__ import annotations

from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
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

# The seven CLIs' adapters hold no state (each run gets its own parser): one instance each.
_ADAPTERS: dict[str, CliAdapter] = {
    "claude": ClaudeAdapter(),
    "codex": CodexAdapter(),
    "gemini": GeminiAdapter(),
    "grok": GrokAdapter(),
    "mistral": MistralAdapter(),
    "copilot": CopilotAdapter(),
    "opencode": OpenCodeAdapter(),
}
assert set(_ADAPTERS) | set(SHIPPED_CATALOG.acp_ids) == set(SHIPPED_CATALOG.ids), (
    "every shipped provider needs an adapter"
)


def adapter_for(provider: str, catalog: ProviderCatalog = SHIPPED_CATALOG) -> CliAdapter:
    """The adapter for `provider`: one of the seven CLIs', or the ACP adapter over the entry
    `catalog` (the engine's, the operator's agents included) has for it.

    Raises:
        InvalidRequest: no such provider.
    """
    adapter = _ADAPTERS.get(provider)
    if adapter is not None:
        return adapter
    if provider in catalog:
        # Cheap to make: an ACP adapter only holds the catalog's entry.
        return AcpAdapter(catalog.info(provider))
    raise InvalidRequest(
        f"unknown provider {provider!r}; known: {', '.join(catalog.ids)}",
        code=ErrorCode.UNKNOWN_PROVIDER,
    )
