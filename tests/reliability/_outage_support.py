"""Shared by the store-outage tests: a PostgreSQL cluster of the test's own, which it stops and
starts on purpose (the session's cluster serves every other test, so it is never stopped), and
the team gateways (`tests/e2e/team_gateways.py`) on a database in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import post_json
from tests.e2e.team_gateways import Team, TeamGateway
from tests.fakes.upstream import ScriptedUpstream
from tests.pg_cluster import Cluster, ClusterError, find_binary
from tests.postgres import REQUIRE_POSTGRES, SERVER_OPTIONS

__all__ = ["CHAT", "OutageTeam", "member_on_env_keys", "outage_team", "post_json", "wait_for"]

WAIT_S = 30.0
# A plain chat request (OpenAI's dialect) a member is asked during the tests.
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


class OutageTeam(Team):
    """A `Team` whose PostgreSQL the test owns: `outage()` stops it, `recover()` starts it;
    `freeze()` stops every server process (SIGSTOP: its sockets stay open, the kernel still
    acknowledges what is sent, nothing answers), `thaw()` lets them run again."""

    cluster: Cluster
    frozen: list[int]

    def outage(self) -> None:
        self.cluster.stop()

    def recover(self) -> None:
        self.cluster.start()

    def freeze(self) -> None:
        # The postmaster first, so it forks no backend the list below would miss.
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)
        self.frozen.append(postmaster)
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in map(int, children):
            os.kill(pid, signal.SIGSTOP)
            self.frozen.append(pid)

    def thaw(self) -> None:
        while self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.frozen.pop(), signal.SIGCONT)


@pytest.fixture
def outage_team(tmp_path: Path) -> Iterator[OutageTeam]:
    if find_binary("initdb") is None or find_binary("pg_ctl") is None:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is not installed (CI=true: .ci/run installs `postgresql`)")
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): install `postgresql`")
    cluster = Cluster(SERVER_OPTIONS, prefix="llmgw-pg-outage-")
    try:
        cluster.init()
    except ClusterError as exc:
        cluster.remove()
        pytest.fail(str(exc))
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "team"')
    team = OutageTeam(tmp_path, cluster.url("team"))
    team.cluster, team.frozen = cluster, []
    try:
        yield team
    finally:
        team.thaw()
        team.kill_all()
        cluster.remove()


@asynccontextmanager
async def member_on_env_keys(team: OutageTeam, **env: str) -> AsyncIterator[TeamGateway]:
    """The team's one member ("only", started with `env` too), its OpenAI and Anthropic
    providers on a scripted upstream of its own, and only OpenAI's key given, in the
    environment: a key the gateway has without reading the store."""
    async with ScriptedUpstream() as upstream:
        yield await asyncio.to_thread(
            team.join,
            "only",
            OPENAI_API_KEY="sk-outage-env-key",
            OPENAI_BASE_URL=upstream.base_url + "/v1",
            ANTHROPIC_BASE_URL=upstream.base_url,
            **env,
        )


def wait_for(
    what: str, check: Any, timeout_s: float = WAIT_S, explain: Callable[[], str] | None = None
) -> Any:
    """Poll `check()` (bounded) until it returns something truthy; that value. On a timeout,
    `explain()` says where things stood."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(
        f"timed out waiting for {what}" + ("" if explain is None else f": {explain()}")
    )
