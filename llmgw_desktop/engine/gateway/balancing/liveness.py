"""Whether a target still answers at all: a call left waiting for its first byte makes the
gateway ask, and a target that does not answer is passed over until it does.

A hung upstream (a process stopped, a server wedged) takes connections and requests and sends
nothing back: each call to it would wait for its whole limit (`gateway.first_byte_timeout_ms`
for a stream, `gateway.upstream_timeout_ms` for a whole answer), and so would every request its
route's strategy sent there meanwhile. So when a call has waited `gateway.hung_check_after_ms`
for the head of its answer, and no call to that target got one since it began, the gateway
sends a probe of its own: a GET of the target's origin on a connection of its own (outside the
pool's cap: a host busy with long answers is not a host that stopped), with no key and nothing
of any caller's. Any status line is an answer (a 404 from a server that runs says it runs; a
refused connection is `unreachable.py`'s). No answer within `gateway.hung_probe_timeout_ms`
and the target is hung:

- every call waiting on it for its first byte gives up at once, and its request goes on to the
  next target of its route (the attempt's outcome is `hung`, the target not tried with another
  key: the host is the same);
- every request passes it over: it goes behind the others for everyone (no caller sent the
  probe, so no caller can make it fail; `health.py`);
- the probe goes again after `PROBE_GAP` (growing to its longest), and the first one answered
  brings the target back, as does an answer to any request still sent there.

A stream under way is watched the same way once its answer has begun: when no byte of it has
come for `gateway.hung_check_after_ms` (reading held back for a slow client is not silence),
and nothing else of its target answered meanwhile, the same probe goes, then again twice as
long after each check it answers (at most `QUIET_CHECK_LONGEST_S` apart). A target that does not
answer is hung, as above, so the stall shows (`/health`'s `cooling`, the Providers page) and
other requests pass it over; the stream itself is not cut (what came is the client's, and a
host stopped for a while may go on), it keeps `gateway.upstream_timeout_ms`.

A server that is slow but runs answers its probe, and its calls wait as long as their own
limits let them: thinking is not hanging. A proxy or load balancer that answers for a hung
server behind it hides the hang from the probe; there the calls' own limits apply.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.http_client.http1_response import StreamProgress
from llmgw_desktop.engine.gateway.http_client.upstream import HUNG_OUTCOME, UpstreamFailure
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = [
    "HUNG_OUTCOME",
    "PROBE_GAP",
    "QUIET_CHECK_LONGEST_S",
    "HeadWait",
    "LivenessSettings",
    "LivenessWatch",
    "Probe",
    "StreamProgress",
    "TargetLiveness",
]

log = logging.getLogger(__name__)

# Between the probes of a hung target: soon at first (a short stop is over in a second), then
# no more often than this, so a target gone for long costs one small request every 2 s.
PROBE_GAP = Backoff(first_s=0.5, longest_s=2.0)

# A silent stream's checks come twice as long after the one before (its probe answered: a model
# thinking), at most this far apart.
QUIET_CHECK_LONGEST_S = 60.0

# A target's probe: whether its host answered within the seconds given.
Probe = Callable[[float], Awaitable[bool]]


@dataclass(frozen=True)
class LivenessSettings:
    """The gateway settings the watch reads (`gateway.hung_*`)."""

    check_after_s: float = 2.0
    probe_timeout_s: float = 2.0


class TargetLiveness:
    """One target's calls waiting for their first byte, its streams under way, and whether it
    is hung."""

    __slots__ = (
        "answered_at",
        "hung_since",
        "label",
        "probing",
        "stream_sweep",
        "streams",
        "sweep",
        "waiting",
    )

    def __init__(self, label: str) -> None:
        self.label = label
        # The calls waiting now, oldest first (a dict keeps the order they began in).
        self.waiting: dict[HeadWait, None] = {}
        # The one timer that looks at the waiting calls due for a check (None: none set).
        self.sweep: asyncio.TimerHandle | None = None
        # Its streams under way (dropped by the sweep once they end), and the one timer that
        # looks at them every `check_after_s` while there are some.
        self.streams: dict[StreamSilence, None] = {}
        self.stream_sweep: asyncio.TimerHandle | None = None
        # When it last sent the head of an answer or answered a probe (monotonic).
        self.answered_at = -math.inf
        self.hung_since: float | None = None
        self.probing = False  # a probe of it is on its way (one at a time)

    def came(self, now: float) -> None:
        """It answered (a head, a probe): not hung."""
        self.answered_at = now
        self.hung_since = None


class HeadWait:
    """One call's wait for the head of its answer, as `async with` around the send, or `begin`
    before it and `end` after it (the same, without the two coroutines `async with` makes:
    every request's send waits here).

    Raises (on leaving the block, or from `end`):
        UpstreamFailure: of kind `hung`, when its target was found hung while it waited (the
            send was cancelled; another target may serve).
    """

    __slots__ = ("_released", "_task", "_watch", "checked", "probe", "started", "state")

    def __init__(self, watch: LivenessWatch, state: TargetLiveness, probe: Probe) -> None:
        self._watch = watch
        self.state = state
        self.probe = probe
        self.started = 0.0
        self._released = False
        self.checked = False  # its check is done (the sweep passes it)
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> HeadWait:
        return self.begin()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.end(error)

    def begin(self) -> HeadWait:
        """The wait begins (the send is about to be made, in the current task)."""
        watch = self._watch
        self.started = watch.clock()
        self._task = asyncio.current_task()
        state = self.state
        state.waiting[self] = None
        if state.sweep is None:  # one timer per target, not one per call
            state.sweep = asyncio.get_running_loop().call_later(
                watch.settings.check_after_s, watch.sweep, state
            )
        return self

    def end(self, error: BaseException | None) -> None:
        """The wait ended: its head came, or the send failed with `error`.

        Raises:
            UpstreamFailure: the target was found hung while it waited (`error` is then the
                cancellation that gave the send up).
        """
        state = self.state
        del state.waiting[self]
        if self._released and self._task is not None:
            # Our own cancellation (as `asyncio.timeout` takes its own back): given up as hung.
            if self._task.uncancel() == 0 and type(error) is asyncio.CancelledError:
                raise self._hung() from None
            return
        if error is None or getattr(error, "status", None) is not None:
            state.came(self._watch.clock())  # a head came back (2xx, or an error status)
        elif getattr(error, "kind", None) == "timeout":
            # Its own limit ended the wait before the check did (a short first-byte limit):
            # whether its target still answers is asked all the same.
            self._watch.check(state, self.started, self.probe)

    def _hung(self) -> UpstreamFailure:
        settings = self._watch.settings
        return UpstreamFailure(
            f"{self.state.label} stopped answering: nothing for "
            f"{self._watch.clock() - self.started:.1f} s and no answer to the gateway's probe "
            f"in {settings.probe_timeout_s:g} s (gateway.hung_probe_timeout_ms)",
            fallback=True,
            next_key=False,
            kind=HUNG_OUTCOME,
        )

    def release(self) -> None:
        """Give up the wait now (its target is hung): its send is cancelled."""
        if self._task is not None and not self._released:
            self._released = True
            self._task.cancel()


class StreamSilence:
    """One stream under way from a target: how much of it had come at the last sweep, and
    since when nothing more has."""

    __slots__ = ("asked_at", "due_s", "probe", "quiet_since", "seen", "stream")

    def __init__(self, stream: StreamProgress, probe: Probe, now: float, due_s: float) -> None:
        self.stream = stream
        self.probe = probe
        self.seen = stream.received
        self.quiet_since = now
        # Since when an answer of its target would show the host runs: the silence's start,
        # then its last check.
        self.asked_at = now
        self.due_s = due_s  # how long after `asked_at` its next check comes

    def heard(self, now: float, due_s: float) -> None:
        """More of it came (or its reader held it back): a new silence begins."""
        self.seen = self.stream.received
        self.quiet_since = self.asked_at = now
        self.due_s = due_s


class LivenessWatch:
    """Probes targets whose calls wait too long for their first byte, or whose streams go
    silent; one per balancer."""

    def __init__(
        self,
        settings: LivenessSettings,
        *,
        tasks: TaskSupervisor,
        clock: Callable[[], float],
        on_hung: Callable[[TargetLiveness], None],
        on_back: Callable[[TargetLiveness], None],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._tasks = tasks
        # Told when a target is found hung (the balancer reorders plans while any is), and
        # when a probe finds it answering again (a rest its calls' timeouts began ends).
        self._on_hung = on_hung
        self._on_back = on_back

    def waiting(self, state: TargetLiveness, probe: Probe) -> HeadWait:
        """A call's wait for its first byte from the target `state` is of; `probe` asks its
        host whether it answers at all."""
        return HeadWait(self, state, probe)

    def streaming(self, state: TargetLiveness, stream: StreamProgress, probe: Probe) -> None:
        """Watch `stream`, under way from the target `state` is of, for silence (until it
        ends); `probe` asks its host whether it answers at all."""
        check_after_s = self.settings.check_after_s
        state.streams[StreamSilence(stream, probe, self.clock(), check_after_s)] = None
        if state.stream_sweep is None:  # one timer per target, not one per stream
            state.stream_sweep = asyncio.get_running_loop().call_later(
                check_after_s, self.sweep_streams, state
            )

    def sweep_streams(self, state: TargetLiveness) -> None:
        """Look at `state`'s streams: drop those that ended, note those that moved (their
        target answers), and check each silent one whose silence is due (`_quiet`)."""
        state.stream_sweep = None
        now, check_after_s = self.clock(), self.settings.check_after_s
        silent = []
        for silence in list(state.streams):
            stream = silence.stream
            moved = stream.received != silence.seen
            if moved:
                state.came(now)  # its host sends (the last of it, perhaps)
            if stream.ended:
                del state.streams[silence]
            elif moved or not stream.awaited:  # or held back for its reader: not silent
                silence.heard(now, check_after_s)
            elif now - silence.asked_at >= silence.due_s:  # since its last check
                silent.append(silence)
        if silent:  # after every stream that moved said its target answers
            self._quiet(state, silent, now)
        if state.streams:
            state.stream_sweep = asyncio.get_running_loop().call_later(
                check_after_s, self.sweep_streams, state
            )

    def _quiet(self, state: TargetLiveness, silent: list[StreamSilence], now: float) -> None:
        """Each of `silent` has been silent as long as its check waits for: probe their
        target (`check`: one probe at most), and check each again twice as long after."""
        firsts = [s.asked_at == s.quiet_since for s in silent]
        if state.hung_since is None and any(firsts):
            log.info(
                "gateway: %d stream(s) from %s sent nothing for %.1f s or more; checking "
                "whether its host answers",
                len(silent),
                state.label,
                min(now - s.quiet_since for s in silent),
            )
        for silence, first in zip(silent, firsts, strict=True):
            # A first check asks unless the target answered anything after the silence began
            # (a silence begins at the sweep that saw the stream move, the clock reading its
            # move was counted at as its target answering: that one is not after); a later one
            # unless a stream moved at this sweep (the last probe's own answer, which set
            # `answered_at`, says nothing of now).
            since = math.nextafter(silence.quiet_since, math.inf) if first else now
            silence.asked_at = now
            silence.due_s = min(2 * silence.due_s, QUIET_CHECK_LONGEST_S)
            self.check(state, since, silence.probe)

    def close(self, states: Iterable[TargetLiveness]) -> None:
        """Stop watching `states` (the gateway stops): their timers go, their streams are
        forgotten; a probe on its way ends with the engine's tasks."""
        for state in states:
            for timer in (state.sweep, state.stream_sweep):
                if timer is not None:
                    timer.cancel()
            state.sweep = state.stream_sweep = None
            state.streams.clear()

    def sweep(self, state: TargetLiveness) -> None:
        """Check each call of `state`'s target that has waited `check_after_s` (once each),
        and set the timer again for the next one due."""
        state.sweep = None
        now = self.clock()
        for wait in state.waiting:  # oldest first
            due_in = wait.started + self.settings.check_after_s - now
            if due_in > 0:
                state.sweep = asyncio.get_running_loop().call_later(due_in, self.sweep, state)
                return
            if not wait.checked:
                wait.checked = True
                self.stalled(wait)

    def stalled(self, wait: HeadWait) -> None:
        """`wait` has waited `check_after_s`: probe its target (`check`); a target already
        hung releases it at once (it was sent there as a last resort: it still is)."""
        if wait.state.hung_since is not None:
            wait.release()
            return
        self.check(wait.state, wait.started, wait.probe)

    def check(self, state: TargetLiveness, since: float, probe: Probe) -> None:
        """Probe the target `state` is of with `probe`, unless it answered `since` (the call
        or stream waiting is slow, not its target), is known hung, or a probe is on its way."""
        if state.answered_at >= since or state.probing or state.hung_since is not None:
            return
        state.probing = True
        try:
            self._tasks.spawn(self._probe(state, probe), name=f"probe {state.label}", service=True)
        except RuntimeError:  # the engine is stopping: nothing to watch for
            state.probing = False

    async def _probe(self, state: TargetLiveness, probe: Probe) -> None:
        """Probe `state`'s target; when it does not answer, mark it hung, release its waiting
        calls, and probe again until it answers."""
        timeout_s = self.settings.probe_timeout_s
        try:
            if await probe(timeout_s):
                state.came(self.clock())
                return
            state.hung_since = self.clock()
            log.warning(
                "gateway: %s does not answer (no answer to a probe in %g s); its calls go on "
                "to their routes' next targets, and it goes behind the others until it answers",
                state.label,
                timeout_s,
            )
            for wait in list(state.waiting):
                wait.release()
            self._on_hung(state)
            gap = 0.0
            while state.hung_since is not None:
                gap = PROBE_GAP.after(gap)
                await asyncio.sleep(gap)
                if state.hung_since is not None and await probe(timeout_s):
                    state.came(self.clock())
            log.info("gateway: %s answers again; it takes its place in its routes", state.label)
            self._on_back(state)
        finally:
            state.probing = False
