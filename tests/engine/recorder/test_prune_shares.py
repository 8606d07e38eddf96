"""`fair_shares`: which principals lose rows over the cap, and how many each keeps."""

from __future__ import annotations

from llmgw_desktop.engine.recorder.prune import fair_shares


def test_under_the_cap_nobody_loses_rows() -> None:
    assert fair_shares({"a": 10, "b": 20}, 30) == {}


def test_the_principal_over_its_share_alone_is_cut() -> None:
    # b and c keep all they have; a keeps what they leave.
    assert fair_shares({"a": 900, "b": 50, "c": 10}, 500) == {"a": 440}


def test_principals_all_over_an_equal_share_each_keep_it() -> None:
    assert fair_shares({"a": 100, "b": 80, "c": 5}, 65) == {"a": 30, "b": 30}
