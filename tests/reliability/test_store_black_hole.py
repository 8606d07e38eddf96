"""A team store reached through a path that drops every packet (a black hole: a VPN gone, a
firewall that lost its state) fails the call within seconds, not the kernel's TCP timeout.

Before: a statement sent into a black hole waited for TCP's retransmissions to give up, about
15 minutes on Linux, and a lease renewal with it (docs/RELIABILITY.md). The store's
connections now carry `tcp_user_timeout` and keepalives (`postgres_engine.TCP_USER_TIMEOUT_MS`).

Real things only: a real PostgreSQL cluster and the store's real engine and driver, each in a
network namespace of the test's own joined by a veth pair, the server's side then dropping all
it sends (`_black_hole_child.py`); nothing outside the namespaces is touched. Neither a
userland proxy (it acknowledges what it is sent) nor a drop on the client's own side (its
kernel is told, and gave up in 8 s) shows the hang: only a drop past the client's host does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from llmgw_desktop.engine.store.postgres_engine import TCP_USER_TIMEOUT_MS, tcp_settings
from tests.pg_cluster import find_binary
from tests.postgres import REQUIRE_POSTGRES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The child heals the path after 40 s if the statement is still waiting (it would for 15
# minutes without the fix: it then answers late, and the test fails saying so).
CHILD_TIMEOUT_S = 120


def _can_black_hole() -> str | None:
    """Why this machine cannot run the test (None: it can)."""
    if find_binary("initdb") is None:
        return "PostgreSQL is not installed (no initdb)"
    missing = [tool for tool in ("unshare", "tc", "ip") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (util-linux, iproute2)"
    probe = subprocess.run(
        ["unshare", "--net", "--", "tc", "qdisc", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"no network namespace of our own here ({probe.stderr.strip()[:200]})"
    return None


def test_a_statement_into_a_black_hole_fails_within_the_tcp_bound() -> None:
    why_not = _can_black_hole()
    if why_not is not None:
        if REQUIRE_POSTGRES:  # CI=true: .ci/run installs what it needs and runs as root
            pytest.fail(f"cannot black-hole the store's path: {why_not}")
        pytest.skip(f"cannot black-hole the store's path: {why_not}")
    child = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-m", "tests.reliability._black_hole_child"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    # Answered: the drop did not take, or (after 40 s) nothing bounded the wait.
    assert "answered_after_s" not in outcome, outcome
    bound_s = TCP_USER_TIMEOUT_MS / 1000
    # Failed, by the kernel's bound: not before it (something else failed it), and well before
    # the 15 minutes of TCP's own retransmissions.
    assert bound_s * 0.8 <= outcome["failed_after_s"] <= bound_s + 10, outcome


def test_a_url_keeps_its_own_tcp_settings() -> None:
    """The operator's own values in store.url win: the driver's keyword arguments would
    override the URL's, so only what the URL leaves out is added."""
    url = "postgresql://llmgw@db.example:5432/team?tcp_user_timeout=0&keepalives_idle=60"
    added = tcp_settings(url)
    assert "tcp_user_timeout" not in added and "keepalives_idle" not in added
    assert added["keepalives"] == "1"
    assert tcp_settings("postgresql://llmgw@db.example/team")["tcp_user_timeout"] == str(
        TCP_USER_TIMEOUT_MS
    )
