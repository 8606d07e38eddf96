"""Per-agent lanes over the flight recorder, on both store engines: an agent's lane counts
exactly its own requests, errors, tokens and cost, per project, within the window, and its
live jobs by the caller their first recorder row names."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.recorder.filters import UNSUCCESSFUL_STATES
from llmgw_desktop.engine.recorder.lanes import Lane, group_by_agent, read_lanes
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.store import Database
from tests.engine.jobs.rows import completed, created
from tests.engine.recorder.test_query import START, bulk_insert, synthetic_rows

WINDOW_S = 100.0
NOW = START + 200  # the window holds rows started at START + 100 and later


def expected_lane(
    rows: list[dict[str, Any]], principal: str, caller: str, project: str | None
) -> Lane:
    """The lane as counted by hand from the rows."""
    mine = [
        r
        for r in rows
        if r["owner_principal"] == principal
        and r["caller"] == caller
        and r["project"] == project
        and r["started_at"] >= NOW - WINDOW_S
    ]
    costs = [r["cost_usd"] for r in mine if r["cost_usd"] is not None]
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    known = [
        r
        for r in mine
        if r["cost_usd"] is not None
        or (r["state"] != "started" and not any(r[name] for name in tokens))
    ]
    return Lane(
        caller=caller,
        project=project,
        principal=principal,
        requests=len(mine),
        errors=sum(r["state"] in UNSUCCESSFUL_STATES for r in mine),
        input_tokens=sum(r["input_tokens"] for r in mine),
        output_tokens=sum(r["output_tokens"] for r in mine),
        cache_read_tokens=sum(r["cache_read_tokens"] for r in mine),
        cache_write_tokens=sum(r["cache_write_tokens"] for r in mine),
        cost_usd=sum(costs) if known else None,
        priced=len(known),
        last_activity=max(r["started_at"] for r in mine) if mine else None,
    )


async def test_each_agents_lane_counts_exactly_its_requests_per_project(db: Database) -> None:
    rows = synthetic_rows(600)
    for i, row in enumerate(rows):
        if i % 7 == 0:
            row["cost_usd"] = None  # some rows have no known cost
    await bulk_insert(db, rows)

    lanes = await RecorderQuery(db).lanes(WINDOW_S, now=NOW)

    assert not lanes.more and lanes.since == NOW - WINDOW_S
    in_window = [r for r in rows if r["started_at"] >= NOW - WINDOW_S]
    # An agent is a principal's caller: two principals naming one agent are two lanes.
    agents = {(r["owner_principal"], r["caller"]) for r in in_window}
    assert {(agent.principal, agent.caller) for agent in lanes.agents} == agents
    assert len(agents) > len({caller for _principal, caller in agents})
    for agent in lanes.agents:

        def its(r: dict[str, Any], agent: Any = agent) -> bool:
            return (r["owner_principal"], r["caller"]) == (agent.principal, agent.caller)

        projects = {r["project"] for r in in_window if its(r)}
        assert {lane.project for lane in agent.projects} == projects
        for lane in agent.projects:
            assert_same(lane, expected_lane(rows, agent.principal, agent.caller, lane.project))
        assert agent.total.requests == sum(its(r) for r in in_window)
        assert agent.total.errors == sum(lane.errors for lane in agent.projects)
    # Busiest first, and every request in the window counted once.
    requests = [agent.total.requests for agent in lanes.agents]
    assert requests == sorted(requests, reverse=True)
    assert sum(requests) == len(in_window)


def assert_same(lane: Lane, want: Lane) -> None:
    # Costs are sums of floats: equal to a rounding error, not bit for bit.
    assert (lane.cost_usd is None) == (want.cost_usd is None)
    if want.cost_usd is not None:
        assert lane.cost_usd == pytest.approx(want.cost_usd)
    assert lane == Lane(**{**want.__dict__, "cost_usd": lane.cost_usd})


async def test_an_agent_with_no_priced_request_has_no_cost_and_a_hit_rate(db: Database) -> None:
    base = synthetic_rows(1)[0]
    rows = [
        {**base, "id": "a1", "caller": "editor", "cost_usd": None, "started_at": NOW - 5},
        {**base, "id": "a2", "caller": "editor", "cost_usd": None, "state": "failed"},
    ]
    rows[1]["started_at"] = NOW - 1
    await bulk_insert(db, rows)

    (agent,) = (await RecorderQuery(db).lanes(WINDOW_S, now=NOW)).agents

    assert agent.total.cost_usd is None and agent.total.priced == 0
    assert agent.total.requests == 2 and agent.total.errors == 1
    assert agent.total.last_activity == NOW - 1
    fresh, read, written = (
        base[k] * 2 for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens")
    )
    assert agent.total.cache_hit_rate == pytest.approx(read / (fresh + read + written))


async def test_a_request_that_used_no_tokens_has_a_known_cost_and_one_running_has_not(
    db: Database,
) -> None:
    """A call that failed before any token was reported costs nothing, and the recorder says
    so; the Agents page counted it as of unknown price ("only 110 of 132 requests have a
    known price", 20 of the 22 such failures: person pass, 2026-11-29)."""
    base = synthetic_rows(1)[0]
    none = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}
    rows = [
        {**base, "id": "p1", "caller": "editor", "cost_usd": 0.25, "started_at": NOW - 9},
        {**base, **none, "id": "f1", "caller": "editor", "cost_usd": None, "state": "failed"},
        {**base, **none, "id": "s1", "caller": "editor", "cost_usd": None, "state": "started"},
    ]
    rows[1]["started_at"], rows[2]["started_at"] = NOW - 5, NOW - 1
    await bulk_insert(db, rows)

    (agent,) = (await RecorderQuery(db).lanes(WINDOW_S, now=NOW)).agents

    assert (agent.total.requests, agent.total.priced) == (3, 2)  # the running one is not known
    assert agent.total.cost_usd == pytest.approx(0.25)
    only_failed = [{**rows[1], "id": "f2", "caller": "lint"}]
    await bulk_insert(db, only_failed)
    lanes = await RecorderQuery(db).lanes(WINDOW_S, now=NOW)
    (lint,) = (a for a in lanes.agents if a.caller == "lint")
    assert (lint.total.cost_usd, lint.total.priced) == (0.0, 1)  # $0, not "not known"


