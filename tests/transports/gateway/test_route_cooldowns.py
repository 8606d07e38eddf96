"""An API target that fails cools down or has its circuit opened: it goes behind the others,
visibly (the log, `/health`, the process health, the recorder's reasons), and comes back;
a cooling target is moved, never refused, so a remote caller cannot deny it to others.

The failures here are the local user's, which count for everyone; a remote key's count for
that key alone (`tests/security/test_target_health_per_principal.py`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import AbstractAsyncContextManager as AsyncContextManager

import aiohttp
import openai
import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from tests.clock import Clock
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.route_targets import RouteRig, route_rig

TWO = ["alpha/gpt-4o-mini", "beta/gpt-4o-mini"]
FAST_CIRCUIT = {"gateway.cooldown_first_ms": 400, "gateway.cooldown_failures": 3}
SETTLE_S = 5.0


RETRY_AFTER_S = 3


async def test_a_429_cools_the_target_for_its_retry_after_and_its_share_goes_to_the_other(
    start_gateway: GatewayFactory,
) -> None:
    route = {"targets": TWO, "strategy": "round-robin"}
    async with route_rig(start_gateway, route, models=["gpt-4o-mini"] * 2, local=True) as rig:
        # Long enough that seven requests fit in it on a loaded machine (1 s did not, in CI).
        rig.upstreams["alpha"].script(Reply.error(429, retry_after_s=RETRY_AFTER_S))
        assert await rig.ask() == "beta"  # alpha refused: beta answered the same request
        served = Counter([await rig.ask() for _ in range(6)])
        assert served == {"beta": 6} and rig.calls("alpha") == 1
        rows = await rig.rows()
        assert rows[-1]["chosen_because"].startswith("round-robin: turn ")
        cooling = rig.gateway.engine.providers.cooling()
        assert [(v.label, v.state, v.last_error) for v in cooling] == [
            ("alpha/gpt-4o-mini", "cooling", "429")
        ]
        await asyncio.sleep(RETRY_AFTER_S + 0.1)
        served = Counter([await rig.ask() for _ in range(4)])
        assert served == {"alpha": 2, "beta": 2}  # its turns are back
        assert rig.gateway.engine.providers.cooling() == []


def _alpha_then_beta(start_gateway: GatewayFactory, clock: Clock) -> AsyncContextManager[RouteRig]:
    """Alpha's target first, then beta's, cooling fast, their rests measured by `clock`."""
    route = {"targets": TWO, "strategy": "priority"}
    return route_rig(
        start_gateway,
        route,
        models=["gpt-4o-mini"] * 2,
        settings=FAST_CIRCUIT,
        local=True,
        clock=clock,
    )


async def test_failures_in_a_row_open_the_circuit_then_one_trial_closes_it(
    start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    async with _alpha_then_beta(start_gateway, clock) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.default = Reply.error(503)
        with caplog.at_level(logging.WARNING):
            assert [await rig.ask() for _ in range(3)] == ["beta"] * 3
        assert rig.calls("alpha") == 3
        assert "alpha/gpt-4o-mini failed (503, 3 in a row)" in caplog.text
        # Open: alpha is not asked first any more; beta answers at once.
        assert [await rig.ask() for _ in range(5)] == ["beta"] * 5
        assert rig.calls("alpha") == 3
        (view,) = rig.gateway.engine.providers.cooling()
        assert view.state == "open" and view.failures == 3 and view.last_error == "503"
        health = rig.gateway.engine.process_health()["coolingTargets"]
        assert health[0]["target"] == "alpha/gpt-4o-mini" and health[0]["state"] == "open"
        assert await _public_health_cooling(rig.gateway.base_url) == ["alpha"]
        rows = await rig.rows()
        assert rows[-1]["chosen_because"] == "priority: listed 1 of 1"
        alpha.default = Reply.ok()  # it recovered
        clock.advance(0.6)  # the rest (400 ms, spread by a tenth) ended: half open
        assert await rig.ask() == "alpha"  # the trial
        assert rig.gateway.engine.providers.cooling() == []
        assert [await rig.ask() for _ in range(3)] == ["alpha"] * 3


async def test_a_failure_after_its_rest_doubles_the_next_one(
    start_gateway: GatewayFactory,
) -> None:
    clock = Clock()
    async with _alpha_then_beta(start_gateway, clock) as rig:
        rig.upstreams["alpha"].default = Reply.error(500)
        for _ in range(3):
            await rig.ask()
        (first,) = rig.gateway.engine.providers.cooling()
        assert first.cooling_s is not None and first.cooling_s <= 0.45
        clock.advance(0.5)
        assert await rig.ask() == "beta"  # the trial failed: alpha asked, beta answered
        assert rig.calls("alpha") == 4
        (again,) = rig.gateway.engine.providers.cooling()
        assert again.cooling_s is not None and 0.6 < again.cooling_s <= 0.9


async def test_one_keys_429_does_not_cool_a_target_whose_next_key_answers(
    start_gateway: GatewayFactory,
) -> None:
    route = {"targets": TWO, "strategy": "priority"}
    async with route_rig(start_gateway, route, models=["gpt-4o-mini"] * 2, local=True) as rig:
        await rig.gateway.engine.vault.store_key(
            LOCAL_CALLER, "alpha", "sk-alpha-second-key-0000", key_name="b"
        )
        rig.upstreams["alpha"].script(Reply.error(429, retry_after_s=30))
        assert await rig.ask() == "alpha"  # its other key answered
        assert rig.gateway.engine.providers.cooling() == []
        assert await rig.ask() == "alpha"


async def test_a_cooling_target_with_nothing_else_is_still_asked(
    start_gateway: GatewayFactory,
) -> None:
    """A caller that provokes 500s cannot take a model away from everybody: with no other
    target, the one cooling down is asked all the same."""
    route = {"targets": TWO[:1], "strategy": "priority"}
    async with route_rig(
        start_gateway, route, models=["gpt-4o-mini"], settings=FAST_CIRCUIT, local=True
    ) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.script(*[Reply.error(500)] * 3)
        for _ in range(3):
            with pytest.raises(openai.APIStatusError) as caught:
                await rig.ask()
            assert caught.value.status_code == 502
        assert rig.gateway.engine.providers.cooling()[0].state == "open"
        assert await rig.ask() == "alpha"
        rows = await rig.rows()
        assert rows[-1]["chosen_because"].startswith("cooling down after 500")


async def test_a_failing_owner_goes_behind_its_fallback_on_a_route_without_targets(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """Every route gets cool-downs: a model whose provider answers 503 goes behind its
    fallback, which answers first while the circuit is open."""
    gateway = await start_gateway(
        {"gateway.routes": {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}}, **FAST_CIRCUIT}
    )
    upstream.by_dialect["chat"] = Reply.error(503)
    async with aiohttp.ClientSession() as session:
        outcomes = []
        for _ in range(5):
            async with session.post(
                gateway.base_url + "/v1/chat/completions",
                json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            ) as response:
                body = await response.json()
                assert response.status == 200, body
                outcomes.append([a["outcome"] for a in body["x_gateway"]["attempts"]])
    # Three 503s in a row; then the fallback goes first and the owner is not asked.
    assert outcomes == [["503", "ok"]] * 3 + [["ok"]] * 2
    (view,) = gateway.engine.providers.cooling()
    assert view.label == "openai/gpt-4o" and view.last_error == "503"
    rows = await gateway.engine.recorder.recent(limit=1)
    assert rows[0]["chosen_because"] == "fallback"


async def _public_health_cooling(base_url: str) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url + "/health") as response,
    ):
        body = await response.json()
    cooling: list[str] = body["cooling"]
    return cooling
