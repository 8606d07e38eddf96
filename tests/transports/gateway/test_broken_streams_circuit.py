"""A target whose answers break after they began counts those breaks against it: its circuit
opens after `cooldown_failures` of them in a row and the route's other target takes the calls.

Before, the balancer closed a target's circuit at a stream's first token, so a target whose
streams always broke mid-way never went behind the others: every other streamed call of a
route of two failed, for good. A stream's verdict now waits for its end: broken by the upstream
(cut, malformed, stalled), a failure of the target's; whole, an answer that closes the circuit;
left by its client, or cut by the gateway's stop, no verdict at all.

A route `team-model` over two scripted upstreams (alpha first, beta second, `priority`), called
through the official OpenAI SDK; the local user's failures count for everyone, a remote key's
for that key alone (`health.py`, `tests/security/test_target_health_per_principal.py`).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from typing import Any

import anthropic
import openai

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER, LOCAL_CALLER
from tests.clock import Clock
from tests.fakes.upstream import Reply
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.route_targets import RouteRig, route_rig
from tests.waiting import until

TWO = ["alpha/gpt-4o-mini", "beta/gpt-4o-mini"]
IN_A_ROW = 3
# A long first rest: nothing ends it mid-test unless the clock is moved.
CIRCUIT = {"gateway.cooldown_failures": IN_A_ROW, "gateway.cooldown_first_ms": 60_000}
REST_S = 66.0  # past the first rest and its spread


def _rig(
    start_gateway: GatewayFactory, *, local: bool = True, clock: Clock | None = None
) -> AsyncContextManager[RouteRig]:
    route = {"targets": TWO, "strategy": "priority"}
    return route_rig(
        start_gateway,
        route,
        models=["gpt-4o-mini"] * 2,
        settings=CIRCUIT,
        local=local,
        clock=clock or Clock(),
    )


async def _stream(client: openai.AsyncOpenAI, text: str = "hi") -> tuple[str, bool]:
    """One streamed chat read to its end: the provider that answered, and whether its
    stream ended whole (False: the gateway's error event said it broke)."""
    raw = await client.chat.completions.with_raw_response.create(
        model="team-model", messages=[{"role": "user", "content": text}], stream=True
    )
    provider = raw.headers["x-gateway-provider"]
    try:
        async for _ in raw.parse():
            pass
    except openai.APIError:
        return provider, False
    return provider, True


async def _rows_ended(rig: RouteRig, count: int) -> list[dict[str, Any]]:
    """The key holder's rows once `count` of them have ended (a stream's verdict is given
    before its row ends, so the balancer has heard of each by then)."""

    async def ended() -> list[dict[str, Any]] | None:
        rows = [r for r in await rig.rows() if r["state"] != "started"]
        return rows if len(rows) >= count else None

    found = await until(ended, f"{count} rows ended")
    return found


async def test_streams_that_break_mid_way_open_the_circuit_and_the_other_target_takes_them(
    start_gateway: GatewayFactory,
) -> None:
    async with _rig(start_gateway) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.default = Reply.cut()  # its first delta, then the connection closes mid-event
        for n in range(IN_A_ROW):
            assert await _stream(rig.client) == ("alpha", False)
            await _rows_ended(rig, n + 1)
        (view,) = rig.gateway.engine.providers.cooling()
        assert (view.label, view.state, view.failures, view.last_error) == (
            "alpha/gpt-4o-mini",
            "open",
            IN_A_ROW,
            "broken",
        )
        # Open: beta takes the next calls, whole; alpha is not asked.
        assert [await _stream(rig.client) for _ in range(4)] == [("beta", True)] * 4
        assert rig.calls("alpha") == IN_A_ROW and rig.calls("beta") == 4
        rows = await _rows_ended(rig, IN_A_ROW + 4)
        assert [r["state"] for r in rows[:IN_A_ROW]] == ["failed"] * IN_A_ROW
        assert rows[-1]["chosen_because"] == "priority: listed 1 of 1"


async def test_translated_streams_that_break_open_the_circuit_too(
    start_gateway: GatewayFactory,
) -> None:
    """The same for a stream translated on its way (an Anthropic SDK client, OpenAI targets)."""
    async with _rig(start_gateway) as rig:
        rig.upstreams["alpha"].default = Reply.cut()
        token = {INSTANCE_TOKEN_HEADER: rig.gateway.engine.auth.instance_token}
        claude = claude_client(rig.gateway, headers=token)
        try:
            for n in range(IN_A_ROW):
                try:
                    async with claude.messages.stream(
                        model="team-model",
                        max_tokens=64,
                        messages=[{"role": "user", "content": "hi"}],
                    ) as stream:
                        async for _ in stream.text_stream:
                            pass
                except anthropic.APIStatusError as exc:
                    assert "upstream stream broke" in str(exc)
                else:
                    raise AssertionError("alpha's stream was to break")
                await _rows_ended(rig, n + 1)
        finally:
            await claude.close()
        assert rig.calls("alpha") == IN_A_ROW
        (view,) = rig.gateway.engine.providers.cooling()
        assert (view.state, view.last_error) == ("open", "broken")
        assert await _stream(rig.client) == ("beta", True)


async def test_a_trial_stream_that_ends_whole_closes_the_circuit_again(
    start_gateway: GatewayFactory,
) -> None:
    clock = Clock()
    async with _rig(start_gateway, clock=clock) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.default = Reply.cut()
        for n in range(IN_A_ROW):
            await _stream(rig.client)
            await _rows_ended(rig, n + 1)
        assert rig.gateway.engine.providers.cooling()[0].state == "open"
        alpha.default = Reply.ok()  # it recovered
        clock.advance(REST_S)  # half open: the next call is its trial
        assert await _stream(rig.client) == ("alpha", True)
        await _rows_ended(rig, IN_A_ROW + 1)
        assert rig.gateway.engine.providers.cooling() == []
        assert await _stream(rig.client) == ("alpha", True)


async def test_a_stream_that_ends_whole_forgets_the_breaks_before_it(
    start_gateway: GatewayFactory,
) -> None:
    async with _rig(start_gateway) as rig:
        alpha = rig.upstreams["alpha"]
        broken = [Reply.cut()] * (IN_A_ROW - 1)
        alpha.script(*broken, Reply.ok(), *broken)
        for n in range(2 * IN_A_ROW - 1):
            await _stream(rig.client)
            await _rows_ended(rig, n + 1)
        assert rig.gateway.engine.providers.cooling() == []
        assert await _stream(rig.client) == ("alpha", True)


async def test_whole_answers_that_break_off_count_as_broken_streams_do(
    start_gateway: GatewayFactory,
) -> None:
    """A whole answer cut off mid-body is the same failure of the target's as a stream cut
    mid-way: the request falls back to beta, and after `IN_A_ROW` of them alpha goes behind."""
    async with _rig(start_gateway) as rig:
        rig.upstreams["alpha"].default = Reply.cut()
        assert [await rig.ask() for _ in range(IN_A_ROW)] == ["beta"] * IN_A_ROW
        assert rig.calls("alpha") == IN_A_ROW
        (view,) = rig.gateway.engine.providers.cooling()
        assert (view.state, view.last_error) == ("open", "broken")
        assert [await rig.ask() for _ in range(3)] == ["beta"] * 3
        assert rig.calls("alpha") == IN_A_ROW


async def test_clients_that_drop_their_streams_mid_way_leave_the_circuit_closed(
    start_gateway: GatewayFactory,
) -> None:
    async with _rig(start_gateway) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.stream_gate = asyncio.Event()  # half of each answer, then it waits
        dropped = IN_A_ROW + 2
        for n in range(dropped):
            raw = await rig.client.chat.completions.with_raw_response.create(
                model="team-model", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            assert raw.headers["x-gateway-provider"] == "alpha"
            stream = raw.parse()
            await anext(aiter(stream))  # the first chunk came, then the client leaves
            await stream.close()
            rows = await _rows_ended(rig, n + 1)
            assert rows[-1]["state"] == "canceled"
        assert rig.gateway.engine.providers.cooling() == []
        alpha.stream_gate = None
        assert await _stream(rig.client) == ("alpha", True)
        assert rig.calls("beta") == 0


async def test_one_keys_broken_streams_move_its_own_calls_alone(
    start_gateway: GatewayFactory,
) -> None:
    """The principal split holds for broken streams: a remote key alone whose streams break
    sends its own calls to beta; another key's still go to alpha first."""
    async with _rig(start_gateway, local=False) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.script(*[Reply.cut()] * IN_A_ROW)
        for n in range(IN_A_ROW):
            assert await _stream(rig.client, f"breaks {n}") == ("alpha", False)
            await _rows_ended(rig, n + 1)
        assert rig.gateway.engine.providers.cooling() == []
        assert await _stream(rig.client) == ("beta", True)
        made = await rig.gateway.engine.keys.create(LOCAL_CALLER, KeySpec(name="other"))
        other = openai_client(rig.gateway, made.secret)
        try:
            assert await _stream(other) == ("alpha", True)
        finally:
            await other.close()


async def test_a_stream_cut_by_the_gateways_stop_does_not_count_against_its_target(
    start_gateway: GatewayFactory,
) -> None:
    """The stop ends a stream under way (its row `interrupted`): the gateway's doing, not the
    target's, even where one failure alone would open the circuit."""
    route = {"targets": TWO, "strategy": "priority"}
    one = {**CIRCUIT, "gateway.cooldown_failures": 1}
    async with route_rig(
        start_gateway, route, models=["gpt-4o-mini"] * 2, settings=one, local=True
    ) as rig:
        rig.upstreams["alpha"].stream_gate = asyncio.Event()  # half the answer, then it waits
        raw = await rig.client.chat.completions.with_raw_response.create(
            model="team-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        stream = raw.parse()
        await anext(aiter(stream))
        stopping = asyncio.ensure_future(rig.gateway.stop())
        try:
            async for _ in stream:
                pass
        except openai.APIError:
            pass  # told the answer broke, or cut
        await asyncio.wait_for(stopping, 15.0)
        assert rig.gateway.engine.providers.cooling() == []


def _shares(rig: RouteRig) -> dict[str, float | None]:
    """The route's targets' shares of its recent answers, as the Providers page shows them."""
    (route,) = rig.gateway.engine.providers.routes()
    return {view.provider: view.share for view in route.targets}


async def test_a_routes_share_leaves_out_the_streams_that_broke(
    start_gateway: GatewayFactory,
) -> None:
    """A person's pass: after beta's streams broke (3 of 3), the route's table still gave beta
    30% of its recent answers, each broken stream counted as served at its first token. A
    stream counts in its target's share when it ends whole: beta, whose streams all broke,
    has none of the route's answers."""
    async with _rig(start_gateway) as rig:
        alpha, beta = rig.upstreams["alpha"], rig.upstreams["beta"]
        # Alpha rests at once (a run of 500s), so the next calls go to beta and break there.
        alpha.default = Reply.error(500)
        beta.default = Reply.cut()
        for n in range(IN_A_ROW):
            assert await _stream(rig.client) == ("beta", False)
            await _rows_ended(rig, n + 1)
        assert _shares(rig) == {"alpha": None, "beta": None}  # no answer came whole
        beta.default = Reply.ok()
        assert await _stream(rig.client) == ("beta", True)
        await _rows_ended(rig, IN_A_ROW + 1)
        assert _shares(rig) == {"alpha": 0.0, "beta": 1.0}


async def test_a_stream_counts_in_the_share_when_it_ends_whole_not_when_it_begins(
    start_gateway: GatewayFactory,
) -> None:
    """Under way, a stream is no answer yet; one its client leaves is none at all (as it is
    no verdict on its target's circuit). A whole answer counts as it always did."""
    async with _rig(start_gateway) as rig:
        alpha = rig.upstreams["alpha"]
        alpha.stream_gate = asyncio.Event()  # half of each answer, then it waits
        raw = await rig.client.chat.completions.with_raw_response.create(
            model="team-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        stream = raw.parse()
        await anext(aiter(stream))
        assert _shares(rig)["alpha"] is None  # begun, not answered
        await stream.close()  # its client leaves
        await _rows_ended(rig, 1)
        assert _shares(rig)["alpha"] is None
        alpha.stream_gate = None
        assert await rig.ask() == "alpha"  # a whole answer: counted as it comes
        assert _shares(rig)["alpha"] == 1.0
        assert await _stream(rig.client) == ("alpha", True)
        await _rows_ended(rig, 3)
        assert _shares(rig)["alpha"] == 1.0
