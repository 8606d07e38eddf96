"""Principals: the identity every request runs as, stamped on what it creates.

`local` is the person at this machine (stdio, the desktop, loopback without a token, or the
instance token). `gateway-bearer` is whoever holds the static token: one principal, however many
people share it. An OAuth client is `oauth:<client_id>`; a name from a trusted proxy header is
`user:<name>`; a gateway key is `key:<name>` (`gateway_keys.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmgw_desktop.config.principals import BEARER, LOCAL

__all__ = [
    "BEARER",
    "INSTANCE_TOKEN_HEADER",
    "LOCAL",
    "LOCAL_CALLER",
    "SCOPE_ADMIN",
    "SCOPE_MCP",
    "Principal",
    "trusted_name",
]

SCOPE_MCP = "mcp"
SCOPE_ADMIN = "workspace:admin"
# The header carrying the running instance's token, which proves `local`. Here, in a module
# with no imports, so the second launch and the stdio relay can send it without the engine.
INSTANCE_TOKEN_HEADER = "X-Llmgw-Instance-Token"  # noqa: S105 - a header name, not a secret
# A trusted header's value becomes part of log lines and database rows: keep it tight.
_TRUSTED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    id: str
    # How it proved itself: "local", "instance", "bearer", "trusted-header", "oauth" or "key".
    method: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The lane its requests are named after, when the credential carries one (a connection
    # key of an agent the gateway runs for an editor: `connection_keys.py`, or a gateway key
    # the operator gave a caller name); "" otherwise.
    caller: str = ""
    # A connection key issued for one job's runs: the job's own token (its routed calls'
    # refusals are told to it, `agent_callbacks.py`), and the project they count on whatever
    # the request names; "" and None otherwise.
    job: str = ""
    project: str | None = None
    # The caller name the operator gave the credential (a gateway key's `--caller`): the
    # routes' per-caller pins follow it (`gateway/router.py`, `pin_caller`); kept when an agent
    # run for it calls back on another lane.
    named_by_operator: str = ""
    # Proven by a connection key: an agent the gateway runs, its own model calls coming back.
    # It cannot act on a refusal that says "retry" (its CLI fails on a 402), so a budget makes
    # its call wait for room held by running calls instead (`BudgetLedger.reserve`).
    agent: bool = False

    def lane(self, *claims: str | None) -> str:
        """The agent name its requests go under, at every door: the one its credential carries
        (a key the operator named, SECURITY 99 and 109), else the first name its client
        claims (`X-Caller`, MCP `clientInfo`, a user agent), else ""."""
        if self.caller:
            return self.caller
        for claim in claims:  # a loop, not `next` of a generator: asked at every request
            if claim:
                return claim
        return ""

    @property
    def remote(self) -> bool:
        """Anyone but the local user: remote calls are held to registered workspaces."""
        return self.id != LOCAL

    @property
    def operator(self) -> bool:
        """The person running the gateway: local, or holding the static bearer token."""
        return self.method in ("local", "bearer")


LOCAL_CALLER = Principal(LOCAL, "local")


def trusted_name(value: str) -> str | None:
    """The principal a trusted proxy header names, or None if the value is not acceptable."""
    value = value.strip()
    return f"user:{value}" if _TRUSTED_NAME.fullmatch(value) else None
