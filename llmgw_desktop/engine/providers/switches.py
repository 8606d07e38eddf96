"""The user's provider switches: each provider on or off (remembered in `config.toml`), and a
pause for all of them at once (until resumed or the app quits). Every provider call asks
`ensure_available` first."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest, ProviderUnavailable
from llmgw_desktop.engine.events import EventBus, Notice, PauseChanged, ProviderToggled
from llmgw_desktop.engine.providers.cli_catalog import PROVIDER_IDS, PROVIDERS, provider_info
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["ProviderState", "ProviderSwitches"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderState:
    id: str
    display_name: str
    enabled: bool


class ProviderSwitches:
    """Which providers may run now. Changes are published on the event bus and saved."""

    def __init__(
        self,
        disabled: Iterable[str],
        *,
        discovery: Discovery,
        events: EventBus,
        saver: SettingsSaver,
        tasks: TaskSupervisor,
        saving: Callable[[], bool],
    ) -> None:
        """`saving` says whether a change should be written now (only while the engine runs:
        a switch flipped before start or after stop stays in memory)."""
        self._disabled: set[str] = set(disabled)
        self._paused = False
        self._discovery = discovery
        self._events = events
        self._saver = saver
        self._tasks = tasks
        self._saving = saving

    def states(self) -> list[ProviderState]:
        """Every known provider with whether the user has it switched on."""
        return [ProviderState(p.id, p.display_name, p.id not in self._disabled) for p in PROVIDERS]

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
        if provider not in PROVIDER_IDS:
            raise InvalidRequest(
                f"unknown provider {provider!r}; known: {', '.join(PROVIDER_IDS)}",
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
        if provider not in PROVIDER_IDS:
            raise InvalidRequest(f"unknown provider {provider!r}", code=ErrorCode.UNKNOWN_PROVIDER)
        if self._paused:
            raise ProviderUnavailable(
                "all providers are paused; resume them from the tray or the window menu",
                code=ErrorCode.GATEWAY_PAUSED,
                provider=provider,
            )
        if provider in self._disabled:
            raise ProviderUnavailable(
                f"provider {provider!r} is switched off; switch it on from the tray or the "
                "window menu (or remove it from providers.disabled in config.toml)",
                code=ErrorCode.PROVIDER_DISABLED,
                provider=provider,
            )

    async def unavailable_reason(self, provider: str) -> EngineError | None:
        """Why `provider`'s CLI cannot run now (off, paused, not installed), or None."""
        try:
            self.ensure_available(provider)
        except EngineError as exc:
            return exc
        if await self._discovery.locate(provider) is None:
            info = provider_info(provider)
            return ProviderUnavailable(
                f"{info.display_name} is not installed; install it with: {info.install_command}",
                code=ErrorCode.NOT_INSTALLED,
                provider=provider,
            )
        return None

    async def _save(self) -> None:
        # Each write saves the latest state under the saver's lock, so the last one wins.
        try:
            await self._saver.write(
                "providers.disabled", [p for p in PROVIDER_IDS if p in self._disabled]
            )
        except Exception as exc:
            log.exception("could not save the provider switches")
            self._events.publish(Notice("warning", f"Could not save the provider switches: {exc}"))
