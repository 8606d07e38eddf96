"""SIGTERM mid-job: the real gateway stops within about a second, with its jobs and their
recorder rows `interrupted`, partial output flushed, every CLI process group killed, the
results of finished jobs intact and the store sound. Real processes throughout (see
`test_kill9.py`, whose gateway and fake CLI this shares).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import pytest

from tests.reliability._crash_support import (
    ANSWER,
    Gateway,
    call,
    check_the_store_tells_the_truth,
    finished_job,
    gateway,  # noqa: F401 - the fixture
    query,
    start_tree,
    wait_dead,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; the signal is POSIX"
)

# The promise is "within 1 s"; the bound leaves room for a loaded 2-core machine.
STOP_BOUND_S = 3.0
EXIT_TIMEOUT_S = 20.0


def test_sigterm_mid_job_stops_within_a_second_and_interrupts_the_jobs(
    gateway: Gateway,  # noqa: F811
) -> None:
    gateway.start()
    completed = finished_job(gateway)
    # The hardest kind of run: every process of it ignores SIGTERM.
    job_id, pids = start_tree(gateway, "stubborn")
    # A caller waiting on a synchronous call holds a request open in the front door.
    waiting: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: waiting.update(answer=call(gateway.url, "claude_request", prompt="hang"))
    )
    waiter.start()
    running = "SELECT count(*) FROM jobs WHERE state = 'running' AND process_group IS NOT NULL"
    deadline = time.monotonic() + 20
    while query(gateway.db, running) != [(2,)] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert query(gateway.db, running) == [(2,)]

    assert gateway.proc is not None
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    code = gateway.proc.wait(timeout=EXIT_TIMEOUT_S)
    took = time.monotonic() - sent
    _, err = gateway.proc.communicate()
    gateway.proc = None
    print(f"SIGTERM to exit with two running jobs: {took:.2f}s")
    assert code == 0, err
    assert "Traceback" not in err
    assert took < STOP_BOUND_S, f"stopping took {took:.2f}s"
    # The groups were killed before the gateway exited (allow the kernel a moment).
    assert wait_dead(pids.values(), 0.5) == []

    waiter.join(timeout=10)
    answer = waiting.get("answer")
    if answer is not None:  # it may also have lost its connection: either is an honest end
        assert answer["error"]["code"] == "interrupted", answer
    check_the_store_tells_the_truth(gateway, job_id, completed)
    assert "stopped" in gateway.log()

    gateway.start()
    result = call(gateway.url, "llm_job_result", jobId=completed)
    assert ANSWER in result["text"]
    gateway.stop()


def test_a_stop_with_nothing_running_is_quick_too(gateway: Gateway) -> None:  # noqa: F811
    gateway.start()
    finished_job(gateway)
    assert gateway.proc is not None
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    code = gateway.proc.wait(timeout=EXIT_TIMEOUT_S)
    took = time.monotonic() - sent
    gateway.proc.communicate()
    gateway.proc = None
    print(f"SIGTERM to exit, idle: {took:.2f}s")
    assert code == 0 and took < STOP_BOUND_S
