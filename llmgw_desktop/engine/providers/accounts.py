"""CLI accounts: each installed vendor CLI's login state and, where its files keep one, its
plan, read from this machine's files (`account_files.py`) off the loop. Read-only and offline:
no login is started, no network is called, no secret leaves the readers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from llmgw_desktop.config.cli_catalog import PROVIDER_IDS
from llmgw_desktop.engine.providers.account_files import CliAccount, read_account

__all__ = ["CliAccounts"]


class CliAccounts:
    """The desk's "CLI accounts" box reads it."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str],
        locate: Callable[[str], Awaitable[str | None]],
        home: Path | None = None,
        providers: Sequence[str] = PROVIDER_IDS,
    ) -> None:
        """`locate(provider)` finds the CLI's executable (None: not installed); `home` is the
        user's home (default: the one `HOME` names, else the OS's); `providers`: the engine's
        catalog's ids."""
        self._providers = tuple(providers)
        self._environ = environ
        self._locate = locate
        self._home = home

    async def read(self) -> list[CliAccount]:
        """The login of every installed CLI, in the catalogue's order."""
        found = await asyncio.gather(*(self._locate(p) for p in self._providers))
        installed = [p for p, where in zip(self._providers, found, strict=True) if where]
        home = self._home or Path(self._environ.get("HOME") or Path.home())
        return await asyncio.to_thread(
            lambda: [read_account(p, self._environ, home) for p in installed]
        )
