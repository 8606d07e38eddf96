"""One store outage, said when it starts and when it ends (issue 38, item 4).

A team gateway on a PostgreSQL cluster the test owns, under a steady load of chat requests (its
recorder flushing every quarter second, its lease renewing every second), cut off from it for
several seconds and then let back: the cluster stopped (`pg_ctl stop -m fast`) and started, or
a partition (a TCP proxy between them resets every connection, as the issue met it). The errors
change their wording during such an outage (a reset, a connection closed, a refusal): before,
each new wording was a new "store degraded" WARNING (40 for one 30 s partition), and the end
said nothing of the outage. Now each part of the store says its outage once when it starts and
once when it ends, with how many failures it counted and for how long.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest

from tests.e2e import gateway_process as gp
from tests.reliability._outage_support import (  # noqa: F401 - the fixture
    CHAT,
    OutageTeam,
    member_on_env_keys,
    outage_team,
    post_json,
    wait_for,
)
from tests.reliability._reset_proxy import ResetProxy, reset_proxy

OUTAGE_S = 8.0
CLIENTS = 4


@pytest.mark.parametrize("how", ["stop", "partition"])
async def test_a_store_outage_under_load_is_one_warning_when_it_starts_and_one_when_it_ends(
    outage_team: OutageTeam,  # noqa: F811
    how: str,
) -> None:
    with reset_proxy(outage_team.cluster.port) as proxy:
        if how == "partition":
            outage_team.db_url = outage_team.db_url.replace(
                f":{outage_team.cluster.port}/", f":{proxy.port}/"
            )
        cut, heal = _fault(outage_team, proxy, how)
        await _outage_under_load(outage_team, cut, heal)


def _fault(
    team: OutageTeam, proxy: ResetProxy, how: str
) -> tuple[Callable[[], None], Callable[[], None]]:
    if how == "partition":
        return proxy.cut, proxy.heal
    return team.outage, team.recover


async def _outage_under_load(
    outage_team: OutageTeam,  # noqa: F811
    cut: Callable[[], None],
    heal: Callable[[], None],
) -> None:
    async with member_on_env_keys(outage_team, LLM_GATEWAY_JOBS_LEASE_MS="3000") as member:
        url = member.base_url + "/v1/chat/completions"
        done = asyncio.Event()
        answered: list[int] = []

        async def client() -> None:
            while not done.is_set():
                status, _, _ = await asyncio.to_thread(post_json, url, CHAT)
                answered.append(status)
                await asyncio.sleep(0.05)

        load = [asyncio.create_task(client()) for _ in range(CLIENTS)]
        try:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(cut)
            stopped = time.monotonic()
            await asyncio.to_thread(
                wait_for, "/health degraded", lambda: _state(member.port) == "degraded"
            )
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
            await asyncio.to_thread(heal)
            await asyncio.to_thread(
                wait_for, "/health ok again", lambda: _state(member.port) == "ok", 60.0
            )
        finally:
            done.set()
            await asyncio.gather(*load)
        assert set(answered) == {200}, sorted(set(answered))
        await asyncio.to_thread(member.stop)
    warnings = [line for line in member.log().splitlines() if " WARNING " in line]
    text = "\n".join(warnings)
    print(text)
    degraded = [line for line in warnings if "store degraded (store)" in line]
    assert len(degraded) == 1, text
    assert len([line for line in warnings if "store degraded (recorder)" in line]) == 1, text
    (again,) = [line for line in warnings if "store writable again" in line]
    found = re.search(r"store, after (\d+) failure\(s\) over ([\d.]+) s", again)
    assert found is not None, again
    assert int(found.group(1)) > 1 and float(found.group(2)) >= OUTAGE_S / 2, again
    assert len([line for line in warnings if "flight recorder cannot write" in line]) == 1, text
    (writes,) = [line for line in warnings if "flight recorder writes again" in line]
    assert "failure(s) over" in writes
    # No background write says the outage again on its own (lease, progress, refusal counts).
    assert len(warnings) <= 8, text


def _state(port: int) -> str | None:
    report = gp.health(port)
    return None if report is None else str(report.get("status"))
