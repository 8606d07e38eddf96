"""JobStore: the jobs table behind awaitable methods, all run on the database thread.

The rows of this process's jobs: written as each job is submitted, starts, flushes its progress
and ends (each write fenced by its owner's lease epoch, `ownership.py`), and read back by id,
identity, correlation id or principal. The desk's listing is `desk_rows.py`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.jobs.model import FINISHED, JobState, JobView
from llmgw_desktop.engine.jobs.ownership import OWNER_HOLDS_EPOCH, UNFINISHED
from llmgw_desktop.engine.redact import redact, redact_data
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import portable

__all__ = [
    "INTERRUPTED_ERROR",
    "JobStore",
    "LeftRunning",
    "ProgressRow",
    "row_view",
]

INTERRUPTED_ERROR = {
    "code": ErrorCode.INTERRUPTED,
    "message": (
        "the gateway stopped while this job was running; its partial output is kept. "
        "It was not re-run: send the request again to run it anew."
    ),
    "retryable": True,
}


@dataclass(frozen=True)
class ProgressRow:
    """One running job's latest partial output, flushed in batches."""

    job_id: str
    output: str
    progress: dict[str, Any]
    attempts: int
    updated_at: float


@dataclass(frozen=True)
class LeftRunning:
    """A job an earlier run of the gateway left unfinished, with the process group its CLI
    ran in (None when it never started one) and the group leader's identity."""

    job_id: str
    process_group: int | None
    process_identity: str | None


