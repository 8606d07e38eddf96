"""How the balancer orders a plan: each strategy, the reasons it gives, and cool-downs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.config.principals import LOCAL
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer, BalancingSettings
from llmgw_desktop.engine.gateway.balancing.decaying import DecayingFigure
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target, plan_request
from tests.clock import Clock

THREE = ["openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]
A, B, C = (Target(*t.split("/", 1)) for t in THREE)


def _plan(route: dict[str, Any], **config: Any) -> Plan:
    registry = ModelRegistry(
        gateway_config(providers={}, aliases={}, routes={"team": route}, fallback=[], **config)
    )
    return plan_request(registry, "team")


def _balancer(clock: Clock, **settings: Any) -> Balancer:
    return Balancer(BalancingSettings(**settings), clock=clock, wall=lambda: 0.0)


def _first(balancer: Balancer, plan: Plan, **kw: Any) -> Target:
    ordered = balancer.order(
        plan,
        principal=kw.get("principal", LOCAL),
        caller=kw.get("caller", ""),
        tokens=10,
        cost=kw.get("cost", lambda _t: None),
    )
    return ordered.targets[0]


def test_weighted_shares_are_exact_and_a_cooling_targets_share_goes_to_the_others() -> None:
    clock = Clock()
    balancer = _balancer(clock, cooldown=Backoff(5.0, 60.0), cooldown_failures=1)
    plan = _plan({"targets": THREE, "strategy": "weighted", "weights": [3, 1, 1]})
    served = Counter(_first(balancer, plan) for _ in range(500))
    assert served == {A: 300, B: 100, C: 100}
    balancer.failed(
        A, "503", None, principal=LOCAL
    )  # its circuit opens (one failure is enough here)
    served = Counter(_first(balancer, plan) for _ in range(100))
    assert served == {B: 50, C: 50}
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.targets[-1] == A
    assert ordered.reason(len(ordered.targets) - 1).startswith("cooling down after 503 (5 s left)")
    clock.now += 6  # the rest ended: half open, its turn comes back
    assert A in {_first(balancer, plan) for _ in range(5)}


def test_least_busy_takes_the_fewest_in_flight_and_ties_take_turns() -> None:
    balancer = _balancer(Clock())
    plan = _plan({"targets": THREE, "strategy": "least-busy"})
    held = [balancer.began(A, LOCAL), balancer.began(A, LOCAL), balancer.began(B, LOCAL)]
    assert _first(balancer, plan) == C
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.reason(0) == (
        "least-busy: 0 in flight (openrouter/openai/gpt-4o-mini 1 in flight, "
        "openai/gpt-4o-mini 2 in flight)"
    )
    for flight in held:
        flight.release()
        flight.release()  # once only
    assert {_first(balancer, plan) for _ in range(3)} == {A, B, C}


def test_lowest_latency_forgets_so_a_slow_target_is_tried_again() -> None:
    clock = Clock()
    balancer = _balancer(clock, latency_half_life_s=1.0)
    plan = _plan({"targets": THREE[:2], "strategy": "lowest-latency"})
    assert _first(balancer, plan) == A  # both untried: listed order
    balancer.answered(A, 0.050, {}, principal=LOCAL)
    assert _first(balancer, plan) == B  # untried goes first
    balancer.answered(B, 0.040, {}, principal=LOCAL)
    balancer.answered(A, 2.0, {}, principal=LOCAL)  # A slowed down
    turns = []
    for _ in range(20):
        clock.now += 0.5
        first = _first(balancer, plan)
        turns.append(first)
        balancer.answered(first, 0.040 if first == B else 0.030, {}, principal=LOCAL)
    # B serves while A's figure fades; then A is tried again and, as fast as B again, shares.
    assert turns[0] == B
    assert turns.index(A) > 3
    assert turns[-8:].count(A) >= 3


def test_lowest_cost_puts_the_unpriced_last() -> None:
    balancer = _balancer(Clock())
    plan = _plan({"targets": THREE, "strategy": "lowest-cost"})
    prices = {A: 0.002, B: None, C: 0.001}
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=prices.get)
    assert ordered.targets == (C, A, B)
    assert ordered.reason(2) == "lowest-cost: next, unpriced"


def test_a_cooling_owner_goes_behind_its_fallbacks() -> None:
    clock = Clock()
    balancer = _balancer(clock)
    registry = ModelRegistry(
        gateway_config(
            providers={},
            aliases={},
            routes={"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}},
            fallback=[],
        )
    )
    plan = plan_request(registry, "gpt-4o")
    owner, fallback = plan.targets
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.targets == (owner, fallback)
    assert [ordered.reason(0), ordered.reason(1)] == ["owner of the model", "fallback"]
    balancer.failed(owner, "429", 30.0, principal=LOCAL)
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.targets == (fallback, owner)
    assert ordered.reason(1).startswith("cooling down after 429 (")
    balancer.answered(owner, 0.1, {}, principal=LOCAL)  # a 2xx (its Test button, a trial) closes it
    assert (
        balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None).targets[0]
        == owner
    )


def test_failures_that_say_nothing_of_the_target_do_not_cool_it() -> None:
    balancer = _balancer(Clock(), cooldown_failures=1)
    for outcome in ("resting", "share", "no_key", "400", "untranslatable"):
        balancer.failed(A, outcome, None, principal=LOCAL)
    assert balancer.cooling() == []
    balancer.failed(A, "timeout", None, principal=LOCAL)
    (view,) = balancer.cooling()
    assert view.label == A.label and view.state == "open" and view.last_error == "timeout"


def test_a_streams_first_token_is_no_verdict_its_end_is() -> None:
    """A stream's first token is timed but leaves the circuit as it was; its end decides:
    broken by the upstream, a failure; whole, the circuit closes."""
    clock = Clock()
    balancer = _balancer(clock, cooldown_failures=2)
    plan = _plan({"targets": THREE[:2], "strategy": "priority"})
    for _ in range(2):
        balancer.first_token(A, 0.2, {})
        balancer.stream_ended(A, plan, principal=LOCAL, broke=True, body="")
    (view,) = balancer.cooling()
    assert (view.label, view.state, view.last_error) == (A.label, "open", "broken")
    assert _first(balancer, plan) == B
    clock.advance(10.0)  # its rest over: the next call is its trial
    flight = balancer.began(A, LOCAL)
    balancer.first_token(A, 0.2, {})
    assert balancer.cooling()[0].state == "half_open"  # begun is not answered
    balancer.stream_ended(A, plan, principal=LOCAL, broke=False, body="")
    flight.release()
    assert balancer.cooling() == []
    assert _first(balancer, plan) == A


def test_caller_keeps_a_caller_on_one_target() -> None:
    balancer = _balancer(Clock())
    plan = _plan({"targets": THREE, "strategy": "caller"})
    firsts = {_first(balancer, plan, caller="codex") for _ in range(10)}
    assert len(firsts) == 1


def test_route_view_gives_each_targets_share_latency_and_state() -> None:
    clock = Clock()
    balancer = _balancer(clock, latency_half_life_s=10.0)
    plan = _plan({"targets": THREE[:2], "strategy": "weighted", "weights": [1, 1]})
    for _ in range(4):
        balancer.served(plan, A)
        balancer.answered(A, 0.2, {}, principal=LOCAL)
    balancer.served(plan, B)
    balancer.failed(B, "429", 20.0, principal=LOCAL)
    view = balancer.route_view(plan.route, list(zip(plan.pool, plan.weights, strict=True)))
    a, b = (t.to_dict() for t in view.targets)
    assert a["share"] == 0.8 and a["latencyMs"] == 200.0 and a["state"] == "closed"
    assert b["share"] == 0.2 and b["state"] == "cooling" and b["coolingSeconds"] == 20.0
    assert view.to_dict()["strategy"] == "weighted"


def test_a_route_view_shows_the_latency_measured_not_the_strategys_faded_figure() -> None:
    """A target failing every call gives no new latency, and the figure the lowest-latency
    strategy reads fades (so a target once slow is tried again): shown as its latency, a
    failing target looked faster each minute (a review under Xvfb, 2026-11-29: 142, 83, 61 ms
    while its answers had taken 300 ms)."""
    clock = Clock()
    balancer = _balancer(clock, latency_half_life_s=60.0)
    plan = _plan({"targets": THREE[:2], "strategy": "lowest-latency"})
    balancer.answered(A, 0.3, {}, principal=LOCAL)
    for _ in range(3):
        clock.now += 60.0
        balancer.failed(A, "500", None, principal=LOCAL)
    view = balancer.route_view(plan.route, list(zip(plan.pool, plan.weights, strict=True)))
    assert view.targets[0].to_dict()["latencyMs"] == 300.0
    clock.now += 120.0  # past four half-lives without an answer: forgotten, as before
    view = balancer.route_view(plan.route, list(zip(plan.pool, plan.weights, strict=True)))
    assert view.targets[0].latency_s is None


def test_a_half_open_target_says_whether_its_trial_is_on_its_way() -> None:
    """Half open, no call on its way to it: `trial` False (the next call tries it); while its
    trial call is out, True. The window said "Being tried again" for both."""
    clock = Clock()
    balancer = _balancer(clock, cooldown_failures=1)
    balancer.failed(A, "500", None, principal=LOCAL)
    clock.advance(10.0)  # its rest over
    (view,) = balancer.cooling()
    assert (view.state, view.trial, view.to_dict()["trialInFlight"]) == ("half_open", False, False)
    flight = balancer.began(A, LOCAL)
    (view,) = balancer.cooling()
    assert (view.state, view.trial) == ("half_open", True)
    flight.release()  # ended without a verdict: the next call tries it again
    assert balancer.cooling()[0].trial is False


def test_a_reason_for_a_targets_place_says_its_failure_in_words() -> None:
    """The recorder's reason for a target moved last read "cooling down after broken"."""
    balancer = _balancer(Clock(), cooldown_failures=1)
    plan = _plan({"targets": THREE[:2], "strategy": "priority"})
    balancer.first_token(A, 0.2, {})
    balancer.stream_ended(A, plan, principal=LOCAL, broke=True, body="")
    ordered = balancer.order(plan, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.targets[-1] == A
    assert ordered.reason(1).startswith("cooling down after its answers broke off ("), (
        ordered.reason(1)
    )


def test_a_new_plan_of_a_route_is_ordered_by_its_own_weights_and_reasons() -> None:
    # A plan's pool is made into candidates once and shared by its requests: a config that
    # changes the route's weights makes a new plan, which must not be read as the old one.
    balancer = _balancer(Clock())
    before = _plan({"targets": THREE, "strategy": "weighted", "weights": [3, 1, 1]})
    assert Counter(_first(balancer, before) for _ in range(5)) == {A: 3, B: 1, C: 1}
    ordered = balancer.order(before, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.reason(0) == "weighted: 3 of 5 shares"
    assert ordered.reason(1) == "weighted: next by weight (1 of 5)"
    after = _plan({"targets": THREE, "strategy": "weighted", "weights": [0, 0.5, 2]})
    ordered = balancer.order(after, principal=LOCAL, caller="", tokens=10, cost=lambda _t: None)
    assert ordered.targets == (C, B, A)
    assert [ordered.reason(i) for i in range(3)] == [
        "weighted: 2 of 2.5 shares",
        "weighted: next by weight (0.5 of 2.5)",
        "weighted: next by weight (0 of 2.5)",
    ]


def test_the_candidates_kept_for_plans_stay_few_and_right(monkeypatch: Any) -> None:
    from llmgw_desktop.engine.gateway.balancing import balancer as balancer_module

    monkeypatch.setattr(balancer_module, "_BARE_PLANS", 2)
    balancer = _balancer(Clock())
    plans = [
        _plan({"targets": THREE, "strategy": "weighted", "weights": weights})
        for weights in ([1, 0, 0], [0, 1, 0], [0, 0, 1])
    ]
    for _ in range(3):
        assert [_first(balancer, plan) for plan in plans] == [A, B, C]
        assert len(balancer._bare) <= 2


def test_a_decaying_figure_fades_by_half_each_half_life_and_never_grows_back_in_time() -> None:
    figure = DecayingFigure(10.0)
    assert figure.now(5.0) is None  # no sample yet
    figure.add(0.8, 100.0)
    assert figure.now(100.0) == 0.8  # no time since
    assert figure.now(90.0) == 0.8  # a clock read before the sample: not faded, not grown
    assert figure.now(110.0) == pytest.approx(0.4)
    assert figure.now(140.0) == pytest.approx(0.05)
    assert figure.now(140.5) is None  # forgotten after four half-lives
    figure.add(0.2, 110.0)  # moved from the faded 0.4 toward the sample
    assert figure.value == pytest.approx(0.4 + 0.3 * (0.2 - 0.4))
    counted = DecayingFigure(0.0)  # no half-life: never fades
    counted.count(1.0)
    counted.count(500.0)
    assert counted.now(10_000.0) == 2.0
