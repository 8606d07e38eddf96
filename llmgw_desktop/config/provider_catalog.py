"""Every coding CLI and ACP agent this gateway runs: the shipped ones and those config adds.

The shipped catalog (`cli_catalog.PROVIDERS`, the HTTP bridges of `api_catalog.CLI_BRIDGES`)
is fixed; `[providers.acp.NAME]` tables change a shipped ACP agent or add a new one
(`acp_agents.py`), and `providers.unmetered_clis` names those the operator lets run under a
hard budget though they cannot be stopped at their hold. The engine builds one
`ProviderCatalog` from the settings at start and hands it to every part that asks "which CLIs
are there": the call service and its breakers, discovery, the switches, the gateway's routes,
the MCP tools and the desk. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmgw_desktop.config.acp_agents import AcpAgentSpec, acp_spec
from llmgw_desktop.config.api_catalog import CLI_BRIDGES, CliBridgeSpec
from llmgw_desktop.config.cli_catalog import PROVIDERS, ProviderInfo

__all__ = ["SHIPPED_CATALOG", "ProviderCatalog"]


@dataclass(frozen=True)
class ProviderCatalog:
    """The providers the engine runs as CLIs, their HTTP bridges and each ACP agent's spec."""

    providers: tuple[ProviderInfo, ...]
    bridges: tuple[CliBridgeSpec, ...]
    specs: Mapping[str, AcpAgentSpec] = field(default_factory=dict)
    # The CLIs the operator accepts may pass a hard budget by what one run costs: under one
    # their jobs run on their own login, held as one call, where the others' model calls are
    # counted at the gateway or refused (`calls/cli_spend.unmetered`).
    unmetered_accepted: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, acp_table: Mapping[str, Any], unmetered_accepted: Iterable[str] = ()
    ) -> ProviderCatalog:
        """The shipped catalog with `[providers.acp]` applied (assumed checked by
        `acp_agents_problem`): a shipped agent's command and args replaced, a new agent added
        after the shipped ones, with a bridge `NAME-cli`; `unmetered_accepted` is
        `providers.unmetered_clis` (assumed checked by `settings_fields.known_clis`)."""
        shipped = {info.id: info for info in PROVIDERS}
        providers = list(PROVIDERS)
        bridges = list(CLI_BRIDGES)
        specs: dict[str, AcpAgentSpec] = {}
        for name in acp_table:
            spec = acp_spec(acp_table, name)
            specs[name] = spec
            known = shipped.get(name)
            if known is not None:
                changed = dataclasses.replace(
                    known,
                    binaries=(spec.command,) if spec.command else known.binaries,
                    acp_args=spec.args if spec.args is not None else known.acp_args,
                    display_name=spec.name or known.display_name,
                )
                providers[providers.index(known)] = changed
                if spec.models:
                    bridges = [
                        dataclasses.replace(b, models=spec.models)
                        if b.engine_provider == name
                        else b
                        for b in bridges
                    ]
                continue
            display = spec.name or name
            providers.append(
                ProviderInfo(
                    name,
                    display,
                    (spec.command or name,),
                    "",
                    "",
                    supports_sessions=True,
                    acp_args=spec.args or (),
                )
            )
            bridges.append(CliBridgeSpec(f"{name}-cli", name, display, spec.models))
        return cls(tuple(providers), tuple(bridges), specs, frozenset(unmetered_accepted))

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """Every provider's engine id, shipped first."""
        return tuple(p.id for p in self.providers)

    @cached_property
    def acp_ids(self) -> tuple[str, ...]:
        """The ids of those spoken to over the Agent Client Protocol."""
        return tuple(p.id for p in self.providers if p.speaks_acp)

    @cached_property
    def _by_id(self) -> dict[str, ProviderInfo]:
        return {p.id: p for p in self.providers}

    @cached_property
    def _bridge_by_id(self) -> dict[str, CliBridgeSpec]:
        return {b.id: b for b in self.bridges}

    @cached_property
    def _bridge_of_engine(self) -> dict[str, CliBridgeSpec]:
        return {b.engine_provider: b for b in self.bridges}

    def __contains__(self, provider: object) -> bool:
        return provider in self._by_id

    def __iter__(self) -> Iterator[ProviderInfo]:
        return iter(self.providers)

    def __len__(self) -> int:
        return len(self.providers)

    def info(self, provider: str) -> ProviderInfo:
        """The entry for `provider` (an engine id).

        Raises:
            KeyError: the id is not a provider of this catalog.
        """
        return self._by_id[provider]

    def spec(self, provider: str) -> AcpAgentSpec:
        """The operator's `[providers.acp.NAME]` for `provider` (empty where none)."""
        return self.specs.get(provider) or AcpAgentSpec()

    def bridge(self, gateway_id: str) -> CliBridgeSpec | None:
        """The CLI bridge the HTTP gateway names `gateway_id` (`claude-cli`), or None."""
        return self._bridge_by_id.get(gateway_id)

    def bridge_of(self, provider: str) -> CliBridgeSpec:
        """The HTTP bridge of the CLI `provider` (an engine id).

        Raises:
            KeyError: the id is not a provider of this catalog.
        """
        return self._bridge_of_engine[provider]

    def engine_id(self, gateway_id: str) -> str | None:
        """The engine id of the CLI the gateway names `gateway_id`, or None for an API."""
        bridge = self._bridge_by_id.get(gateway_id)
        return bridge.engine_provider if bridge else None


SHIPPED_CATALOG = ProviderCatalog.of({})
