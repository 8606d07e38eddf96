"""A target that stops answering is passed over at once, and back within seconds of its
recovery (issue 66, item 7).

A route over two targets: alpha is a real upstream process (`tests/fakes/upstream_process.py`)
stopped with SIGSTOP mid-run, beta the scripted upstream in this process. The kernel still
takes alpha's connections and requests; nothing answers. With the default limits, every
request round-robin sent to alpha waited for its answer's whole limit (a whole answer:
`gateway.upstream_timeout_ms`, ten minutes), and, its timeouts counted as failures, doubling
cool-downs kept it out long after it answered again. Now the gateway's probe finds it hung:
the calls waiting on it go on to beta, later requests pass it over, and a probe brings it back
once SIGCONT lets it answer. Requests are plain HTTP as any SDK sends them, as the local user.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream_process import UpstreamProcess, upstream_process
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

CLIENTS = 8
# The wait of a call caught on the hung target: the check and the probe (2 s each by default:
# `gateway.hung_check_after_ms`, `gateway.hung_probe_timeout_ms`) and a loaded machine's slack.
# Far below the ten minutes it was.
PASSED_OVER_S = 8.0
# How long it stays stopped after the first clients, under steady traffic: long enough for a
# cool-down's trial to fail and double it.
HUNG_FOR_S = 12.0
TRAFFIC_GAP_S = 0.2
BACK_WITHIN_S = 6.0  # after SIGCONT: the probe's longest gap and its answer, with slack
GIVE_UP_S = 30.0  # the test's own bound on any one request (the old wait was 600 s)
# Streams with a first-byte limit shorter than the check: each call's own limit ends its wait
# (a failure, counted), and cool-downs that double while it hangs kept it out 34-52 s after.
SHORT_LIMITS = {
    "gateway.first_byte_timeout_ms": 1_000,
    "gateway.cooldown_first_ms": 5_000,
    "gateway.cooldown_longest_ms": 60_000,
}


@dataclass
class Rig:
    gateway: GatewayRuntime
    alpha: UpstreamProcess
    beta: ScriptedUpstream

    stream: bool

    async def ask(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        """One chat (streamed or whole, as the rig's): the provider that answered, and how
        long it took."""
        began = time.monotonic()
        body = {
            "model": "team-model",
            "stream": self.stream,
            "messages": [{"role": "user", "content": "hi"}],
        }
        async with asyncio.timeout(GIVE_UP_S):
            async with session.post(
                self.gateway.base_url + "/v1/chat/completions", json=body
            ) as response:
                assert response.status == 200, await response.text()
                provider = response.headers["x-gateway-provider"]
                await response.read()
        return provider, time.monotonic() - began


@asynccontextmanager
async def hung_rig(
    start_gateway: GatewayFactory,  # noqa: F811
    limits: Mapping[str, Any],
) -> AsyncIterator[Rig]:
    with upstream_process() as alpha:
        async with ScriptedUpstream() as beta:
            providers = {
                pid: {
                    "kind": "openai-compatible",
                    "base_url": url + "/v1",
                    "models": ["gpt-4o-mini"],
                    "api_key": f"sk-{pid}-key-0123456789",
                }
                for pid, url in (("alpha", alpha.base_url), ("beta", beta.base_url))
            }
            route = {
                "targets": ["alpha/gpt-4o-mini", "beta/gpt-4o-mini"],
                "strategy": "round-robin",
            }
            gateway: GatewayRuntime = await start_gateway(
                {
                    "gateway.providers": providers,
                    "gateway.routes": {"team-model": route},
                    **limits,
                }
            )
            try:
                yield Rig(gateway, alpha, beta, stream=bool(limits))
            finally:
                os.kill(alpha.pid, signal.SIGCONT)


@pytest.mark.parametrize("limits", [{}, SHORT_LIMITS], ids=["default-limits", "short-limits"])
async def test_a_stopped_target_is_passed_over_at_once_and_back_within_seconds(
    start_gateway: GatewayFactory,  # noqa: F811
    limits: dict[str, Any],
) -> None:
    async with hung_rig(start_gateway, limits) as rig, aiohttp.ClientSession() as session:
        served = [(await rig.ask(session))[0] for _ in range(4)]
        assert sorted(served) == ["alpha", "alpha", "beta", "beta"]

        os.kill(rig.alpha.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        answers = await asyncio.gather(*(rig.ask(session) for _ in range(CLIENTS)))
        # Every client answered, by beta; those caught on alpha once its probe went unanswered.
        assert {provider for provider, _ in answers} == {"beta"}
        slowest = max(took for _, took in answers)
        assert slowest < PASSED_OVER_S, answers
        # Later requests pass it over at once.
        for _ in range(4):
            provider, _took = await rig.ask(session)
            assert provider == "beta", provider
        # Steady traffic while it stays stopped: every request passes it over at once (no
        # trial that waits out a limit, no cool-down doubling meanwhile).
        until = time.monotonic() + HUNG_FOR_S
        steady = 4
        for _ in range(int(HUNG_FOR_S / TRAFFIC_GAP_S)):
            provider, _took = await rig.ask(session)
            steady += 1
            assert provider == "beta", provider
            if time.monotonic() > until:
                break
            await asyncio.sleep(TRAFFIC_GAP_S)
        # Passed over means not asked: none of those requests has an attempt on alpha (a trial
        # would, `hung` or `timeout`). Their rows say so where a time bound could not: a loaded
        # run can stall beta's answer past any bound short enough to tell a trial apart.
        passed_over = await rig.gateway.engine.recorder.recent(limit=steady)
        tried = [r for r in passed_over if "alpha" in _targets_asked(r)]
        assert not tried, tried
        (view,) = rig.gateway.engine.providers.cooling()
        assert view.label == "alpha/gpt-4o-mini" and view.state == "hung"
        async with session.get(rig.gateway.base_url + "/health") as response:
            assert (await response.json())["cooling"] == ["alpha"]
        rows = await rig.gateway.engine.recorder.recent(limit=500)
        # Each answer has its row, the attempt that gave up on alpha inside it (`hung`, or
        # `timeout` where a short first-byte limit ended it first); none is left running.
        gave_up = {"hung", "timeout"}
        caught = [r for r in rows if gave_up & {a["outcome"] for a in r["route"]["attempts"]}]
        assert any(r["state"] == "completed" and r["provider"] == "beta" for r in caught), caught
        assert not [r for r in rows if r["state"] == "started"]

        os.kill(rig.alpha.pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        back_after = None
        while time.monotonic() - resumed_at < BACK_WITHIN_S + 2:
            provider, _ = await rig.ask(session)
            if provider == "alpha":
                back_after = time.monotonic() - resumed_at
                break
            await asyncio.sleep(0.1)
        assert back_after is not None and back_after < BACK_WITHIN_S, back_after
        assert rig.gateway.engine.providers.cooling() == []
        assert stopped_at < resumed_at


def _targets_asked(row: dict[str, Any]) -> set[str]:
    """The providers a recorded request's route made attempts on."""
    return {a["target"].split("/")[0] for a in row["route"]["attempts"]}
