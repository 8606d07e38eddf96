"""The Agents page's groups: one per agent, whoever runs it, or one per agent and who runs it.

The recorder counts an agent per principal (`engine/recorder/lanes.py`: two principals naming
one agent are two lanes, so a budget or a revoked key reads apart). A person running Claude
Code from the desk, through an OAuth client and with a gateway key looks for "claude-code"
once, with its figures summed and each way it ran under it: `by_agent`, the page's default.
`by_runner` keeps the recorder's lanes, one group per agent and principal. No Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, AgentLane, Lane, SessionLane
from llmgw_desktop.ui.terms import who_words

__all__ = ["GROUPINGS", "AgentGroup", "by_agent", "by_runner", "lane_name"]

NO_PROJECT = "(no project)"


@dataclass(frozen=True)
class AgentGroup:
    """One row of the tree with the rows under it: its total (its principal is "" when
    several run it: every one), a lane per project and principal, and its sessions."""

    total: Lane
    lanes: tuple[Lane, ...]
    sessions: tuple[SessionLane, ...] = ()

    @property
    def mixed(self) -> bool:
        """Whether several principals run it (each lane then says whose it is)."""
        return len({lane.principal for lane in self.lanes}) > 1


def by_runner(agents: Sequence[AgentLane]) -> tuple[AgentGroup, ...]:
    """The recorder's lanes as they are: one group per agent and principal."""
    return tuple(AgentGroup(a.total, a.projects, a.sessions) for a in agents)


def by_agent(agents: Sequence[AgentLane]) -> tuple[AgentGroup, ...]:
    """One group per agent name, its principals' figures summed, busiest first; each project
    lane of each principal under it, the sessions newest first."""
    found: dict[str, list[AgentLane]] = {}
    for agent in agents:
        found.setdefault(agent.caller, []).append(agent)
    groups = []
    for caller, mine in found.items():
        total = mine[0].total
        for agent in mine[1:]:
            total = total.plus(agent.total)
        if len({agent.principal for agent in mine}) > 1:
            total = replace(total, principal="")  # every principal's: none filtered on
        lanes = tuple(lane for agent in mine for lane in agent.projects)
        sessions = sorted(
            (s for agent in mine for s in agent.sessions), key=lambda s: -s.started_at
        )
        groups.append(AgentGroup(replace(total, caller=caller), lanes, tuple(sessions)))
    groups.sort(key=lambda g: (-g.total.requests, -g.total.active_jobs, g.total.caller))
    return tuple(groups)


# The page's choice of grouping: its words, and the function.
GROUPINGS = (
    ("By agent", by_agent),
    ("By agent and who runs it", by_runner),
)


def lane_name(group: AgentGroup, lane: Lane) -> str:
    """A row under an agent: its project, and whose it is where several run the agent."""
    name = lane.project or NO_PROJECT
    if not group.mixed:
        return name
    who = "you" if lane.principal in ("", LOCAL_PRINCIPAL) else who_words(lane.principal)
    return f"{name} · {who}"
