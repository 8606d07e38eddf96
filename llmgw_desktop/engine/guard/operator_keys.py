"""The operator's own keys, which the answer scan (`echoes.py`) masks: every key the gateway
would send a provider (the vault's, config.toml's and the environment's, as `KeyChain` finds
them for a request's project) and the gateway's own secrets (`redact.known_secrets`: its bearer
token, the vault's master key, the store's password ...). Never a caller's: nothing a request
carries is added, so a caller cannot make its own text count as the operator's.

One matcher per project, built again when a key may have changed (the vault or the providers
edited, a secret of the gateway's added); while the vault cannot be read, at most every
`RETRY_S`, so a locked vault opened later is seen without a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from llmgw_desktop.engine.guard.echoes import operator_matcher
from llmgw_desktop.engine.guard.key_matcher import KeyMatcher
from llmgw_desktop.engine.redact import KnownSecrets, known_secrets

__all__ = ["OperatorKeys", "SendableKeys"]

# How long keys found while the vault could not be read are used before it is asked again.
RETRY_S = 30.0
# Matchers kept (one per project a request named).
MAX_PROJECTS = 64


class SendableKeys(Protocol):
    """Where the keys the gateway sends come from (`gateway.keys.KeyChain`)."""

    @property
    def version(self) -> int: ...

    vault_problem: str | None

    async def sendable(self, project: str | None = None) -> dict[str, str]: ...


class OperatorKeys:
    """The operator's keys for a request's project, as one `KeyMatcher`."""

    def __init__(
        self,
        keys: SendableKeys,
        secrets: KnownSecrets = known_secrets,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._known = secrets
        self._clock = clock
        # project -> (what it was built from, until when it holds, the matcher)
        self._built: dict[str | None, tuple[tuple[int, int], float, KeyMatcher]] = {}

    async def matcher(self, project: str | None) -> KeyMatcher:
        """The keys a request of `project` must not get back."""
        made_of = (self._keys.version, self._known.version)
        built = self._built.get(project)
        if built is not None and built[0] == made_of and self._clock() < built[1]:
            return built[2]
        sources = await self._keys.sendable(project)
        for value, source in self._known.sources().items():
            sources.setdefault(value, source)
        matcher = operator_matcher(sources)
        until = self._clock() + RETRY_S if self._keys.vault_problem else float("inf")
        if len(self._built) >= MAX_PROJECTS:
            self._built.clear()
        self._built[project] = (made_of, until, matcher)
        return matcher