class JobStore:
    """Reads and writes job rows; knows nothing of processes or providers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    async def create(
        self,
        *,
        job_id: str,
        principal: str,
        provider: str,
        request: dict[str, Any],
        dedup_key: str | None,
        correlation_id: str | None,
        session_id: str | None,
        now: float,
        reuse_since: float | None = None,
        owner_process: str | None = None,
    ) -> JobView:
        """Store a new queued job, run by gateway process `owner_process`. With `reuse_since`
        (and a `dedup_key`), a reusable job of the same identity created since then wins
        instead: its view comes back (another id) and nothing is stored, even when another
        gateway on this store stored it a moment ago."""
        database = self._db.models.database
        stored = JobView(
            id=job_id,
            provider=provider,
            state=JobState.QUEUED,
            created_at=now,
            updated_at=now,
            # Caller-given ids are kept redacted too (and looked up the same way).
            correlation_id=_stored_id(correlation_id),
            session_id=_stored_id(session_id),
        )

        def insert() -> JobView:
            with database.atomic() as transaction:
                # Gateways sharing the store check one after another, never side by side: on
                # PostgreSQL through an advisory lock on the call's identity; on SQLite the insert
                # below, coming first, takes the file's write lock before the look-up.
                if reuse_since is not None and dedup_key is not None:
                    self._db.engine.serialize(database, dedup_key)
                row = (
                    job_id,
                    principal,
                    provider,
                    JobState.QUEUED.value,
                    # Prompts can carry keys pasted by the caller; the store never keeps them clear.
                    json.dumps(redact_data(request), sort_keys=True),
                    dedup_key,
                    stored.correlation_id,
                    stored.session_id,
                    now,
                    now,
                    owner_process,
                    owner_process,
                )
                database.execute_sql(portable(database, _INSERT_SQL), row)
                if reuse_since is None or dedup_key is None:
                    return stored
                earlier = database.execute_sql(
                    portable(database, _REUSABLE_SQL),
                    (dedup_key, reuse_since, *_REUSABLE, job_id),
                ).fetchone()
                if earlier is None:
                    return stored
                transaction.rollback()
                return row_view(self._db.models.Job.get_by_id(earlier[0]))

        return await self._db.run(insert)

    async def mark_running(self, job_id: str, *, now: float, attempts: int) -> None:
        """Move a queued job to running (not one another process already marked interrupted,
        nor one whose owner's lease epoch has passed)."""
        database = self._db.models.database
        values = (JobState.RUNNING.value, now, now, attempts, job_id, JobState.QUEUED.value)
        await self._db.run(lambda: database.execute_sql(portable(database, _RUNNING_SQL), values))

    async def save_process(self, job_id: str, process_group: int, identity: str | None) -> None:
        """Remember the process group the job's CLI runs in now (each attempt has its own),
        while the job is unfinished and its owner's lease epoch holds."""
        database = self._db.models.database
        values = (process_group, identity, job_id, *UNFINISHED)
        await self._db.run(lambda: database.execute_sql(portable(database, _PROCESS_SQL), values))

    async def save_progress(self, rows: Iterable[ProgressRow]) -> None:
        """Write many jobs' partial output in one transaction (the flusher batches them)."""
        batch = list(rows)
        if not batch:
            return
        database = self._db.models.database

        def write() -> None:
            sql = portable(database, _PROGRESS_SQL)
            with database.atomic():
                for row in batch:
                    database.execute_sql(
                        sql,
                        (
                            redact(row.output),
                            json.dumps(row.progress),
                            row.attempts,
                            row.updated_at,
                            row.job_id,
                            JobState.RUNNING.value,
                        ),
                    )

        await self._db.run(write)

    async def finish(
        self,
        job_id: str,
        *,
        state: JobState,
        output: str,
        progress: dict[str, Any],
        attempts: int,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        now: float,
        with_writes: Iterable[Callable[[], None]] = (),
        known: JobView | None = None,
    ) -> JobView:
        """Record the job's end; `with_writes` run in the same transaction (on the DB thread).

        Only a row still queued or running, whose owner still holds the lease epoch the job was
        stored under, takes the end: when another gateway process marked it interrupted (this
        one stalled past its lease), the row keeps that, and the stored view returned says so.
        `known` is the job as its runner holds it (id, provider, times, caller-given ids): when
        the row takes the end, the view is built from it and what was written instead of
        reading the row back."""
        extra = list(with_writes)
        database = self._db.models.database

        def write() -> Any:
            with database.atomic():
                for also in extra:
                    also()
                return end()

        def end() -> JobView:
            # The answer is both the output and the result's text: masked once.
            masked = {output: redact(output)}
            stored_output = masked[output]
            progress_json = json.dumps(progress)
            result_json = None if result is None else json.dumps(redact_data(result, masked=masked))
            error_json = None if error is None else json.dumps(redact_data(error, masked=masked))
            cursor = database.execute_sql(
                portable(database, _FINISH_SQL),
                (
                    state.value,
                    stored_output,
                    progress_json,
                    attempts,
                    result_json,
                    error_json,
                    now,
                    now,
                    job_id,
                    *UNFINISHED,
                ),
            )
            if known is None or database.rows_affected(cursor) != 1:
                return row_view(self._db.models.Job.get_by_id(job_id))
            # What reading the row back would give: the columns this write set, as stored,
            # and the rest as they were written when the job was created and started.
            return dataclasses.replace(
                known,
                state=state,
                updated_at=now,
                finished_at=now,
                correlation_id=_stored_id(known.correlation_id),
                session_id=_stored_id(known.session_id),
                attempts=attempts,
                progress=json.loads(progress_json),
                output=stored_output,
                result=None if result_json is None else json.loads(result_json),
                error=None if error_json is None else json.loads(error_json),
            )

        return await self._db.run(write)

    async def get(self, job_id: str) -> tuple[JobView, str] | None:
        """The job and its owner principal, or None."""
        Job = self._db.models.Job
        row = await self._db.run(lambda: Job.get_or_none(Job.id == job_id))
        return None if row is None else (row_view(row), row.owner_principal)

    async def find_reusable(self, dedup_key: str, since: float) -> JobView | None:
        """The newest job with this identity created after `since` that is live (and no cancel
        was asked for) or succeeded."""
        Job = self._db.models.Job
        row = await self._db.run(lambda: _reusable(Job, dedup_key, since).first())
        return None if row is None else row_view(row)

    async def find_by_correlation(self, principal: str, correlation_id: str) -> JobView | None:
        Job = self._db.models.Job
        row = await self._db.run(
            lambda: (
                Job.select()
                .where(
                    (Job.owner_principal == principal)
                    & (Job.correlation_id == redact(correlation_id))
                )
                .order_by(Job.created_at.desc())
                .first()
            )
        )
        return None if row is None else row_view(row)

    async def list_for(self, principal: str, limit: int = 50) -> list[JobView]:
        Job = self._db.models.Job
        rows = await self._db.run(
            lambda: list(
                Job.select()
                .where(Job.owner_principal == principal)
                .order_by(Job.created_at.desc())
                .limit(limit)
            )
        )
        return [row_view(r, with_output=False) for r in rows]

    async def interrupt_unfinished(self, now: float) -> list[LeftRunning]:
        """Mark jobs left queued or running by a previous run as interrupted; which they were,
        with the process group each one's CLI ran in."""
        Job = self._db.models.Job
        live = (JobState.QUEUED.value, JobState.RUNNING.value)

        def interrupt() -> list[LeftRunning]:
            with self._db.models.database.atomic():
                left = [
                    LeftRunning(row.id, row.process_group, row.process_identity)
                    for row in Job.select(Job.id, Job.process_group, Job.process_identity).where(
                        Job.state.in_(live)
                    )
                ]
                Job.update(
                    state=JobState.INTERRUPTED.value,
                    error_json=json.dumps(INTERRUPTED_ERROR),
                    finished_at=now,
                    updated_at=now,
                ).where(Job.state.in_(live)).execute()
            return left

        return await self._db.run(interrupt)

    async def prune(self, finished_before: float) -> int:
        """Delete finished jobs older than the retention; how many went."""
        Job = self._db.models.Job
        done = tuple(s.value for s in FINISHED)
        return int(
            await self._db.run(
                lambda: (
                    Job.delete()
                    .where(Job.state.in_(done) & (Job.finished_at < finished_before))
                    .execute()
                )
            )
        )


def row_view(row: Any, *, with_output: bool = True) -> JobView:
    return JobView(
        id=row.id,
        provider=row.provider,
        state=JobState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        correlation_id=row.correlation_id,
        session_id=row.session_id,
        attempts=row.attempts,
        progress=json.loads(row.progress_json or "{}"),
        output=row.output if with_output else "",
        result=json.loads(row.result_json) if row.result_json else None,
        error=json.loads(row.error_json) if row.error_json else None,
    )


def _reusable(Job: Any, dedup_key: str, since: float) -> Any:
    """Jobs with this identity created after `since` that succeeded, or are live and no cancel
    was asked for (`_REUSABLE_SQL` says why), newest first."""
    live = Job.state.in_(UNFINISHED) & (Job.cancel_requested == 0)
    return (
        Job.select()
        .where(
            (Job.dedup_key == dedup_key)
            & (Job.created_at >= since)
            & ((Job.state == JobState.COMPLETED.value) | live)
        )
        .order_by(Job.created_at.desc())
    )


# The statements of every call's path, written out: peewee builds a query afresh each time it
# runs, which cost more than running it (0.15 ms of Python for the job's end against 0.07 ms
# in SQLite, 0.3 ms for a select of every column); the store thread does four per call.
# Columns peewee's defaults would fill (output, attempts, progress, cancel flag) are named.
# The job takes its owner's lease epoch as it stands when the row is written (0, which no lease
# has, when the owner holds none then: a peer reaped it, so the job is reaped, never written).
_INSERT_SQL = (
    "INSERT INTO jobs (id, owner_principal, provider, state, request_json, dedup_key,"
    " correlation_id, session_id, created_at, updated_at, owner_process, owner_epoch, output,"
    " attempts, progress_json, cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " COALESCE((SELECT epoch FROM process_leases WHERE process_leases.id = ?), 0), '', 0, '{}', 0)"
)
# `_reusable`'s look-up, the id only: the whole row is read when there is one (rarely). A live
# job whose cancel was asked for (`cancel_requested`, flagged by whichever process took the
# cancel) is dying, its row `running` until its CLI is stopped: a call sent meanwhile is its
# caller asking again, who would be answered `canceled`. One that succeeded all the same keeps
# its answer for a repeat.
_REUSABLE = (JobState.COMPLETED.value, *UNFINISHED)
_REUSABLE_SQL = (
    "SELECT id FROM jobs WHERE dedup_key = ? AND created_at >= ?"
    " AND (state = ? OR (state IN (?, ?) AND cancel_requested = 0))"
    " AND id != ? ORDER BY created_at DESC LIMIT 1"
)
# Each write of the owner below closes with the lease epoch fence (`ownership.py`), a constant.
_RUNNING_SQL = (
    "UPDATE jobs SET state = ?, started_at = ?, updated_at = ?, attempts = ?"  # noqa: S608
    " WHERE id = ? AND state = ?" + OWNER_HOLDS_EPOCH
)
_PROCESS_SQL = (
    "UPDATE jobs SET process_group = ?, process_identity = ? WHERE id = ? AND state IN (?, ?)"  # noqa: S608
    + OWNER_HOLDS_EPOCH
)
_PROGRESS_SQL = (
    "UPDATE jobs SET output = ?, progress_json = ?, attempts = ?, updated_at = ?"  # noqa: S608
    " WHERE id = ? AND state = ?" + OWNER_HOLDS_EPOCH
)
_FINISH_SQL = (
    "UPDATE jobs SET state = ?, output = ?, progress_json = ?, attempts = ?, result_json = ?,"  # noqa: S608
    " error_json = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)"
    + OWNER_HOLDS_EPOCH
)


def _stored_id(value: str | None) -> str | None:
    """A caller-given id as `create` stored it (redacted)."""
    return None if value is None else redact(value)