async def test_live_jobs_count_for_the_agent_their_first_row_names(db: Database) -> None:
    jobs = JobStore(db)
    for job_id in ("job-running", "job-queued", "job-done"):
        await created(jobs, job_id, request={"prompt": "hi"}, now=NOW - 3600)
    await jobs.mark_running("job-running", now=NOW - 3600, attempts=1)
    await completed(jobs, "job-done", "ok", now=NOW - 3500)
    base = {**synthetic_rows(1)[0], "state": "started", "cost_usd": None}
    rows = [
        # Started an hour ago, before the window: the agent still has a lane for its jobs.
        {**base, "id": "r1", "job_id": "job-running", "caller": "builder", "project": "apollo"},
        {**base, "id": "r2", "job_id": "job-queued", "caller": "builder", "project": "apollo"},
        {**base, "id": "r3", "job_id": "job-done", "caller": "builder", "project": "apollo"},
        # A later call that joined the running job names another caller: the first row wins.
        {**base, "id": "r4", "job_id": "job-running", "caller": "copycat", "project": "apollo"},
    ]
    for number, row in enumerate(rows):
        row["started_at"] = NOW - 3600 + number
    await bulk_insert(db, rows)

    lanes = await RecorderQuery(db).lanes(WINDOW_S, now=NOW)

    (agent,) = lanes.agents
    assert agent.caller == "builder" and agent.total.active_jobs == 2
    assert agent.total.requests == 0  # none of its requests started inside the window
    assert [lane.project for lane in agent.projects] == ["apollo"]


def test_agents_beyond_the_limit_are_left_out_and_said_so() -> None:
    lanes = [Lane(caller=f"agent-{i:02d}", project=None, requests=i) for i in range(12)]
    agents, more = group_by_agent(lanes, limit=10)
    assert more and len(agents) == 10
    assert agents[0].caller == "agent-11" and agents[-1].caller == "agent-02"


# SQLite only: it scanned the whole caller index until told which index to use; PostgreSQL's
# planner weighs the range itself, so there is nothing to check there.
@pytest.mark.parametrize("store_engine", ["sqlite"])
async def test_the_lanes_read_only_the_windows_range_of_the_time_index(db: Database) -> None:
    database = db.models.database
    plans: list[str] = []

    def explain(sql: str, params: list[Any]) -> Any:
        plan = database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        plans.append(" ".join(str(step[-1]) for step in plan))
        return database.execute_sql(sql, params)

    await db.read(lambda: read_lanes(explain, NOW, UNSUCCESSFUL_STATES, postgresql=False))

    assert "SEARCH requests USING INDEX requests_started (started_at>?)" in plans[0]


async def test_an_agents_lane_counts_what_its_client_sent_not_each_attempt(db: Database) -> None:
    """8 calls, 3 of them failed over from one target to another and answered there: the
    agent sent 8 requests and lost none. The lanes counted each attempt: 11 requests, 3 failed
    (`attempts.py`); the failed-over attempts are their own figure."""
    base = {**synthetic_rows(1)[0], "caller": "editor", "client_session": "s-1", "failed_over": 0}
    rows = [
        {**base, "id": f"ok{i}", "state": "completed", "started_at": NOW - 50 + i} for i in range(8)
    ]
    rows += [
        {**base, "id": f"fo{i}", "state": "failed", "failed_over": 1, "started_at": NOW - 50 + i}
        for i in range(3)
    ]
    rows.append({**base, "id": "lost", "caller": "lint", "state": "failed", "started_at": NOW - 1})
    await bulk_insert(db, rows)

    lanes = await RecorderQuery(db).lanes(WINDOW_S, now=NOW)

    editor, lint = lanes.agents
    assert (editor.caller, editor.total.requests, editor.total.errors) == ("editor", 8, 0)
    assert editor.total.failed_over == 3
    (project,) = editor.projects
    assert (project.requests, project.errors, project.failed_over) == (8, 0, 3)
    (session,) = editor.sessions
    assert (session.figures.requests, session.figures.errors) == (8, 0)
    assert session.figures.failed_over == 3
    assert (lint.total.requests, lint.total.errors, lint.total.failed_over) == (1, 1, 0)
