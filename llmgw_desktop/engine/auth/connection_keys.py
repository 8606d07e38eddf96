"""Connection keys: the credential an agent the gateway runs for a caller uses to call back.

`llmgw-desktop acp --agent NAME` runs a coding agent for an editor; the agent's own model calls
are pointed at the gateway's HTTP door, so each is recorded and budgeted. They must count as
the caller's (its principal, its budgets, its key's scope) and on the editor's lane, never as
anyone with more power: the front door issues one key per editor connection, carrying the
caller's principal and lane name, and revokes it when the connection ends. Only a digest is
kept; the key has the gateway's key shape (`llmgw-`), so the redactor masks it wherever it is
written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

from llmgw_desktop.engine.auth.hashing import secret_bytes
from llmgw_desktop.engine.auth.principals import Principal

__all__ = ["CONNECTION_KEY_PREFIX", "ConnectionKeys"]

CONNECTION_KEY_PREFIX = "llmgw-acp-"
# Editors a person has open at once, and then some: more live keys than this is a leak.
MAX_LIVE_KEYS = 256


class ConnectionKeys:
    """The live connection keys, by digest."""

    def __init__(self) -> None:
        self._live: dict[str, Principal] = {}

    def issue(
        self, principal: Principal, caller: str, *, job: str = "", project: str | None = None
    ) -> str:
        """A new key that proves `principal`, its calls named `caller` (the editor's lane);
        for one job's runs (`job`, its token), counted on `project` whatever they name.

        Raises:
            RuntimeError: too many keys are live (each connection must revoke its own).
        """
        if len(self._live) >= MAX_LIVE_KEYS:
            raise RuntimeError(f"more than {MAX_LIVE_KEYS} agent connections are open")
        key = CONNECTION_KEY_PREFIX + secrets.token_urlsafe(32)
        proves = dataclasses.replace(principal, caller=caller, job=job, project=project, agent=True)
        self._live[_digest(key)] = proves
        return key

    def revoke(self, key: str) -> None:
        """The connection ended: the key proves nothing from now on."""
        self._live.pop(_digest(key), None)

    def verify(self, presented: str) -> Principal | None:
        """The principal `presented` proves, or None (not a live connection key)."""
        if not presented.startswith(CONNECTION_KEY_PREFIX):
            return None
        return self._live.get(_digest(presented))

    @staticmethod
    def is_connection_key(presented: str) -> bool:
        """Whether `presented` has the shape of a connection key (live or not)."""
        return presented.startswith(CONNECTION_KEY_PREFIX)

    def __len__(self) -> int:
        return len(self._live)


def _digest(key: str) -> str:
    # A dictionary lookup by digest: comparing digests leaks nothing about the key.
    return hashlib.sha256(secret_bytes(key)).hexdigest()
