"""The names a person reads for providers, wherever the desk shows one.

The recorder, the metrics and the spend name a provider by its switch id (`claude`,
`mistral-api`); the engine's switches carry the name the tray, the Providers page and the
health table show (`Claude Code`, `Mistral API`). Every other table, legend and line reads
its names here, from the same switches, so one provider never goes by two names.

A request the gateway refused or denied never reached its provider: its row says so
(`Mistral API · not asked`). One refused before any route was chosen (a budget, a bad body)
is recorded with provider `-`; its model still says what was asked, and when the model names
its provider (`mistral/mistral-large-latest`) that provider is shown, not asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from llmgw_desktop.engine.api import Engine, RecordState

__all__ = ["NOT_ASKED", "NOT_ROUTED", "ProviderNames"]

NOT_ASKED = "never sent"  # refused before its provider was asked
NOT_ROUTED = "-"  # the provider of a row refused before any route was chosen
# States of a request the gateway said no to before any provider was asked.
_REFUSED = frozenset({RecordState.REFUSED.value, RecordState.DENIED.value})


@dataclass(frozen=True)
class ProviderNames:
    """Display names by switch id, read once from the engine's switches (a plain mapping, so
    it can format rows on the DB thread too)."""

    by_id: Mapping[str, str] = field(default_factory=dict)
    # How the HTTP gateway names each provider (`openai`, `mistral`, `claude-cli`) -> switch id.
    by_gateway_id: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, engine: Engine) -> ProviderNames:
        """The names of every provider the engine has a switch for, as they stand now."""
        states = engine.providers.states()
        return cls(
            by_id={state.id: state.display_name for state in states},
            by_gateway_id={state.gateway_id: state.id for state in states if state.gateway_id},
        )

    def name(self, provider: str) -> str:
        """`Mistral API` for `mistral-api`; `not asked` for the provider of a request refused
        before a route was chosen; an id no switch has (a removed server) as it is."""
        if provider in ("", NOT_ROUTED):
            return NOT_ASKED
        return self.by_id.get(provider, provider)

    def ids_named(self, text: str) -> str:
        """The switch id whose name is `text` (a filter box shows names), else `text`."""
        for pid, name in self.by_id.items():
            if name == text:
                return pid
        return text

    def asked_in(self, model: str | None) -> str | None:
        """The switch id of the provider a model names by its prefix (`openai/gpt-4o`)."""
        if not model or "/" not in model:
            return None
        return self.by_gateway_id.get(model.split("/", 1)[0])

    def row_text(self, provider: str, state: str, model: str | None) -> str:
        """A recorder row's provider as the table shows it: its name, marked `not asked` when
        the gateway refused the request before asking it."""
        if provider in ("", NOT_ROUTED):
            asked = self.asked_in(model)
            return f"{self.name(asked)} · {NOT_ASKED}" if asked else NOT_ASKED
        name = self.name(provider)
        return f"{name} · {NOT_ASKED}" if state in _REFUSED else name
