"""Spend per provider, model, project and agent over a window, the same on SQLite and
PostgreSQL; unpriced rows are counted apart, never as $0."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.recorder import cost_breakdown as breakdown_module
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.recorder.rows import apply_entries
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED

NOW = 1_700_000_000.0
DAY = 86400.0


def _row(i: int, age_s: float, **fields: object) -> dict[str, object]:
    return {
        "id": f"r{i:04d}",
        "started_at": NOW - age_s,
        "finished_at": NOW - age_s + 1,
        "owner_principal": "local",
        "provider": "openai",
        "model": "gpt-5",
        "caller": "agent-a",
        "project": "alpha",
        "state": "completed",
        "input_tokens": 100,
        "output_tokens": 10,
        "cost_usd": 0.5,
    } | fields


async def _store(db: Database, rows: list[dict[str, object]]) -> None:
    database = db.models.database
    await db.run(lambda: apply_entries(database, [{"insert": row} for row in rows]))


async def test_breakdown_groups_a_window_and_counts_unpriced_rows_apart(db: Database) -> None:
    await _store(
        db,
        [
            _row(1, 3600),
            _row(2, 7200, caller="agent-b", cost_usd=0.25),
            _row(3, 7200, caller="agent-b", model="local-llama", cost_usd=None),
            # No tokens and no cost (refused): not "unpriced", nothing was used.
            _row(4, 60, caller="agent-b", input_tokens=0, output_tokens=0, cost_usd=None),
            _row(5, 3 * DAY, caller="agent-c", cost_usd=2.0),  # outside 24 h, inside 7 d
        ],
    )
    query = RecorderQuery(db)
    day = await query.costs("caller", DAY, now=NOW)
    assert [(g.name, g.requests, g.cost_usd, g.unpriced) for g in day.groups] == [
        ("agent-a", 1, pytest.approx(0.5), 0),
        ("agent-b", 3, pytest.approx(0.25), 1),
    ]
    assert (day.total.requests, day.total.priced, day.total.unpriced) == (4, 2, 1)
    assert day.total.cost_usd == pytest.approx(0.75)
    assert day.prices_revised == PRICES_REVISED and day.price_sources
    week = await query.costs("model", 7 * DAY, now=NOW)
    assert [(g.name, g.cost_usd) for g in week.groups] == [
        ("gpt-5", pytest.approx(2.75)),
        ("local-llama", 0.0),
    ]
    by_project = await query.costs("project", 7 * DAY, now=NOW)
    assert [g.name for g in by_project.groups] == ["alpha"]


async def test_breakdown_lists_the_biggest_groups_and_keeps_the_true_total(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breakdown_module, "GROUPS_MAX", 3)
    await _store(db, [_row(i, 60, provider=f"p{i}", cost_usd=float(i)) for i in range(1, 6)])
    result = await RecorderQuery(db).costs("provider", DAY, now=NOW)
    assert [g.name for g in result.groups] == ["p5", "p4", "p3"]
    assert result.groups_left_off and result.total.cost_usd == pytest.approx(15.0)


async def test_unknown_dimension_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="cannot group"):
        await RecorderQuery(db).costs("prompt", DAY, now=NOW)  # type: ignore[arg-type]


async def test_breakdown_by_principal_gives_each_gateway_key_its_own_spend(db: Database) -> None:
    """The Keys page reads what each key spent: the rows' owner, not the agent they name."""
    await _store(
        db,
        [
            _row(1, 3600, owner_principal="key:ci-bot", cost_usd=0.5),
            _row(2, 600, owner_principal="key:ci-bot", caller="other-name", cost_usd=0.25),
            _row(3, 600, owner_principal="key:laptop", cost_usd=0.125),
            _row(4, 600),  # the local user's own call
            _row(5, 3 * DAY, owner_principal="key:laptop", cost_usd=9.0),  # before the window
        ],
    )
    day = await RecorderQuery(db).costs("principal", DAY, now=NOW)
    assert [(g.name, g.requests, g.cost_usd) for g in day.groups] == [
        ("key:ci-bot", 2, pytest.approx(0.75)),
        ("local", 1, pytest.approx(0.5)),
        ("key:laptop", 1, pytest.approx(0.125)),
    ]
    assert day.total.cost_usd == pytest.approx(1.375)


async def test_finished_before_leaves_out_what_finished_later_and_what_still_runs(
    db: Database,
) -> None:
    """The header reads today's spend up to a moment and adds later requests as they finish:
    the read must leave those out, or they are counted twice."""
    await _store(
        db,
        [
            _row(1, 600),  # finished 599 s ago
            _row(2, 30, cost_usd=0.25),  # finished 29 s ago: after the cut
            _row(3, 60, finished_at=None, cost_usd=None),  # still running
        ],
    )
    query = RecorderQuery(db)
    upto = await query.costs("provider", DAY, now=NOW, finished_before=NOW - 60)
    assert (upto.total.requests, upto.total.cost_usd) == (1, pytest.approx(0.5))
    whole = await query.costs("provider", DAY, now=NOW)
    assert (whole.total.requests, whole.total.cost_usd) == (3, pytest.approx(0.75))
