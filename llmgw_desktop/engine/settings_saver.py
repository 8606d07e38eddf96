"""Writes the settings the running engine changes (provider switches, the Settings page) back to
`config.toml`, one write at a time and off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal

__all__ = ["SettingsSaver", "SettingsWriter"]

log = logging.getLogger(__name__)


class SettingsWriter(Protocol):
    """Persists one setting (blocking); the engine calls it off the loop."""

    def update(self, key: str, value: Any) -> None: ...

    def apply(self, changes: Sequence[tuple[Sequence[str], Any]]) -> None:
        """Several changes in one rewrite: a value at a path of table names, `None` removes."""
        ...


class SettingsSaver:
    """The one door to the settings file. Its lock keeps every read-modify-write of the file in
    order, whoever asks (a provider switch and the Settings page may write at once)."""

    def __init__(self, writer: SettingsWriter | None) -> None:
        self._writer = writer
        self._lock = asyncio.Lock()

    @property
    def can_save(self) -> bool:
        """Whether there is a settings file to write to."""
        return self._writer is not None

    async def save(self, principal: Principal, key: str, value: Any) -> None:
        """Write one already-checked setting; the running engine keeps its value until the
        next start.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            RuntimeError: this engine was built without a settings file.
            OSError: the file cannot be read or written.
        """
        require(principal, Capability.SETTINGS)
        await self.write(key, value)
        log.info("saved setting %s to the settings file", key)

    async def write(self, key: str, value: Any) -> None:
        """`save` for the engine's own writes (no principal: the engine checked it already).

        Raises:
            RuntimeError: this engine was built without a settings file.
            OSError: the file cannot be read or written.
        """
        await self._locked(lambda writer: writer.update(key, value))

    async def write_many(self, changes: Sequence[tuple[Sequence[str], Any]]) -> None:
        """Several already-checked changes in one rewrite of the file (all or none): each is
        a path of table names (a name may hold dots) and its value, or `None` to remove it.

        Raises:
            RuntimeError: this engine was built without a settings file.
            OSError: the file cannot be read or written.
        """
        await self._locked(lambda writer: writer.apply(changes))

    async def _locked(self, change: Callable[[SettingsWriter], None]) -> None:
        """Run `change` on the writer off the loop, one at a time."""
        writer = self._writer
        if writer is None:
            raise RuntimeError("this gateway was started without a settings file to save to")
        async with self._lock:
            await asyncio.to_thread(change, writer)
