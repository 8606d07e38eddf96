"""The editor sessions of `llmgw-desktop acp --agent` a gateway process holds, and which
provider a name fronts. Light (no ACP SDK): the HTTP app builds these at start-up; the SDK is
loaded when the first editor connects (`socket_route.py`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.api import ProviderCatalog

__all__ = ["FrontSession", "FrontSessions", "fronted_provider"]

# Sessions remembered for `session/load`, per principal: one caller opening many forgets only
# its own oldest, never another's (a forgotten session is "not found", mid-conversation too).
MAX_SESSIONS = 200
MAX_REPLAY = 500  # updates kept per session for `session/load`


def fronted_provider(catalog: ProviderCatalog, name: str) -> str:
    """The provider `acp --agent NAME` runs: an ACP agent, or a CLI's ACP form where one is
    shipped (`claude` is `claude-acp`); a CLI without one runs as itself, a turn a job.

    Raises:
        KeyError: no provider of that name.
    """
    if f"{name}-acp" in catalog.acp_ids:
        return f"{name}-acp"
    catalog.info(name)
    return name


@dataclass
class FrontSession:
    """One editor session: the agent and model it runs, the agent's own session ids (one per
    agent it ran), what `session/load` replays, and the turn running now."""

    agent: str
    cwd: str
    model: str | None = None
    agent_sessions: dict[str, str] = field(default_factory=dict)
    replay: deque[Any] = field(default_factory=lambda: deque(maxlen=MAX_REPLAY))
    job_id: str | None = None
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class FrontSessions:
    """The editor sessions this gateway process holds (one per app, across connections), each
    its principal's: another principal's is "not found", as its rows are everywhere else, so a
    session id that leaks (a log, a screen share) replays nothing to anyone else. Each
    principal's oldest are forgotten past `MAX_SESSIONS`."""

    def __init__(self) -> None:
        self._by_owner: dict[str, OrderedDict[str, FrontSession]] = {}

    def add(self, owner: str, session_id: str, session: FrontSession) -> None:
        """Remember `session` as `owner`'s."""
        mine = self._by_owner.setdefault(owner, OrderedDict())
        mine[session_id] = session
        while len(mine) > MAX_SESSIONS:
            mine.popitem(last=False)

    def get(self, owner: str, session_id: str) -> FrontSession | None:
        """`owner`'s session `session_id`, or None (none such, or another principal's)."""
        mine = self._by_owner.get(owner)
        return None if mine is None else mine.get(session_id)
