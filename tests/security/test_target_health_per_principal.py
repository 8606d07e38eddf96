"""One key's failures move only its own traffic; a provider that fails for several callers, or
for the local user, cools for everyone (issue 62, item 3).

A route `team-model` over two scripted upstreams (alpha first, beta second, `priority`), on a
locked gateway with gateway keys, called through the official OpenAI SDK. The attacker's key
cannot even reach beta (its scope is alpha alone): it sends requests that make alpha answer 500
(or take longer than the first-byte limit). Before, alpha then cooled down for everyone: every
other key's calls went to beta, at beta's price, with their prompts, for as long as the
attacker kept it up. Now those failures are the attacker's: alpha goes behind beta for its own
calls only, and a body that fails again the same way counts once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.key_scope import KeyScope
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER, LOCAL_CALLER
from tests.fakes.upstream import Reply
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.transports.gateway.route_targets import RouteRig, route_rig

TWO = ["alpha/gpt-4o-mini", "beta/gpt-4o-mini"]
ROUTE = {"targets": TWO, "strategy": "priority"}
# Three failures in a row open a circuit; a long first rest, so nothing ends it mid-test.
CIRCUIT = {"gateway.cooldown_failures": 3, "gateway.cooldown_first_ms": 60_000}
FIRST_BYTE_MS = 400
ATTACKS = 6


async def _key(rig: RouteRig, name: str, providers: Sequence[str] = ()) -> openai.AsyncOpenAI:
    made = await rig.gateway.engine.keys.create(
        LOCAL_CALLER, KeySpec(name=name, scope=KeyScope.of(providers=providers))
    )
    return openai_client(rig.gateway, made.secret)


async def _ask(client: openai.AsyncOpenAI, text: str, **extra: Any) -> str | int:
    """One chat; the provider that answered, or the status of the error the client got."""
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model="team-model", messages=[{"role": "user", "content": text}], **extra
        )
    except openai.APIStatusError as exc:
        return exc.status_code
    if extra.get("stream"):
        async for _ in raw.parse():
            pass
    return raw.headers["x-gateway-provider"]


async def _attack(rig: RouteRig, attacker: openai.AsyncOpenAI, how: str) -> None:
    """`ATTACKS` requests of the attacker's that make alpha fail (each a body of its own)."""
    alpha = rig.upstreams["alpha"]
    for n in range(ATTACKS):
        if how == "500":
            alpha.script(Reply.error(500, "poisoned"))
            assert await _ask(attacker, f"poison {n}") in (502, 504)
        else:  # made to time out: silent past the first-byte limit
            alpha.script(Reply.slow(FIRST_BYTE_MS / 1000 * 5))
            assert await _ask(attacker, f"slow {n}", stream=True) in (502, 504)


@pytest.mark.parametrize("how", ["500", "timeout"])
async def test_one_keys_failures_do_not_move_another_keys_calls(
    start_gateway: GatewayFactory,  # noqa: F811
    how: str,
) -> None:
    settings = {**CIRCUIT, "gateway.first_byte_timeout_ms": FIRST_BYTE_MS}
    async with route_rig(
        start_gateway, ROUTE, models=["gpt-4o-mini"] * 2, settings=settings
    ) as rig:
        attacker = await _key(rig, "attacker", providers=["alpha"])
        await _attack(rig, attacker, how)
        # Every other key's calls still go to the first provider.
        assert [await rig.ask() for _ in range(4)] == ["alpha"] * 4
        assert rig.calls("beta") == 0
        assert rig.gateway.engine.providers.cooling() == []
        # The attacker's own calls: alpha is the only target its key may use, so it is asked
        # all the same (moved behind nothing).
        assert await _ask(attacker, "honest now") == "alpha"
        await attacker.close()


async def test_a_target_failing_for_one_key_goes_behind_the_others_for_that_key_alone(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    async with route_rig(start_gateway, ROUTE, models=["gpt-4o-mini"] * 2, settings=CIRCUIT) as rig:
        unlucky = await _key(rig, "unlucky")
        rig.upstreams["alpha"].script(*[Reply.error(500)] * 3)
        assert [await _ask(unlucky, f"q{n}") for n in range(3)] == ["beta"] * 3
        # Its own rest: its next call goes to beta first, alpha is not asked.
        assert await _ask(unlucky, "next") == "beta"
        assert rig.calls("alpha") == 3
        rows = await rig.gateway.engine.recorder.recent(limit=1)
        assert rows[0]["chosen_because"] == "priority: listed 1 of 1"  # alpha rests for it
        service = rig.gateway.engine.gateway
        views = service.balancer.route_views(service.registry)
        alpha = views[0].targets[0]
        assert alpha.state == "closed" and alpha.cooling_for == 1
        # Another key is not moved.
        assert await rig.ask() == "alpha"
        await unlucky.close()


async def test_the_same_body_failing_again_from_two_keys_counts_once(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    async with route_rig(start_gateway, ROUTE, models=["gpt-4o-mini"] * 2, settings=CIRCUIT) as rig:
        first, second = await _key(rig, "first", ["alpha"]), await _key(rig, "second", ["alpha"])
        rig.upstreams["alpha"].script(*[Reply.error(500)] * 6)
        for client in (first, second, first, second, first, second):
            assert await _ask(client, "the same poisoned body") == 502
        assert rig.gateway.engine.providers.cooling() == []
        assert await rig.ask() == "alpha"
        await asyncio.gather(first.close(), second.close())


async def test_a_provider_down_for_two_keys_cools_for_everyone(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    async with route_rig(start_gateway, ROUTE, models=["gpt-4o-mini"] * 2, settings=CIRCUIT) as rig:
        first, second = await _key(rig, "first"), await _key(rig, "second")
        rig.upstreams["alpha"].default = Reply.error(503)  # really down
        assert await _ask(first, "one") == "beta"
        assert await _ask(second, "two") == "beta"
        assert await _ask(first, "three") == "beta"
        (view,) = rig.gateway.engine.providers.cooling()
        assert view.label == "alpha/gpt-4o-mini" and view.state == "open"
        # A third key, which never failed, passes alpha over at once.
        asked = rig.calls("alpha")
        assert await rig.ask() == "beta"
        assert rig.calls("alpha") == asked
        await asyncio.gather(first.close(), second.close())


async def test_a_provider_down_for_the_local_user_cools_for_everyone(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    async with route_rig(start_gateway, ROUTE, models=["gpt-4o-mini"] * 2, settings=CIRCUIT) as rig:
        local = openai_client(
            rig.gateway, headers={INSTANCE_TOKEN_HEADER: rig.gateway.engine.auth.instance_token}
        )
        rig.upstreams["alpha"].default = Reply.error(503)
        assert [await _ask(local, "same question") for _ in range(3)] == ["beta"] * 3
        (view,) = rig.gateway.engine.providers.cooling()
        assert view.state == "open"
        asked = rig.calls("alpha")
        assert await rig.ask() == "beta"  # a gateway key's call passes it over
        assert rig.calls("alpha") == asked
        await local.close()
