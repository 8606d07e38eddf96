"""Whose failures move whose requests: a principal's own circuit, and the shared one that
counts only failures that are not one caller's doing (`balancing/health.py`)."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.config.principals import LOCAL
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer, BalancingSettings
from llmgw_desktop.engine.gateway.balancing.health import MAX_PRINCIPALS, TargetHealth
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target, plan_request
from tests.clock import Clock

TWO = ["openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini"]
A, B = (Target(*t.split("/", 1)) for t in TWO)
REST = Backoff(5.0, 60.0)
ALICE, BOB, CAROL = "key:alice", "key:bob", "key:carol"


def _plan() -> Plan:
    registry = ModelRegistry(
        gateway_config(
            providers={},
            aliases={},
            routes={"team": {"targets": TWO, "strategy": "priority"}},
            fallback=[],
        )
    )
    return plan_request(registry, "team")


def _order(balancer: Balancer, principal: str) -> list[Target]:
    ordered = balancer.order(
        _plan(), principal=principal, caller="", tokens=10, cost=lambda _t: None
    )
    return list(ordered.targets)


def _fail(health: TargetHealth, who: str, body: str, now: float = 0.0, **kw: Any) -> bool | None:
    return health.failed(
        kw.get("outcome", "500"),
        who,
        body,
        now,
        backoff=REST,
        threshold=3,
        retry_after_s=kw.get("retry_after_s"),
    )


def test_one_principals_failures_rest_the_target_for_it_alone() -> None:
    clock = Clock()
    balancer = Balancer(BalancingSettings(cooldown=REST, cooldown_failures=3), clock=clock)
    for n in range(6):
        balancer.failed(A, "500", None, principal=ALICE, body=f"body {n}")
    assert _order(balancer, ALICE) == [B, A]
    assert _order(balancer, BOB) == [A, B]
    ordered = balancer.order(_plan(), principal=ALICE, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.reason(1).startswith("cooling down for this caller after 500 (")
    assert balancer.cooling() == []  # nobody else's requests move
    (view, _) = balancer.route_view(_plan().route, [(A, 1.0), (B, 1.0)]).targets
    assert view.cooling_for == 1 and view.state == "closed"


def test_two_principals_with_bodies_of_their_own_rest_it_for_everyone() -> None:
    health = TargetHealth()
    assert _fail(health, ALICE, "a1") is None
    assert _fail(health, ALICE, "a2") is None
    # Bob's failure makes it two principals: the three bodies count for everyone.
    assert _fail(health, BOB, "b1") is True
    assert health.resting(CAROL, 0.0) is not None
    assert health.shared.failures == 3


def test_a_body_failing_again_counts_once_whoever_sends_it() -> None:
    health = TargetHealth()
    for who in (ALICE, BOB, ALICE, BOB, ALICE, BOB):
        _fail(health, who, "the same body")
    assert health.resting(CAROL, 0.0) is None
    # Their own circuits rest it for each of them.
    assert health.resting(ALICE, 0.0) is not None and health.resting(BOB, 0.0) is not None


def test_the_local_users_failures_count_for_everyone_each_time() -> None:
    health = TargetHealth()
    for _ in range(3):
        _fail(health, LOCAL, "a retried body")
    assert health.resting(ALICE, 0.0) is not None


def test_one_remote_429_cools_it_for_that_principal_and_a_second_principals_for_all() -> None:
    health = TargetHealth()
    assert _fail(health, ALICE, "a", outcome="429", retry_after_s=20.0) is False
    assert health.resting(BOB, 0.0) is None
    assert _fail(health, BOB, "b", outcome="429", retry_after_s=20.0) is True
    resting = health.resting(CAROL, 1.0)
    assert resting is not None and resting.everyone and resting.left_s == 19.0


def test_an_answer_closes_the_shared_circuit_and_forgets_the_failures_in_a_row() -> None:
    health = TargetHealth()
    _fail(health, ALICE, "a1")
    _fail(health, ALICE, "a2")
    assert health.answered(BOB) is False
    # The earlier failures were forgotten: Bob's one failure is not a second principal's.
    assert _fail(health, BOB, "b1") is None
    assert health.resting(CAROL, 0.0) is None


def test_a_half_open_trial_is_its_own_principals_and_others_pass_over_it() -> None:
    clock = Clock()
    balancer = Balancer(BalancingSettings(cooldown=REST, cooldown_failures=1), clock=clock)
    balancer.failed(A, "500", None, principal=ALICE, body="x")
    clock.now += 6  # its own rest ended: half open for Alice
    flight = balancer.began(A, ALICE)  # Alice's trial
    assert _order(balancer, BOB) == [A, B]  # not Bob's circuit
    flight.release()
    balancer.answered(A, 0.1, {}, principal=ALICE)
    assert _order(balancer, ALICE) == [A, B]


def test_the_principals_kept_are_bounded() -> None:
    health = TargetHealth()
    for n in range(MAX_PRINCIPALS + 10):
        _fail(health, f"key:k{n}", "same")
    assert health.cooling_for(0.0) == 0  # one failure each: none rests yet
    assert len(health._own) == MAX_PRINCIPALS
