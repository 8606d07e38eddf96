"""Process identities and the start-up reaper, against real processes (Linux /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from llmgw_desktop.engine.providers.lifeline import JOB_MARKER_ENV
from llmgw_desktop.engine.providers.orphans import (
    SavedGroup,
    find_left_behind,
    stop_left_behind,
)
from llmgw_desktop.engine.providers.process_identity import (
    identity_of,
    scan_processes,
    start_ticks,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
IGNORES_TERM = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
    " time.sleep(60)",
]


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def start(
    started: list[subprocess.Popen[bytes]],
    argv: list[str] = SLEEPER,
    *,
    job: str | None = None,
    group: int = 0,
    session: bool = False,
) -> subprocess.Popen[bytes]:
    """A process leading its own group (`group` 0), or joining `group`, or in its own
    session (`session`, as a double fork leaves it)."""
    env = dict(os.environ) | ({JOB_MARKER_ENV: job} if job else {})
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        start_new_session=session,
        process_group=None if session else group,
    )
    started.append(proc)
    if argv is IGNORES_TERM:
        assert proc.stdout is not None
        proc.stdout.readline()  # its SIGTERM handler is in place
    return proc


def saved(job: str, leader: subprocess.Popen[bytes]) -> SavedGroup:
    identity = identity_of(leader.pid)
    assert identity is not None
    return SavedGroup(job, leader.pid, identity)


def pids(targets: list[object]) -> set[int]:
    return {t.pid for t in targets}  # type: ignore[attr-defined]


def test_an_identity_is_stable_and_names_one_process(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    me = identity_of(os.getpid())
    assert me is not None and me == identity_of(os.getpid())
    assert me.startswith("linux:") and start_ticks(me) is not None
    other = start(spawn)
    assert identity_of(other.pid) not in (None, me)
    other.kill()
    other.wait()
    assert identity_of(other.pid) is None  # gone: no identity, never a stale one
    assert start_ticks("ps:Mon Jan  1 00:00:00 2026") is None


def test_a_zombie_has_no_identity(spawn: list[subprocess.Popen[bytes]]) -> None:
    proc = start(spawn, [sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while identity_of(proc.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert identity_of(proc.pid) is None  # exited, not yet reaped: a zombie
    assert proc.poll() == 0


def test_the_scan_sees_groups_and_markers(spawn: list[subprocess.Popen[bytes]]) -> None:
    leader = start(spawn, job="job_a")
    member = start(spawn, group=leader.pid)
    found = {p.pid: p for p in scan_processes(markers=[f"{JOB_MARKER_ENV}=job_a".encode()])}
    assert found[leader.pid].pgid == leader.pid and found[member.pid].pgid == leader.pid
    assert found[leader.pid].marker == b"LLMGW_JOB_ID=job_a"
    assert found[member.pid].marker is None


def test_a_live_leader_with_its_saved_identity_gives_its_whole_group(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    leader = start(spawn)
    member = start(spawn, group=leader.pid)  # no marker: found through the group alone
    stranger = start(spawn)
    found = pids(find_left_behind([saved("job_a", leader)]))  # type: ignore[arg-type]
    assert found == {leader.pid, member.pid}
    assert stranger.pid not in found


def test_a_pid_reused_by_another_program_is_never_touched(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    old_leader = start(spawn)
    record = saved("job_a", old_leader)
    # The job's leader is gone; another program's group leader now has its pid (faked: the
    # record is pointed at the decoy, whose start time differs). Start times count 10 ms
    # ticks; a real reuse needs the whole pid space to wrap, far longer than one tick.
    time.sleep(0.05)
    decoy = start(spawn)
    decoy_member = start(spawn, group=decoy.pid)
    faked = SavedGroup("job_a", decoy.pid, record.identity)
    assert identity_of(decoy.pid) != record.identity
    assert find_left_behind([faked]) == []
    assert decoy.poll() is None and decoy_member.poll() is None


def test_a_marked_process_that_left_the_group_is_found_if_it_started_after_the_leader(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    before = start(spawn, job="job_a")  # carries the marker but predates the saved leader
    time.sleep(0.05)  # clock ticks are 10 ms
    leader = start(spawn, job="job_a")
    record = saved("job_a", leader)
    leader.kill()
    leader.wait()
    escaped = start(spawn, job="job_a", session=True)
    other_job = start(spawn, job="job_b")
    found = pids(find_left_behind([record]))  # type: ignore[arg-type]
    assert found == {escaped.pid}
    assert before.pid not in found and other_job.pid not in found


async def test_stopping_sends_sigterm_then_sigkill_after_the_grace(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    leader = start(spawn, IGNORES_TERM)
    member = start(spawn, group=leader.pid)
    began = time.monotonic()
    assert await stop_left_behind([saved("job_a", leader)], grace_s=0.2) == 2
    assert time.monotonic() - began < 3
    assert leader.wait(timeout=5) == -signal.SIGKILL  # it ignored the SIGTERM
    assert member.wait(timeout=5) == -signal.SIGTERM
    assert await stop_left_behind([], grace_s=0.2) == 0
