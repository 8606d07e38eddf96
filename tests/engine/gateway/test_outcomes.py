"""Attempt outcomes are typed (`outcomes.Outcome`) where the loop, the rows and the figures use
them, and stored and exported as the very words they were before they were typed: the route
log in the recorder's rows, the `upstream_<outcome>` error codes and the `/metrics` labels
counted from them must not change under a stored history or a dashboard's queries."""

from __future__ import annotations

import json

from llmgw_desktop.engine.gateway.http_client.failure import UpstreamFailure, malformed_answer
from llmgw_desktop.engine.gateway.outcomes import NOT_ASKED, Outcome
from llmgw_desktop.engine.gateway.records.report import Attempt

# The words the route log has always stored; a new outcome adds its word here, none changes
# (`canceled`, 2026-11-29: a request written whose client left before the answer began).
STORED = {
    "ok", "disabled", "paused", "no_key", "store_unavailable", "own_address", "not_configured",
    "resting", "untranslatable", "unpriced", "unmetered", "outside_key_scope", "guard_blocked",
    "cache_hit", "connect", "timeout", "connection", "share", "hung", "stream_start",
    "malformed", "too_large", "broken", "http", "canceled",
}  # fmt: skip


def test_each_outcome_is_stored_as_the_word_it_always_was() -> None:
    assert {o.value for o in Outcome} == STORED
    for outcome in Outcome:
        assert str(outcome) == f"{outcome}" == outcome.value
        assert json.dumps(Attempt("openai/gpt-4o", "", outcome).to_dict()) == json.dumps(
            {"target": "openai/gpt-4o", "key": "", "outcome": outcome.value}
        )
        assert f"upstream_{outcome}" == f"upstream_{outcome.value}"  # the row's error code


def test_a_failure_is_its_status_when_it_has_one_else_its_typed_kind() -> None:
    assert UpstreamFailure("x", status=429, fallback=True).outcome == "429"
    connect = UpstreamFailure("x", fallback=True, kind=Outcome.CONNECT)
    assert connect.outcome == Outcome.CONNECT == "connect"
    assert malformed_answer("openai", ValueError("no")).outcome == "502"
    assert set(NOT_ASKED) <= set(Outcome)
