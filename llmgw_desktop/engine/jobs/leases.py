"""Gateway process leases: who is alive on a shared store, and the reaper of those who are not.

A job lives in the memory of the gateway process that runs its CLI. On a store several
processes share (PostgreSQL), a process that dies (kill -9, a lost machine) cannot end its
jobs; without leases they would stay `running` forever. So each process registers a lease
when it starts (`process_leases`: an id made when its engine is built, host and pid for the
logs) and renews it every third of `jobs.lease_ms`. At start and at every renewal a process on
a shared store reaps: every unfinished job whose owner has no live lease (it ran out, the row
is gone, or the job predates leases) is marked `interrupted` with its partial output kept, the
owner's recorder rows still `started` are closed the same way, and the dead lease is deleted.
Each is one conditional statement in one transaction, so two survivors reaping at once mark
each job once. A process that stalled past its own lease finds its row gone at the next
renewal: it says so and registers again (`losses` counts it); its jobs' rows stay interrupted
(`JobStore.finish` only ends a row still live), and its job manager stops those jobs' CLIs and
tells their callers the store's ending. A process that could not renew (the store was
unreachable, or it stalled) reaps nobody for one lease after it renews again, so peers cut off
by the same outage can renew theirs first. Renewals have a database thread and connection of
their own (`Database.run_urgent`): bulk writes on the ordered thread (a replay of spilled
recorder rows) never delay them. On an exclusive store (SQLite, one process) the lease is kept
for `/health` and the start ends every unfinished job instead (`JobManager.start`).

**What a process may do is what it can prove.** A renewal that fails does not tell a partition
(this process cut off, its peers still on the store and about to reap it) from an outage for
all, so whatever the failure (reset, refused, silent, slow), the lease is held only until the
last renewal that landed began plus one lease. The lifeline hears that time after each renewal,
and nothing else: it pauses the jobs' CLIs before then unless a later renewal proves more
(`providers/lifeline.py`), and kills them at once when a renewal finds the lease was taken.
`holds()` says whether a queued job may start now: while the last renewal landed and the lease
holds for a quarter of it more (past that the lifeline has paused the CLIs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.ownership import without_live_owner
from llmgw_desktop.engine.jobs.store import INTERRUPTED_ERROR
from llmgw_desktop.engine.providers.lifeline import STALL_SLACK
from llmgw_desktop.engine.providers.process_identity import process_gone
from llmgw_desktop.engine.recorder.rows import close_interrupted
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import is_postgresql, store_time

__all__ = ["JobLeases", "Reaped"]

log = logging.getLogger(__name__)

# The leases this process made (an engine each; tests make several): a lease of our own pid
# that is not one of them is an earlier run's, which had the same pid.
_MADE_HERE: set[str] = set()

# A renewal comes every third of the lease, so two renewals can fail (a slow query, a busy
# server) before peers take the process for dead.
RENEWALS_PER_LEASE = 3
# After a renewal failed, the next is tried this soon (at most a renewal's interval): the sooner
# one lands after the store is back, the sooner paused CLIs go on, or are killed if peers took
# this process for dead, and its views say what the store says.
RETRY_AFTER_FAILURE_S = 1.0
NO_LEASE = "(no lease)"


@dataclass(frozen=True)
class Reaped:
    """A process found dead (or jobs found without any owner) and what was closed for it."""

    process_id: str  # NO_LEASE for jobs whose owner left no lease row, or had none
    host: str
    pid: int | None
    jobs: int


@dataclass(frozen=True)
class _Tick:
    expires_at: float
    peers: int
    lost: bool  # our lease was gone: another process took us for dead
    reaped: tuple[Reaped, ...]
    records: int


class JobLeases:
    """This process's lease on the store: registered at start, renewed, released at stop."""

    def __init__(
        self,
        db: Database,
        *,
        lease_s: float,
        clock: Callable[[], float] | None = None,
        renew_every_s: float | None = None,
        process_id: str | None = None,
        on_held: Callable[[float, bool], Awaitable[None]] | None = None,
    ) -> None:
        """`renew_every_s` defaults to a third of `lease_s`. Leases are compared across
        processes, possibly on several machines whose clocks disagree, so by default their
        times are the store's: PostgreSQL's own clock (`store_time`), else this machine's.
        `clock` replaces that (tests).

        On a shared store, `on_held` hears after each renewal that landed until when (this
        machine's monotonic time) no peer can take this process for dead, and whether peers had
        taken it for dead before (its jobs' CLIs are then of a lost tenure): the lifeline pauses
        the CLIs before that time unless told again, and kills a lost tenure's at once
        (`providers/lifeline.py`). A renewal that fails tells it nothing: the last time stands."""
        self._db = db
        self.lease_s = lease_s
        self.renew_every_s = renew_every_s or lease_s / RENEWALS_PER_LEASE
        self._clock = clock
        self._on_held = on_held
        self.process_id = process_id or uuid.uuid4().hex
        _MADE_HERE.add(self.process_id)
        # Which registration of this process its lease row is: 1 at the first, one more each
        # time it registers again after a peer took it for dead. Jobs are stored under it and
        # written only while it holds (`JobStore`).
        self.epoch = 0
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._started_at: float | None = None
        self._expires_at: float | None = None
        self._renewed_at: float | None = None  # this machine's monotonic time of it
        # Until when (monotonic) no peer can take this process for dead, as proved by the last
        # renewal that landed: that renewal's start plus one lease.
        self._held_until: float | None = None
        # Set after each renewal, landed or failed, then replaced: what `renewed()` waits on.
        self._renewal = asyncio.Event()
        self._peers = 0
        # After this process could not renew (the store was unreachable, or it stalled), its
        # view of who is alive is stale: peers cut off by the same outage need one lease to
        # renew. No reaping before this monotonic time.
        self._reap_from: float | None = None
        self._renew_failed = False
        # How many times peers took this process for dead (its job manager stops those jobs).
        self.losses = 0

    @property
    def shared(self) -> bool:
        """Whether other processes may use the store (then this one reaps their leftovers)."""
        return self._db.engine.shared

    def stamp(self) -> float:
        """The time leases are written and compared in (call on the database thread)."""
        if self._clock is not None:
            return self._clock()
        found = store_time(self._db.models.database)
        return time.time() if found is None else found

    async def register(self) -> tuple[Reaped, ...]:
        """Write this process's lease and, on a shared store, reap dead processes' jobs."""
        self._started_at = None
        return await self.renew()

    async def renew(self) -> tuple[Reaped, ...]:
        """Extend the lease (writing it again if another process reaped it) and reap; what
        was reaped."""
        now = time.monotonic()
        gap = None if self._renewed_at is None else now - self._renewed_at
        # Cut off from the store (or stalled) since the last renewal: the view of who is alive
        # is stale, and so may be peers' own renewals.
        cut_off = self._renew_failed or (gap is not None and gap > self.lease_s)
        reap = not cut_off and (self._reap_from is None or now >= self._reap_from)
        try:
            # On the urgent lane: a renewal queued behind a replay of spilled recorder rows
            # came too late for the warden's deadline, which stopped live jobs' CLIs.
            tick = await self._db.run_urgent(lambda: self._renew_and_reap(reap=reap))
        except BaseException:
            # Nothing proved: the last deadline stands, whatever the failure looked like. A
            # store that refuses or resets this process may still serve its peers (a
            # partition), who take it for dead once the lease runs out.
            self._renew_failed = True
            self._announce()
            raise
        # The store took the lease no earlier than this renewal began, so until then plus one
        # lease no peer takes this process for dead.
        self._held_until = now + self.lease_s
        # A lost tenure is told first: its CLIs die before anything could resume them.
        await self._held(self._held_until, lost=tick.lost)
        self._renewed_at = time.monotonic()
        if cut_off:
            self._reap_from = self._renewed_at + self.lease_s
            log.info(
                "lease renewed again after %s: peers are not taken for dead for one lease "
                "(%.1f s), so those cut off too can renew theirs",
                "a failure" if self._renew_failed else f"{gap:.1f} s without a renewal",
                self.lease_s,
            )
        self._renew_failed = False
        self._expires_at = tick.expires_at
        self._peers = tick.peers
        if tick.lost:
            self.losses += 1
            log.error(
                "this gateway process (%s, pid %d) had stopped renewing its lease for longer "
                "than jobs.lease_ms: another process took it for dead and marked its jobs "
                "interrupted. The lease is registered again; those jobs are stopped here and "
                "end as their rows say, interrupted",
                self.host,
                self.pid,
            )
        for dead in tick.reaped:
            if dead.process_id == NO_LEASE:
                log.warning(
                    "%d unfinished job(s) whose gateway process holds no lease (it stopped "
                    "long ago, or wrote them before leases existed) marked interrupted",
                    dead.jobs,
                )
                continue
            log.warning(
                "gateway process %s (host %s, pid %s) stopped renewing its lease: %d unfinished "
                "job(s) marked interrupted",
                dead.process_id,
                dead.host,
                "?" if dead.pid is None else dead.pid,
                dead.jobs,
            )
        if tick.records:
            log.warning(
                "closed %d flight-recorder row(s) of gateway processes that stopped",
                tick.records,
            )
        self._announce()
        return tick.reaped

    async def _held(self, held_until: float, *, lost: bool) -> None:
        if self._on_held is not None and self.shared:
            await self._on_held(held_until, lost)

    def _announce(self) -> None:
        self._renewal.set()
        self._renewal = asyncio.Event()

    def holds(self) -> bool:
        """Whether work may start now: on a shared store, the last renewal landed and the lease
        holds for `STALL_SLACK` of it more (see the module docstring); always elsewhere."""
        if not self.shared:
            return True
        if self._renew_failed or self._held_until is None:
            return False
        # The point where the lifeline pauses the jobs' CLIs: a job starts only while its CLI
        # would run.
        return time.monotonic() < self._held_until - self.lease_s * STALL_SLACK

    async def renewed(self) -> None:
        """Wait for the next renewal's outcome (landed or failed)."""
        await self._renewal.wait()

    async def release(self) -> None:
        """Delete the lease (a clean stop: this process's jobs were ended first)."""
        Lease = self._db.models.ProcessLease
        await self._db.run(lambda: Lease.delete().where(Lease.id == self.process_id).execute())
        self._expires_at = None

    async def run_forever(self) -> None:
        """Renew (and reap) every `renew_every_s` until cancelled, counted from when the last
        renewal began: the warden's deadline is counted from there too, so a slow renewal (a
        loaded machine, a busy server) must not push the next one later by its own length."""
        due = time.monotonic()
        every = self.renew_every_s
        while True:
            due = max(due + every, time.monotonic())
            await asyncio.sleep(due - time.monotonic())
            try:
                await self.renew()
                every = self.renew_every_s
            except Exception as exc:  # tried again soon; the lifeline pauses CLIs meanwhile
                every = min(self.renew_every_s, RETRY_AFTER_FAILURE_S)
                self.log_failure("could not renew this gateway process's lease", exc)

    def log_failure(self, what: str, exc: Exception) -> None:
        """Log a lease write that failed: one line when the store cannot take writes (a full
        disk, reported by the store's health already), else with the traceback (a bug)."""
        self._db.log_failure(log, what, exc)

    def health(self) -> dict[str, Any]:
        """This process's lease and how many other processes held a live one at last renewal."""
        # Counted on this machine's clock from the renewal: the store's may differ from it.
        expires_in = (
            None
            if self._renewed_at is None
            else self.lease_s - (time.monotonic() - self._renewed_at)
        )
        return {
            "process": self.process_id,
            "expiresInS": None if expires_in is None else round(max(0.0, expires_in), 3),
            "leaseS": self.lease_s,
            "peers": self._peers,
        }

    # -- on the database thread ---------------------------------------------------------------

    def _renew_and_reap(self, *, reap: bool = True) -> _Tick:
        models = self._db.models
        Lease = models.ProcessLease
        now = self.stamp()
        expires_at = now + self.lease_s
        if self._started_at is None:
            self._started_at = now
        with models.database.atomic():
            renewed = (
                Lease.update(expires_at=expires_at).where(Lease.id == self.process_id).execute()
            )
            if not renewed:
                # A new tenure: whatever this process held under the last one was ended by
                # the peer that took it for dead, and stays so (the jobs' writes are fenced).
                self.epoch += 1
                Lease.insert(
                    id=self.process_id,
                    host=self.host,
                    pid=self.pid,
                    started_at=self._started_at if self._started_at is not None else now,
                    expires_at=expires_at,
                    epoch=self.epoch,
                ).execute()
            reaped: tuple[Reaped, ...] = ()
            records = 0
            if self.shared:
                if reap:
                    reaped, records = self._reap(now)
            else:
                self._forget_gone(now)
            peers = (
                Lease.select()
                .where((Lease.id != self.process_id) & (Lease.expires_at >= now))
                .count()
            )
        # A first registration finds no row; only a renewal that finds none was reaped.
        lost = not renewed and self._expires_at is not None
        return _Tick(expires_at, peers, lost, reaped, records)

    def _forget_gone(self, now: float) -> None:
        """On a store of this process's alone (the instance lock), drop the leases earlier runs
        left: the start ended every job they held. One goes once it has lapsed, or at once when
        its process is gone (killed, it never released it; this host's only: a pid names a
        process here), not left to count as a peer of a store no other process can open."""
        Lease = self._db.models.ProcessLease
        left = Lease.select(Lease.id, Lease.host, Lease.pid, Lease.expires_at).where(
            Lease.id != self.process_id
        )
        gone = [
            row.id
            for row in left
            if row.expires_at < now
            or (
                row.host == self.host
                and row.pid is not None
                # Our own pid under a lease this process did not make is a run before us that
                # had it (a container's gateway has the same pid each start).
                and (process_gone(row.pid) or (row.pid == self.pid and row.id not in _MADE_HERE))
            )
        ]
        if gone:
            Lease.delete().where(Lease.id.in_(gone)).execute()

    def _reap(self, now: float) -> tuple[tuple[Reaped, ...], int]:
        """End what processes without a live lease left open; (per process, recorder rows)."""
        models = self._db.models
        Job, Lease = models.Job, models.ProcessLease
        expired = Lease.select().where((Lease.expires_at < now) & (Lease.id != self.process_id))
        if is_postgresql(models.database):
            # Locked until this transaction ends: an owner renewing meanwhile waits, then finds
            # its row gone and registers again under the next epoch (it knows it was taken for
            # dead). One that renewed first is no longer expired and is not locked.
            expired = expired.for_update()
        dead = {row.id: row for row in expired}
        unfinished = (JobState.QUEUED.value, JobState.RUNNING.value)
        # One conditional UPDATE: a job another reaper ended a moment ago no longer matches.
        marked = (
            Job.update(
                state=JobState.INTERRUPTED.value,
                error_json=json.dumps(INTERRUPTED_ERROR),
                finished_at=now,
                updated_at=now,
            )
            .where(
                Job.state.in_(unfinished)
                & (Job.owner_process.is_null() | (Job.owner_process != self.process_id))
                & without_live_owner(models, now)
            )
            .returning(Job.owner_process)
            .tuples()
            .execute()
        )
        by_owner = Counter(owner if owner in dead else NO_LEASE for (owner,) in marked)
        records = close_interrupted(
            models.database,
            now,
            scope=(
                " AND (owner_process IS NULL OR NOT EXISTS (SELECT 1 FROM process_leases"
                " WHERE process_leases.id = requests.owner_process"
                " AND process_leases.expires_at >= ?))",
                (now,),
            ),
        )
        # By the condition, not the ids read above: a lease renewed since then stays.
        Lease.delete().where((Lease.expires_at < now) & (Lease.id != self.process_id)).execute()
        reaped = [
            Reaped(process_id, row.host, row.pid, by_owner.pop(process_id, 0))
            for process_id, row in dead.items()
        ]
        if by_owner.get(NO_LEASE):
            reaped.append(Reaped(NO_LEASE, "?", None, by_owner[NO_LEASE]))
        return tuple(reaped), records
