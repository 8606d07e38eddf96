"""Per-agent lanes: what each agent did, per project, over a recent window.

An agent is the recorder's `caller` (MCP `clientInfo`, `X-Caller`, a recognised user agent or
an OAuth client, as the front door named it) of one principal: a name a caller chooses, so two
principals calling themselves `claude-code` are two agents, each with its own lane
(budgets keep agent lanes per principal the same way). Every figure here is a grouping of the
`requests` table: requests as their clients sent them and errors as their clients got no
answer (`attempts.py`: an attempt that failed over to another target is neither, but counted
as `failed_over`; the recorder's "Unanswered only" keeps the errors), tokens, cache hits,
cost and the latest start. Active jobs come from the `jobs` table (queued or running); a job
row keeps no caller, so its first recorder row names the agent and the project, as on the Jobs
page. An agent's sessions are the ids its client named with its
requests (Claude Code's `X-Claude-Code-Session-Id`, Codex's `session-id`; the recorder's
`client_session`): the same figures per session, newest first.

Cheap enough to refresh while the page is shown: two grouped reads of the window's range of
the `started_at` index on the read lane (per project, per session), plus the live jobs (at most
the queue's bound) joined to their rows through the `job_id` index. The groups are bounded
(`LANE_GROUPS_LIMIT`, the busiest first; `LANE_SESSIONS_LIMIT` sessions an agent) and so are
the agents (`LANE_AGENTS_LIMIT`); `more` says when some were left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.recorder.attempts import CLIENT_REQUESTS_SQL, FAILED_OVER_SQL
from llmgw_desktop.engine.recorder.cost_breakdown import COST_KNOWN

__all__ = [
    "LANE_AGENTS_LIMIT",
    "LANE_GROUPS_LIMIT",
    "LANE_SESSIONS_LIMIT",
    "AgentLane",
    "AgentLanes",
    "Lane",
    "SessionLane",
    "read_lanes",
]

# The agents a view lists, busiest first: a screenful and a little more.
LANE_AGENTS_LIMIT = 50
# The (agent, project) groups read from the window, busiest first.
LANE_GROUPS_LIMIT = 500
# The sessions read from the window, newest first, and those kept per agent.
LANE_SESSION_GROUPS_LIMIT = 500
LANE_SESSIONS_LIMIT = 20
_LIVE_JOB_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


@dataclass(frozen=True)
class Lane:
    """One agent's figures in one project (or, as an agent's total, across its projects)."""

    caller: str
    project: str | None  # None: no project named (or, in a total, every project)
    # The principal whose agent this is (two principals naming the same agent are two).
    principal: str = ""
    requests: int = 0  # what its clients sent (`attempts.py`)
    errors: int = 0  # requests its clients got no answer for
    # Provider calls that failed and whose request went on to another target (and is counted
    # by the attempt that took it over): not errors of the agent's.
    failed_over: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None  # None: no request in the lane has a known cost
    # Requests whose cost is known (`COST_KNOWN`: priced, or ended having used no tokens);
    # fewer than `requests`: the sum is partial.
    priced: int = 0
    active_jobs: int = 0
    last_activity: float | None = None  # the newest request's start (epoch seconds)

    @property
    def cache_hit_rate(self) -> float | None:
        """Prompt tokens served from the cache, over every prompt token (cache writes are
        prompt tokens not served from it, as on Overview's cache chart); None without any."""
        prompt = self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
        return self.cache_read_tokens / prompt if prompt else None

    def plus(self, other: Lane) -> Lane:
        """The two lanes' figures together (the caller and project are this one's)."""
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        times = [t for t in (self.last_activity, other.last_activity) if t is not None]
        return replace(
            self,
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            failed_over=self.failed_over + other.failed_over,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=sum(costs) if costs else None,
            priced=self.priced + other.priced,
            active_jobs=self.active_jobs + other.active_jobs,
            last_activity=max(times) if times else None,
        )


@dataclass(frozen=True)
class SessionLane:
    """One session an agent's client named: its figures (the lane's caller and principal are
    the agent's, its project None) and when its first request in the window began."""

    session: str
    figures: Lane
    started_at: float


@dataclass(frozen=True)
class AgentLane:
    """An agent of one principal: its total, one lane per project it worked in (busiest
    first), and the sessions its client named (newest first, at most `LANE_SESSIONS_LIMIT`)."""

    total: Lane
    projects: tuple[Lane, ...]
    sessions: tuple[SessionLane, ...] = ()

    @property
    def caller(self) -> str:
        return self.total.caller

    @property
    def principal(self) -> str:
        return self.total.principal


@dataclass(frozen=True)
class AgentLanes:
    """Every agent seen since `since`, busiest first."""

    since: float
    agents: tuple[AgentLane, ...] = ()
    more: bool = False  # some agents or projects were left out (see the limits)


# A group's figures (`_lane` reads them in this order): the requests its clients sent and
# those they got no answer for, less the attempts that failed over (`attempts.py`: an
# unsuccessful row is one only if it did not), those attempts, tokens, cost. `{marks}`: the
# unsuccessful states' `?` marks. Over the same rows as the group: no read of its own.
_FIGURES = (
    f"{CLIENT_REQUESTS_SQL},"
    " sum(CASE WHEN state IN ({marks}) AND failed_over = 0 THEN 1 ELSE 0 END),"
    f" {FAILED_OVER_SQL},"
    " sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),"
    f" sum(cache_write_tokens), sum(cost_usd), sum({COST_KNOWN})"
)

# Runs one statement (written with `?` marks) and returns its cursor.
Execute = Callable[[str, list[Any]], Any]


def read_lanes(
    execute: Execute, since: float, unsuccessful: tuple[str, ...], *, postgresql: bool
) -> AgentLanes:
    """The lanes of requests started at or after `since`; runs on the database thread.

    `unsuccessful` are the states counted as errors.
    """
    marks = ", ".join("?" * len(unsuccessful))
    figures = _FIGURES.replace("{marks}", marks)
    # SQLite would rather walk the whole (caller, started_at) index, which hands it the rows
    # already grouped by caller, than read the window's range of the time index and sort it:
    # a read of every row for a 15-minute window. PostgreSQL's planner weighs the range.
    source = "requests" if postgresql else "requests INDEXED BY requests_started"
    rows = execute(
        # Only `?` marks are formatted in; the states travel as parameters.
        f"SELECT owner_principal, caller, project, {figures}, max(started_at)"  # noqa: S608
        f" FROM {source} WHERE started_at >= ?"
        " GROUP BY owner_principal, caller, project"
        " ORDER BY 4 DESC, caller, owner_principal, project LIMIT ?",
        [*unsuccessful, since, LANE_GROUPS_LIMIT + 1],
    ).fetchall()
    more = len(rows) > LANE_GROUPS_LIMIT
    lanes = {(row[0] or "", row[1] or "", row[2]): _lane(row) for row in rows[:LANE_GROUPS_LIMIT]}
    for principal, caller, project, count in _active_jobs(execute):
        key = (principal or "", caller or "", project)
        lane = lanes.get(key) or Lane(caller=key[1], project=project, principal=key[0])
        lanes[key] = replace(lane, active_jobs=count)
    agents, cut = group_by_agent(list(lanes.values()))
    sessions = _sessions(execute, source, since, figures, unsuccessful)
    agents = tuple(
        replace(agent, sessions=sessions.get((agent.principal, agent.caller), ()))
        for agent in agents
    )
    return AgentLanes(since=since, agents=agents, more=more or cut)


def _sessions(
    execute: Execute, source: str, since: float, figures: str, unsuccessful: tuple[str, ...]
) -> dict[tuple[str, str], tuple[SessionLane, ...]]:
    """The sessions clients named in the window, per agent (principal, caller), newest first."""
    rows = execute(
        # Only `?` marks, constant SQL and a constant table name are formatted in.
        f"SELECT owner_principal, caller, client_session, {figures},"  # noqa: S608
        " max(started_at), min(started_at)"
        f" FROM {source} WHERE started_at >= ? AND client_session IS NOT NULL"
        " GROUP BY owner_principal, caller, client_session"
        " ORDER BY max(started_at) DESC, client_session LIMIT ?",
        [*unsuccessful, since, LANE_SESSION_GROUPS_LIMIT],
    ).fetchall()
    found: dict[tuple[str, str], list[SessionLane]] = {}
    for row in rows:
        mine = found.setdefault((row[0] or "", row[1] or ""), [])
        if len(mine) < LANE_SESSIONS_LIMIT:
            lane = replace(_lane(row[:13]), project=None)
            mine.append(SessionLane(str(row[2]), lane, float(row[13])))
    return {agent: tuple(sessions) for agent, sessions in found.items()}


def group_by_agent(
    lanes: list[Lane], limit: int = LANE_AGENTS_LIMIT
) -> tuple[tuple[AgentLane, ...], bool]:
    """Lanes gathered per agent (principal and caller) with its total, the busiest `limit`
    agents first (by requests, then active jobs); True when more were left out. Pure."""
    by_agent: dict[tuple[str, str], list[Lane]] = {}
    for lane in lanes:
        by_agent.setdefault((lane.principal, lane.caller), []).append(lane)
    agents = []
    for (principal, caller), mine in by_agent.items():
        mine.sort(key=lambda lane: (-lane.requests, -lane.active_jobs, lane.project or ""))
        total = Lane(caller=caller, project=None, principal=principal)
        for lane in mine:
            total = total.plus(lane)
        agents.append(AgentLane(total, tuple(mine)))
    agents.sort(key=lambda a: (-a.total.requests, -a.total.active_jobs, a.caller, a.principal))
    return tuple(agents[:limit]), len(agents) > limit


def _lane(row: Any) -> Lane:
    principal, caller, project, requests, errors, over, fresh, output, read, written = row[:10]
    cost, priced, last = row[10:]
    return Lane(
        caller=caller or "",
        project=project,
        principal=principal or "",
        requests=int(requests),
        errors=int(errors or 0),
        failed_over=int(over or 0),
        input_tokens=int(fresh or 0),
        output_tokens=int(output or 0),
        cache_read_tokens=int(read or 0),
        cache_write_tokens=int(written or 0),
        cost_usd=float(cost or 0.0) if int(priced or 0) else None,
        priced=int(priced or 0),
        last_activity=float(last) if last is not None else None,
    )


def _active_jobs(execute: Execute) -> list[tuple[str, str, str | None, int]]:
    """Queued and running jobs per (principal, agent, project) of their first recorder row."""
    rows = execute(
        "SELECT r.owner_principal, r.caller, r.project, count(DISTINCT j.id) FROM jobs j"
        " JOIN requests r ON r.job_id = j.id"
        " WHERE j.state IN (?, ?) AND r.started_at ="
        " (SELECT min(e.started_at) FROM requests e WHERE e.job_id = j.id)"
        " GROUP BY r.owner_principal, r.caller, r.project",
        list(_LIVE_JOB_STATES),
    ).fetchall()
    return [(row[0], row[1], row[2], int(row[3])) for row in rows]
