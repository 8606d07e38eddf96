"""The user's provider switches: each provider on or off (remembered in `config.toml`), and a
pause for all of them at once (until resumed or the app quits).

One switch per provider the engine knows: every coding CLI (by its engine id, `claude`) and
every API provider and local server of the gateway's table (by its gateway id, `openai`,
`ollama`; `mistral-api` where a CLI has the id already). A CLI call asks `ensure_available`
first; the HTTP gateway asks `api_refusal` before it tries an API target, so one switch stops
both the CLI and the API paths to what it names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from llmgw_desktop.config.api_catalog import ApiProviderSpec, switch_id_for
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import (
    PAUSED_RETRY_AFTER_S,
    EngineError,
    ErrorCode,
    InvalidRequest,
    ProviderUnavailable,
)
from llmgw_desktop.engine.events import EventBus, Notice, PauseChanged, ProviderToggled
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["ProviderState", "ProviderSwitches"]

log = logging.getLogger(__name__)

# Route attempt outcomes for an API target the user's switches keep from being asked.
REFUSED_OFF = "disabled"
REFUSED_PAUSED = "paused"


@dataclass(frozen=True)
class ProviderState:
    """One switch: what it names and whether the user has it on."""

    id: str  # the switch id: a CLI's engine id, else `switch_id_for(gateway_id)`
    display_name: str
    enabled: bool
    kind: str = "cli"  # "cli", "api" or "local"
    gateway_id: str = ""  # how the HTTP gateway names it (`claude-cli`, `openai`)

    @property
    def is_cli(self) -> bool:
        return self.kind == "cli"


class ProviderSwitches:
    """Which providers may run now. Changes are published on the event bus and saved."""

    def __init__(
        self,
        disabled: Iterable[str],
        *,
        api_providers: Sequence[ApiProviderSpec] = (),
        discovery: Discovery,
        events: EventBus,
        saver: SettingsSaver,
        tasks: TaskSupervisor,
        saving: Callable[[], bool],
    ) -> None:
        """`saving` says whether a change should be written now (only while the engine runs:
        a switch flipped before start or after stop stays in memory). `api_providers`: the
        gateway's table (API providers and local servers), each of which gets a switch too."""
        # CLIs first, then API providers, then local servers: the order every menu shows.
        api = sorted(api_providers, key=lambda spec: spec.local)
        # The CLIs of the engine's catalog (discovery's): the ACP agents the operator added too.
        clis = discovery.catalog
        self._catalog: tuple[ProviderState, ...] = (
            *(
                ProviderState(p.id, p.display_name, True, "cli", clis.bridge_of(p.id).id)
                for p in clis
            ),
            *(ProviderState(switch_id_for(a.id), a.name, True, a.kind, a.id) for a in api),
        )
        self._ids = tuple(p.id for p in self._catalog)
        self._by_gateway_id = {p.gateway_id: p.id for p in self._catalog if not p.is_cli}
        unknown = sorted(set(disabled) - set(self._ids))
        if unknown:  # kept (and saved back) so a server added again later stays off
            log.warning("providers.disabled names unknown provider(s): %s", ", ".join(unknown))
        self._disabled: set[str] = set(disabled)
        self._paused = False
        self._discovery = discovery
        self._events = events
        self._saver = saver
        self._tasks = tasks
        self._saving = saving

    def states(self) -> list[ProviderState]:
        """Every known provider (CLIs, API providers, local servers) with its switch."""
        return [
            ProviderState(p.id, p.display_name, p.id not in self._disabled, p.kind, p.gateway_id)
            for p in self._catalog
        ]

    def switch_of(self, gateway_id: str) -> str | None:
        """The switch id of an API provider or local server (gateway id), or None."""
        return self._by_gateway_id.get(gateway_id)

    def api_refusal(self, gateway_id: str) -> str | None:
        """Why the gateway must not ask this API provider or local server now: `paused`, or
        `disabled` when its switch is off; None when the user lets it run."""
        if self._paused:
            return REFUSED_PAUSED
        switch = self._by_gateway_id.get(gateway_id)
        return REFUSED_OFF if switch is not None and switch in self._disabled else None

    def is_enabled(self, provider: str) -> bool:
        return provider not in self._disabled

    @property
    def paused(self) -> bool:
        return self._paused

    def set_enabled(self, principal: Principal, provider: str, enabled: bool) -> None:
        """Switch one provider on or off and remember the choice in `config.toml`.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: `provider` is not a known provider id.
        """
        require(principal, Capability.PROVIDER_SWITCHES)
        if provider not in self._ids:
            raise InvalidRequest(
                f"unknown provider {provider!r}; known: {', '.join(self._ids)}",
                code=ErrorCode.UNKNOWN_PROVIDER,
            )
        if (provider not in self._disabled) == enabled:
            return
        if enabled:
            self._disabled.discard(provider)
        else:
            self._disabled.add(provider)
        log.info("provider %s switched %s", provider, "on" if enabled else "off")
        self._events.publish(ProviderToggled(provider, enabled))
        if self._saver.can_save and self._saving():
            self._tasks.spawn(self._save(), name="save-provider-switches")

    def set_paused(self, principal: Principal, paused: bool) -> None:
        """Pause or resume every provider at once, keeping each provider's own switch.

        Pausing lasts until resumed or the app quits; it is not written to the config.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.PROVIDER_SWITCHES)
        if paused == self._paused:
            return
        self._paused = paused
        log.info("all providers %s", "paused" if paused else "resumed")
        self._events.publish(PauseChanged(paused))

    def ensure_available(self, provider: str) -> None:
        """Check the user lets `provider` run now; every provider call starts here.

        Raises:
            InvalidRequest: `provider` is not a known provider id.
            ProviderUnavailable: the provider is switched off (`provider_disabled`) or the
                gateway is paused (`gateway_paused`).
        """
        if provider not in self._ids:
            raise InvalidRequest(f"unknown provider {provider!r}", code=ErrorCode.UNKNOWN_PROVIDER)
        if self._paused:
            raise ProviderUnavailable(
                "all providers are paused; resume them from the tray or the window menu",
                code=ErrorCode.GATEWAY_PAUSED,
                retryable=True,
                provider=provider,
                retry_after_s=PAUSED_RETRY_AFTER_S,
            )
        if provider in self._disabled:
            raise ProviderUnavailable(
                f"provider {provider!r} is switched off; switch it on from the tray or the "
                "window menu (or remove it from providers.disabled in config.toml)",
                code=ErrorCode.PROVIDER_DISABLED,
                provider=provider,
            )

    async def unavailable_reason(self, provider: str) -> EngineError | None:
        """Why `provider` (a switch id) cannot run now (off, paused, a CLI not installed), or
        None."""
        try:
            self.ensure_available(provider)
        except EngineError as exc:
            return exc
        clis = self._discovery.catalog
        if provider in clis and await self._discovery.locate(provider) is None:
            info = clis.info(provider)
            return ProviderUnavailable(
                f"{info.display_name} is not installed; install it with: {info.install_command}",
                code=ErrorCode.NOT_INSTALLED,
                provider=provider,
            )
        return None

    async def _save(self) -> None:
        # Each write saves the latest state under the saver's lock, so the last one wins.
        try:
            known = [p for p in self._ids if p in self._disabled]
            await self._saver.write(
                "providers.disabled", known + sorted(self._disabled - set(self._ids))
            )
        except Exception as exc:
            log.exception("could not save the provider switches")
            self._events.publish(
                Notice("warning", f"Could not save the provider switches: {exc}", topic="providers")
            )
