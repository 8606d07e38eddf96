"""The settings this engine runs on now, and those it takes on at once when the desk saves one.

Most settings are read once, when the parts that use them are built (a job queue's limits, a
pool's timeouts), so a saved value waits for the next start. A few are read on each use, and
those the engine applies as soon as they are written (`LIVE_SETTINGS`):
- `gateway.default_model`, `gateway.small_request_model`, `gateway.small_request_max_tokens`:
  the router's configuration, replaced whole (as the provider editor replaces it);
- `log.level`: the root logger's level;
- `recorder.capture.*`: the body-capture policy;
- `guard.secrets`, `guard.unscanned`, `guard.ask_fallback`, `guard.personal_data`,
  `guard.scan_answers`: the outbound guard's, read for each request (one already asked keeps
  what it was decided with).

`settings` is what the engine runs on: the start-up settings with every live change since
over them, so what reads it (the Settings page's "running" value, a provider edit rebuilding
the router's configuration) never brings back a value the person replaced.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.guard.service import OutboundGuard
from llmgw_desktop.engine.recorder import CAPTURE_KEYS
from llmgw_desktop.engine.recorder.bodies import BodyCapture
from llmgw_desktop.engine.settings_saver import SettingsSaver

__all__ = ["LIVE_SETTINGS", "LiveSettings"]

log = logging.getLogger(__name__)

_ROUTER_KEYS = {
    "gateway.default_model": "default_model",
    "gateway.small_request_model": "small_request_model",
    "gateway.small_request_max_tokens": "small_request_max_tokens",
}
_GUARD_KEYS = {
    f"guard.{name}": name
    for name in ("secrets", "unscanned", "ask_fallback", "personal_data", "scan_answers")
}
LIVE_SETTINGS = frozenset({*_ROUTER_KEYS, "log.level", *CAPTURE_KEYS, *_GUARD_KEYS})


class LiveSettings:
    """Saves a setting (through the one `SettingsSaver`) and applies it now when it can."""

    def __init__(
        self,
        settings: Settings,
        saver: SettingsSaver,
        *,
        registry: ModelRegistry,
        body_capture: BodyCapture,
        guard: OutboundGuard,
    ) -> None:
        self.settings = settings
        self._saver = saver
        self._registry = registry
        self._appliers: dict[str, Callable[[Any], None]] = {
            **{key: self._router(field) for key, field in _ROUTER_KEYS.items()},
            "log.level": lambda value: logging.getLogger().setLevel(str(value).upper()),
            **{key: _capture(body_capture, key) for key in CAPTURE_KEYS},
            **{key: _guarded(guard, field) for key, field in _GUARD_KEYS.items()},
        }

    @staticmethod
    def is_live(key: str) -> bool:
        """Whether a saved `key` takes effect at once (else after a restart)."""
        return key in LIVE_SETTINGS

    async def save(self, principal: Principal, key: str, value: Any) -> bool:
        """Write one already-checked setting to config.toml, then take it on now when it is
        one of `LIVE_SETTINGS`; True when it is in effect now.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            RuntimeError: this engine was built without a settings file.
            OSError: the file cannot be read or written.
        """
        await self._saver.save(principal, key, value)
        apply = self._appliers.get(key)
        if apply is None:
            return False
        apply(value)
        self.settings = self.settings.with_values({key: value})
        log.info("setting %s is in effect now", key)
        return True

    def _router(self, field: str) -> Callable[[Any], None]:
        """Replace the router's configuration with `field` set (its other fields kept)."""

        def apply(value: Any) -> None:
            config = self._registry.config
            self._registry.replace_config(dataclasses.replace(config, **{field: value}))

        return apply


def _capture(body_capture: BodyCapture, key: str) -> Callable[[Any], None]:
    def apply(value: Any) -> None:
        body_capture.apply(key, value)

    return apply


def _guarded(guard: OutboundGuard, field: str) -> Callable[[Any], None]:
    def apply(value: Any) -> None:
        guard.replace_settings(dataclasses.replace(guard.settings, **{field: value}))

    return apply
