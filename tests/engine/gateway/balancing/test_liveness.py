"""A target that stops answering at all: the probe that finds it, the calls it releases, the
probe that brings it back (`balancing/liveness.py`), and the HTTP client's probe itself."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from llmgw_desktop.engine.gateway.balancing.liveness import (
    QUIET_CHECK_LONGEST_S,
    LivenessSettings,
    LivenessWatch,
    TargetLiveness,
)
from llmgw_desktop.engine.gateway.http_client.http1 import Http1Client
from llmgw_desktop.engine.gateway.http_client.upstream import HUNG_OUTCOME, UpstreamFailure
from llmgw_desktop.engine.tasks import TaskSupervisor
from tests.fakes.loopback import LOOPBACK, answering_with, close_server

FAST = LivenessSettings(check_after_s=0.05, probe_timeout_s=0.05)
BOUND_S = 5.0  # every wait here ends in well under this, or the test fails


class ScriptedProbe:
    """A probe whose answers the test sets; counts how often it was asked."""

    def __init__(self) -> None:
        self.answers = False
        self.asked = 0

    async def __call__(self, timeout_s: float) -> bool:
        self.asked += 1
        if not self.answers:
            await asyncio.sleep(timeout_s)
        return self.answers


class Rig:
    def __init__(self) -> None:
        self.tasks = TaskSupervisor()
        self.hung: list[str] = []
        self.back = asyncio.Event()
        self.watch = LivenessWatch(
            FAST,
            tasks=self.tasks,
            clock=time.monotonic,
            on_hung=lambda state: self.hung.append(state.label),
            on_back=lambda _state: self.back.set(),
        )
        self.state = TargetLiveness("alpha/gpt-4o-mini")


async def test_a_call_waiting_on_a_target_that_does_not_answer_its_probe_gives_up() -> None:
    rig, probe = Rig(), ScriptedProbe()
    began = time.monotonic()
    with pytest.raises(UpstreamFailure) as caught:
        async with asyncio.timeout(BOUND_S), rig.watch.waiting(rig.state, probe):
            await asyncio.Event().wait()  # a head that never comes
    failure = caught.value
    assert failure.kind == HUNG_OUTCOME and failure.fallback and not failure.next_key
    assert "gateway.hung_probe_timeout_ms" in failure.message
    assert time.monotonic() - began < 1.0
    assert rig.hung == ["alpha/gpt-4o-mini"] and rig.state.hung_since is not None
    # Probed again until it answers, then back.
    probe.answers = True
    async with asyncio.timeout(BOUND_S):
        await rig.back.wait()
    assert rig.state.hung_since is None
    await rig.tasks.shutdown(grace=1.0)


async def test_a_slow_call_on_a_target_that_answers_its_probe_is_left_alone() -> None:
    rig, probe = Rig(), ScriptedProbe()
    probe.answers = True
    async with asyncio.timeout(BOUND_S), rig.watch.waiting(rig.state, probe):
        await asyncio.sleep(FAST.check_after_s * 4)  # thinking, past the check
    assert probe.asked == 1 and rig.hung == [] and rig.state.hung_since is None
    await rig.tasks.shutdown(grace=1.0)


async def test_no_probe_when_the_target_answered_another_call_meanwhile() -> None:
    rig, probe = Rig(), ScriptedProbe()
    async with asyncio.timeout(BOUND_S), rig.watch.waiting(rig.state, probe):
        rig.state.came(time.monotonic())  # another call's head came
        await asyncio.sleep(FAST.check_after_s * 3)
    assert probe.asked == 0
    await rig.tasks.shutdown(grace=1.0)


async def test_many_waits_on_one_target_send_one_probe_and_are_all_released() -> None:
    rig, probe = Rig(), ScriptedProbe()

    async def one() -> str:
        try:
            async with rig.watch.waiting(rig.state, probe):
                await asyncio.Event().wait()
        except UpstreamFailure as exc:
            return exc.kind
        return "answered"

    async with asyncio.timeout(BOUND_S):
        kinds = await asyncio.gather(*(one() for _ in range(8)))
    assert kinds == [HUNG_OUTCOME] * 8
    assert probe.asked == 1  # the one probe decided for all eight
    await rig.tasks.shutdown(grace=1.0)


class Stream:
    """A stream under way as the watch reads it, moved by the test."""

    def __init__(self) -> None:
        self.received = 100  # its first frame has come
        self.ended = False
        self.awaited = True


async def _sweeps(n: int) -> None:
    """Let the stream sweep run about `n` times (one each `check_after_s`)."""
    await asyncio.sleep(FAST.check_after_s * n + 0.02)


async def test_a_stream_gone_silent_on_a_target_that_does_not_answer_marks_it_hung() -> None:
    """Mid-stream stalls showed nowhere until `upstream_timeout_ms` (ten minutes by default:
    fault pass of 2026-11-29, F6). The stream itself is not cut; what moves again brings the
    target back."""
    rig, probe, stream = Rig(), ScriptedProbe(), Stream()
    async with asyncio.timeout(BOUND_S):
        rig.watch.streaming(rig.state, stream, probe)
        while not rig.hung:
            await _sweeps(1)
    assert rig.hung == ["alpha/gpt-4o-mini"] and rig.state.hung_since is not None
    assert not stream.ended  # nothing of the watch ends it
    stream.received += 50  # it goes on (the host was stopped for a while)
    async with asyncio.timeout(BOUND_S):
        await rig.back.wait()
    assert rig.state.hung_since is None
    stream.ended = True
    await _sweeps(2)
    assert rig.state.streams == {} and rig.state.stream_sweep is None
    await rig.tasks.shutdown(grace=1.0)


class ClockRig:
    """A watch on a clock of its own, its stream sweep called as its timer would be (the timer
    itself is set far off and cancelled at each call): checks every 2 s of that clock."""

    def __init__(self, *, answers: bool) -> None:
        self.now = 0.0
        self.tasks = TaskSupervisor()
        self.hung: list[str] = []
        self.found_hung = asyncio.Event()
        self.watch = LivenessWatch(
            LivenessSettings(check_after_s=2.0, probe_timeout_s=0.01),
            tasks=self.tasks,
            clock=lambda: self.now,
            on_hung=self._hung,
            on_back=lambda _state: None,
        )
        self.state = TargetLiveness("alpha/gpt-4o-mini")
        self.probe = ScriptedProbe()
        self.probe.answers = answers

    def _hung(self, state: TargetLiveness) -> None:
        self.hung.append(state.label)
        self.found_hung.set()

    async def sweep_at(self, second: float) -> bool:
        """Sweep at `second`; whether a probe went."""
        self.now = second
        if self.state.stream_sweep is not None:
            self.state.stream_sweep.cancel()
        before = self.probe.asked
        self.watch.sweep_streams(self.state)
        for _ in range(3):  # the probe, if one went, answers (or times out: 10 ms)
            await asyncio.sleep(0)
        return self.probe.asked > before

    async def close(self) -> None:
        self.watch.close([self.state])
        assert self.state.stream_sweep is None and self.state.streams == {}
        await self.tasks.shutdown(grace=1.0)


async def test_a_silent_stream_on_a_target_that_answers_is_checked_ever_less_often() -> None:
    """Thinking is not hanging: the probe answers and nothing is marked, and each check comes
    twice as long after the one before, up to once a minute."""
    rig, stream = ClockRig(answers=True), Stream()
    rig.watch.streaming(rig.state, stream, rig.probe)
    asked_at = [second for second in range(2, 602, 2) if await rig.sweep_at(second)]
    gaps = [b - a for a, b in itertools.pairwise(asked_at)]
    assert asked_at[:5] == [2, 6, 14, 30, 62], asked_at  # 4, 8, 16, 32 s apart
    assert max(gaps) <= QUIET_CHECK_LONGEST_S and min(gaps[5:]) >= QUIET_CHECK_LONGEST_S, gaps
    assert rig.hung == [] and rig.state.hung_since is None
    await rig.close()


async def test_no_probe_for_a_stream_held_back_for_its_reader_or_beside_one_that_moves() -> None:
    rig = ClockRig(answers=False)
    held, silent, moving = Stream(), Stream(), Stream()
    held.awaited = False  # reading paused for a slow client: the silence is ours
    rig.watch.streaming(rig.state, held, rig.probe)
    assert not any([await rig.sweep_at(second) for second in (2, 4, 6, 8)])
    rig.watch.streaming(rig.state, silent, rig.probe)
    rig.watch.streaming(rig.state, moving, rig.probe)
    for second in (10, 12, 14, 16, 18):  # the other stream keeps coming: its host runs
        moving.received += 10
        assert not await rig.sweep_at(second)
    assert rig.hung == []
    await rig.close()


async def test_a_stream_that_came_then_went_silent_is_probed_at_its_first_check() -> None:
    """The sweep that saw it move is when its silence began and when its target last answered:
    that answer is not one after the silence began (the CI of 2026-11-29 waited for a second
    check, past the test's pause, under load)."""
    rig, stream = ClockRig(answers=False), Stream()
    rig.watch.streaming(rig.state, stream, rig.probe)
    stream.received += 10  # more came before the first sweep, then nothing
    assert not await rig.sweep_at(2.0)
    assert await rig.sweep_at(4.0)
    async with asyncio.timeout(BOUND_S):
        await rig.found_hung.wait()
    assert rig.probe.asked == 1 and rig.hung == ["alpha/gpt-4o-mini"]
    await rig.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A server that takes connections and requests and never answers; its port."""
    held: list[asyncio.Task[None]] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        held.append(task)
        await reader.read(-1)

    server = await asyncio.start_server(hold, LOOPBACK, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        await close_server(server, held)


async def test_the_http_probe_tells_a_silent_server_from_one_that_runs_or_is_gone() -> None:
    client = Http1Client(connect_timeout_s=5.0)
    try:
        async with silent_server() as port:
            assert await client.answers(f"http://{LOOPBACK}:{port}/", timeout_s=0.2) is False
        not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        async with answering_with(not_found) as port:
            assert await client.answers(f"http://{LOOPBACK}:{port}/", timeout_s=2.0) is True
        # Nothing listens: refused at once, which is a server gone, not hung.
        assert await client.answers(f"http://{LOOPBACK}:{port}/", timeout_s=2.0) is True
    finally:
        await client.close()
