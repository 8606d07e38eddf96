"""Where the agents the gateway starts call their models: back through the gateway, as the caller.

An ACP agent the gateway knows how to point (`providers/acp/gateway_env.py`) gets the gateway's
own loopback address as its model endpoint and a connection key (`connection_keys.py`) standing
for the call's principal and lane, from every front door: an editor's socket (the key its
connection holds), an MCP tool, the HTTP bridge (a key for the run, revoked when the run ends).
Its model calls are then requests to the gateway: routed, recorded, held to the caller's
budgets and key scope, and the agent never sees the operator's vendor key. Before the HTTP door
is bound (a gateway with no door), or for a call whose credential the front door did not pass
(a desk retry of a remote caller's job), there is nowhere to call back as the caller: the agent
runs with its own endpoint, and the call says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.principals import LOCAL, LOCAL_CALLER, Principal
from llmgw_desktop.engine.providers.acp.gateway_env import routed_back
from llmgw_desktop.engine.providers.acp.peer import AcpPeer

__all__ = ["AgentCallbacks", "Callback", "loopback_url"]

_WILDCARD_V4 = ("", "0.0.0.0", "127.0.0.1", "localhost")  # noqa: S104 - names, not a bind
_WILDCARD_V6 = ("::", "::1")


@dataclass(frozen=True)
class Callback:
    """Where one run's model calls go, and the key they carry."""

    url: str
    key: str


def loopback_url(host: str, port: int) -> str:
    """The gateway's own address for an agent on this machine: loopback where the door listens
    there (or everywhere), else the address it is bound to."""
    if host in _WILDCARD_V4:
        return f"http://127.0.0.1:{port}"
    if host in _WILDCARD_V6:
        return f"http://[::1]:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class AgentCallbacks:
    """The gateway's door for its agents (known once bound) and their connection keys."""

    def __init__(self, keys: ConnectionKeys) -> None:
        self._keys = keys
        self.url = ""  # set when the HTTP door is bound (`Engine.listening_on`)

    def principal_of(self, principal: str, proven: Principal | None) -> Principal | None:
        """Who a run's model calls stand for: the credential the front door proved (`proven`),
        the local user by its id, else None (nobody to stand for)."""
        if proven is not None and proven.id == principal:
            return proven
        return LOCAL_CALLER if principal == LOCAL else None

    def routes(self, provider: str, peer: AcpPeer | None, principal: Principal | None) -> bool:
        """Whether a run of `provider` has its model calls come back through the gateway."""
        if peer is not None:
            return routed_back(provider, peer.gateway_url)
        return principal is not None and routed_back(provider, self.url)

    @contextmanager
    def opened(
        self, provider: str, peer: AcpPeer | None, principal: Principal | None, caller: str
    ) -> Iterator[Callback | None]:
        """The callback of one run (None: its model calls go to its own endpoint): an editor's
        connection key, or one issued for the run and revoked when the block ends.

        Raises:
            RuntimeError: too many connection keys are live (`connection_keys.MAX_LIVE_KEYS`).
        """
        if not self.routes(provider, peer, principal):
            yield None
            return
        if peer is not None:
            yield Callback(peer.gateway_url, peer.gateway_key)
            return
        assert principal is not None  # `routes` said so
        key = self._keys.issue(principal, caller)
        try:
            yield Callback(self.url, key)
        finally:
            self._keys.revoke(key)
