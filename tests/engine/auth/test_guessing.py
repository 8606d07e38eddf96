"""The guessing throttle's rules, with a fake clock: nested allowances, the known-address
exemption, refill, and how addresses are counted. The real server is attacked in
tests/security/test_oauth_guessing.py."""

from __future__ import annotations

import asyncio
import threading

from llmgw_desktop.engine.auth.client_address import address_key
from llmgw_desktop.engine.auth.guessing import SPREAD, GuessGuard, GuessLimits, SlowCheck
from tests.clock import Clock
from tests.waiting import until


def fail(guard: GuessGuard, client: str, address: str, times: int) -> list[float | None]:
    """`times` checks that all turn out wrong: what `begin` said to each."""
    return [guard.begin(client, address) for _ in range(times)]


def test_a_pair_gets_its_burst_then_waits_until_the_allowance_refills() -> None:
    clock = Clock(1000.0)
    guard = GuessGuard(GuessLimits(burst=3, per_minute=6), clock=clock)
    answers = fail(guard, "c", "a", 4)
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and 9 < answers[3] <= 10  # one failure back per 10 s
    clock.now += 10
    assert guard.begin("c", "a") is None


def test_one_pair_never_spends_another_address_or_another_client() -> None:
    guard = GuessGuard(GuessLimits(burst=3, per_minute=1), clock=Clock(1000.0))
    fail(guard, "c", "attacker", 10)
    assert guard.begin("c", "attacker") is not None
    assert guard.begin("c", "user") is None  # same client, another address
    assert guard.begin("other", "attacker") is None  # another client, same address


def test_many_addresses_spend_the_client_but_a_known_address_keeps_its_way_in() -> None:
    guard = GuessGuard(GuessLimits(burst=2, per_minute=1), clock=Clock(1000.0))
    assert guard.begin("c", "home") is None
    guard.succeeded("c", "home")  # the right secret from home once
    for n in range(SPREAD * 2):
        fail(guard, "c", f"bot{n}", 2)
    assert guard.begin("c", "new-place") is not None  # the client's allowance is spent
    assert guard.begin("c", "home") is None


def test_a_right_secret_gives_its_reservation_back() -> None:
    guard = GuessGuard(GuessLimits(burst=2, per_minute=1), clock=Clock(1000.0))
    for _ in range(10):
        assert guard.begin("c", "a") is None
        guard.succeeded("c", "a")


def test_addresses_are_counted_by_ipv4_and_by_ipv6_slash_64() -> None:
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("") == "unknown"


async def test_slow_checks_run_off_the_loop_a_few_at_once_with_a_line_per_address() -> None:
    slow = SlowCheck(concurrency=2, line=2, per_address=2)
    gate, running, peak = threading.Event(), [0], [0]
    lock = threading.Lock()

    def check() -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait(5)
        with lock:
            running[0] -= 1
        return True

    tasks = []
    for address in ("a", "a", "b", "b"):
        assert slow.admits(address)
        tasks.append(asyncio.ensure_future(slow.run(address, check)))
        await asyncio.sleep(0)
    assert not slow.admits("a")  # two of "a" are inside already
    assert not slow.admits("c")  # and the line is full
    # The loop is free while the checks block their threads (started as threads come up).
    await until(lambda: running[0] == 2, "two checks inside")
    gate.set()
    assert await asyncio.gather(*tasks) == [True] * 4
    assert peak[0] == 2
    assert slow.admits("a") and slow.admits("c")
