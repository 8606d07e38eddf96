"""Work that could not be done while the store failed, done again until it is.

A part that reads its state from the store once (the budgets' spend of this period at start,
the gateway keys' budgets, the vault's key check, Overview's last 24 h) would otherwise stay
wrong for the rest of the process after one failed read, however soon the database answered
again: a soft budget's spend never written, a key's budget missing from the desk, the vault's
keys taken for absent. Each such part names its work here (`owe`) when it fails, and the
engine's service task (`run_forever`) does it again, after a back-off, until it succeeds.

A database the store could not reach is owed a look of its own (`Database` owes it): once it
answers, `/health` stops saying it cannot be reached, also on a gateway nobody calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from llmgw_desktop.engine.backoff import Backoff

__all__ = ["REDO_BACKOFF", "Redo"]

log = logging.getLogger(__name__)

# The first try again a second after the failure, then less often, down to one each 10 s
# (a look at a server that is down costs it nothing; a gateway back late is worse).
REDO_BACKOFF = Backoff(first_s=1.0, longest_s=10.0, jitter=0.1)


class Redo:
    """What is owed, by name, and the loop that does it again."""

    def __init__(self, backoff: Backoff = REDO_BACKOFF) -> None:
        self._backoff = backoff
        self._owed: dict[str, Callable[[], Awaitable[object]]] = {}
        self._woken = asyncio.Event()

    @property
    def owed(self) -> list[str]:
        """The names of what is still to be done again (for tests and the log)."""
        return sorted(self._owed)

    def owe(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        """Do `work` again later. Owed twice under one name, it is done once (the later
        `work`). `work` fails by raising, or by owing itself again."""
        self._owed[name] = work
        self._woken.set()

    async def run_forever(self) -> None:
        """The service task: while anything is owed, each of it again after a back-off that
        grows while tries fail (a success starts it again from the first wait)."""
        failures = 0
        while True:
            await self._woken.wait()
            self._woken.clear()
            while self._owed:
                await asyncio.sleep(self._backoff.spread(self._backoff.nth(failures + 1)))
                if await self._try_all():
                    failures = 0
                else:
                    failures += 1

    async def _try_all(self) -> bool:
        """Each owed work once, side by side (one that waits long, an open asking the OS
        keyring, holds up no other); whether all succeeded (none failed nor was owed again)."""
        owed, self._owed = self._owed, {}
        await asyncio.gather(*(self._try(name, work) for name, work in owed.items()))
        return not self._owed

    async def _try(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        try:
            await work()
        except Exception as exc:  # owed again; the work's own log said why, if it could
            log.debug("%s: failed again (%s)", name, exc)
            self._owed.setdefault(name, work)
