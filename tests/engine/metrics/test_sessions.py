"""`/metrics`' client sessions stay bounded however many ids callers invent: the most recent
sessions are kept, a key holder's at most its share, and what is dropped is counted."""

from __future__ import annotations

from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.metrics.sessions import SessionFigures


def _finished(session: str | None, principal: str = "local", cost: float = 0.5) -> RequestFinished:
    return RequestFinished(
        "r", "anthropic", "m", "completed", principal, "claude-code", 0.0, 1.0,
        input_tokens=10, output_tokens=5, cost_usd=cost, client_session=session,
    )  # fmt: skip


def _sessions(figures: SessionFigures) -> list[tuple[str, str]]:
    (requests, _tokens, _cost) = figures.families("main")
    return sorted({(s.labels["principal"], s.labels["session"]) for s in requests.samples})


def test_the_most_recent_sessions_are_kept_and_the_rest_counted_as_dropped() -> None:
    figures = SessionFigures(max_sessions=3, per_principal=2)
    for session in ("a", "b", "c", "a", "d"):
        figures.count(_finished(session))
    figures.count(_finished(None))  # a client that names none adds nothing
    assert _sessions(figures) == [("local", "a"), ("local", "c"), ("local", "d")]
    assert figures.dropped == 1


def test_a_key_holder_inventing_ids_keeps_only_its_share() -> None:
    figures = SessionFigures(max_sessions=10, per_principal=2)
    figures.count(_finished("mine"))
    for number in range(50):
        figures.count(_finished(f"made-up-{number}", principal="key:noisy"))
    kept = _sessions(figures)
    assert ("local", "mine") in kept
    assert [s for p, s in kept if p == "key:noisy"] == ["made-up-48", "made-up-49"]


def test_a_sessions_figures_add_up() -> None:
    figures = SessionFigures(max_sessions=10, per_principal=2)
    for _ in range(3):
        figures.count(_finished("s"))
    requests, tokens, cost = figures.families("main")
    assert [s.value for s in requests.samples] == [3.0]
    assert {s.labels["type"]: s.value for s in tokens.samples} == {"input": 30.0, "output": 15.0}
    assert [s.value for s in cost.samples] == [1.5]
