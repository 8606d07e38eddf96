"""Shared by the store-outage tests: a PostgreSQL cluster of the test's own, which it stops and
starts on purpose (the session's cluster serves every other test, so it is never stopped), and
the team gateways (`tests/e2e/team_gateways.py`) on a database in it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.team_gateways import Team
from tests.pg_cluster import Cluster, ClusterError, find_binary
from tests.postgres import REQUIRE_POSTGRES, SERVER_OPTIONS
from tests.reliability._crash_support import kill_quietly

__all__ = ["OutageTeam", "outage_team", "post_json", "wait_for"]

WAIT_S = 30.0


class OutageTeam(Team):
    """A `Team` whose PostgreSQL the test owns: `outage()` stops it, `recover()` starts it."""

    cluster: Cluster

    def outage(self) -> None:
        self.cluster.stop()

    def recover(self) -> None:
        self.cluster.start()


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
    team.cluster = cluster
    try:
        yield team
    finally:
        for member in team.members:
            if member.proc is not None:
                member.proc.kill()
                member.proc.communicate()
            kill_quietly(member.leftovers)
        cluster.remove()


def post_json(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST `body`; (status, headers, decoded JSON body), errors included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else {}


def wait_for(what: str, check: Any, timeout_s: float = WAIT_S) -> Any:
    """Poll `check()` (bounded) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
