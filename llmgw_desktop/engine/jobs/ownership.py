"""Whose a job's row is, and what the other gateway processes on the store may do to it.

A job is owned by the gateway process that stored it, under the lease epoch that process held
then (`leases.py`). Every write of the owner closes with `OWNER_HOLDS_EPOCH`: it lands only
while the owner's lease row has that epoch. A peer that took the owner for dead deleted that
row, and the owner's next registration has the next epoch, so nothing of the lost tenure lands,
whatever the row's state. Jobs without an owner (a store no process leases) are not fenced.

A row no live process owns (`without_live_owner`) is ended by the others: the reaper marks it
`interrupted` (`leases.py`), and a cancel sent through another process ends it `canceled`. A
cancel of a job whose owner is alive is a flag in its row, which the owner reads at each
progress flush and obeys as a local cancel. The owner flags its own jobs' cancels too
(`cancels.py`): no process attaches an identical call to a job that is being cancelled.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import store_time

__all__ = [
    "ORPHAN_CANCELED_ERROR",
    "OWNER_HOLDS_EPOCH",
    "UNFINISHED",
    "RemoteCancels",
    "without_live_owner",
]

# A job another process ran, ended by the canceller because that process had stopped.
ORPHAN_CANCELED_ERROR = {
    "code": ErrorCode.CANCELED,
    "message": "the job was canceled (the gateway process running it had stopped)",
    "retryable": False,
}
UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)
# The fence on every write of a job's owner, closing each statement of its call's path
# (`store.py`): the owner's lease row still has the epoch the job was stored under.
OWNER_HOLDS_EPOCH = (
    " AND (owner_process IS NULL OR owner_epoch = (SELECT epoch FROM process_leases"
    " WHERE process_leases.id = jobs.owner_process))"
)


def without_live_owner(models: Any, now: float) -> Any:
    """The condition, on jobs rows, that no live gateway process owns them: no owner (written
    before leases), or an owner whose lease is gone, ran out by `now`, or is a later epoch than
    the one the job was stored under (the owner was taken for dead and registered again)."""
    Job, Lease = models.Job, models.ProcessLease
    alive = Lease.select(peewee.SQL("1")).where(
        (Lease.id == Job.owner_process)
        & (Lease.expires_at >= now)
        & (Job.owner_epoch.is_null() | (Lease.epoch == Job.owner_epoch))
    )
    return Job.owner_process.is_null() | ~peewee.fn.EXISTS(alive)


class RemoteCancels:
    """A cancel of a job another gateway process runs: flagged for its owner, or, when no live
    process owns it, ended by the canceller."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def request_cancel(self, job_id: str) -> bool:
        """Flag an unfinished job's cancel in its row: its owner process cancels it (when the
        cancel came through another process), and no process attaches an identical call to
        it (`JobStore.create`). False when it had ended."""
        Job = self._db.models.Job
        changed = await self._db.run(
            lambda: (
                Job.update(cancel_requested=True)
                .where((Job.id == job_id) & Job.state.in_(UNFINISHED))
                .execute()
            )
        )
        return bool(changed)

    async def is_requested(self, job_id: str) -> bool:
        """Whether an unfinished job's cancel is flagged in its row."""
        Job = self._db.models.Job
        found = await self._db.run(
            lambda: (
                Job.select(Job.id)
                .where((Job.id == job_id) & (Job.cancel_requested == 1) & Job.state.in_(UNFINISHED))
                .exists()
            )
        )
        return bool(found)

    async def cancel_requests(self, owner_process: str) -> list[str]:
        """The unfinished jobs of `owner_process` a cancel from another process flagged (one
        look-up in a partial index: flags are rare)."""
        Job = self._db.models.Job
        return await self._db.run(
            lambda: [
                row.id
                for row in Job.select(Job.id).where(
                    (Job.owner_process == owner_process)
                    & (Job.cancel_requested == 1)
                    & Job.state.in_(UNFINISHED)
                )
            ]
        )

    async def cancel_orphan(self, job_id: str, now: float) -> bool:
        """End an unfinished job as canceled when no live process owns it (its owner's lease
        ran out, it has none, or the job predates leases); False when its owner is alive or it
        had ended. Conditional in SQL, so an owner or a reaper acting at once cannot be undone."""
        Job = self._db.models.Job
        models = self._db.models

        def end() -> int:
            # Leases are written in the store's time (`JobLeases.stamp`): compare in it too.
            stamp = now if (found := store_time(models.database)) is None else found
            return int(
                Job.update(
                    state=JobState.CANCELED.value,
                    error_json=json.dumps(ORPHAN_CANCELED_ERROR),
                    finished_at=stamp,
                    updated_at=stamp,
                )
                .where(
                    (Job.id == job_id)
                    & Job.state.in_(UNFINISHED)
                    & without_live_owner(models, stamp)
                )
                .execute()
            )

        return bool(await self._db.run(end))
