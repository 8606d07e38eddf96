"""JobStore: the jobs table behind awaitable methods, all run on the database thread."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.jobs.model import FINISHED, JobState, JobView
from llmgw_desktop.engine.redact import redact, redact_data
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import (
    contains,
    is_postgresql,
    json_number,
    portable,
    store_time,
)

__all__ = [
    "INTERRUPTED_ERROR",
    "PROMPT_SUMMARY_CHARS",
    "DeskFilter",
    "DeskJob",
    "JobOrigin",
    "JobStore",
    "LeftRunning",
    "ProgressRow",
    "summarize_prompt",
    "without_live_owner",
]

INTERRUPTED_ERROR = {
    "code": ErrorCode.INTERRUPTED,
    "message": (
        "the gateway stopped while this job was running; its partial output is kept. "
        "It was not re-run: send the request again to run it anew."
    ),
    "retryable": True,
}
# A job another process ran, ended by the canceller because that process had stopped.
ORPHAN_CANCELED_ERROR = {
    "code": ErrorCode.CANCELED,
    "message": "the job was canceled (the gateway process running it had stopped)",
    "retryable": False,
}
_UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)
# A listed job's prompt, as the desk's table shows it.
PROMPT_SUMMARY_CHARS = 80
# How much of the prompt the listing reads (whitespace collapses, so more than it shows).
_PROMPT_HEAD_CHARS = 400


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


@dataclass(frozen=True)
class DeskFilter:
    """Which jobs the desk's table shows: some states (None: all), one provider, a text."""

    states: frozenset[JobState] | None = None
    provider: str | None = None
    # Matched, case-insensitively, in the job id, principal, provider, correlation id, the
    # (masked) request and the caller label.
    text: str = ""


@dataclass(frozen=True)
class DeskJob:
    """A job as the desk lists it: its summary (no output or result), whose it is, who sent
    it and through which front door, what it asked, and the tokens its answer reported (zero
    until it has one)."""

    view: JobView
    principal: str
    caller: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # The masked request's prompt, whitespace collapsed, cut to `PROMPT_SUMMARY_CHARS`.
    prompt: str = ""
    # The model asked for, else the one the CLI reported; "" when neither is known.
    model: str = ""
    # The front door ("mcp-http", "http", "desktop", ...) and its tool or endpoint.
    transport: str = ""
    tool: str = ""
    # The approval gate's decision as the flight recorder keeps it (`ApprovalDecision.to_dict`),
    # and when it was made (its record's start); None when the recorder has no record.
    approval: dict[str, Any] | None = None
    decided_at: float | None = None


@dataclass(frozen=True)
class JobOrigin:
    """What a job was asked to do, as the store keeps it (secrets masked): enough to ask again."""

    job_id: str
    principal: str
    provider: str
    state: JobState
    request: dict[str, Any]
    correlation_id: str | None
    caller: str
    # The project the call was for (its first recorder row's): a retry keeps its credential
    # scope and counts against the same project budgets.
    project: str | None = None


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
                return _view(self._db.models.Job.get_by_id(earlier[0]))

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
        values = (process_group, identity, job_id, *_UNFINISHED)
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
                    *_UNFINISHED,
                ),
            )
            if known is None or database.rows_affected(cursor) != 1:
                return _view(self._db.models.Job.get_by_id(job_id))
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
        return None if row is None else (_view(row), row.owner_principal)

    async def find_reusable(self, dedup_key: str, since: float) -> JobView | None:
        """The newest job with this identity created after `since` that is live or succeeded."""
        Job = self._db.models.Job
        row = await self._db.run(lambda: _reusable(Job, dedup_key, since).first())
        return None if row is None else _view(row)

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
        return None if row is None else _view(row)

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
        return [_view(r, with_output=False) for r in rows]

    async def list_for_desk(self, filters: DeskFilter, limit: int) -> list[DeskJob]:
        """Every principal's jobs matching `filters`, newest first (the desk's view only)."""
        models = self._db.models
        Job, Request = models.Job, models.RecordedRequest
        query = Job.select(*_summary_columns(Job), *_request_columns(Job, models.database))
        if filters.states is not None:
            query = query.where(Job.state.in_([s.value for s in filters.states]))
        if filters.provider:
            query = query.where(Job.provider == filters.provider)
        needle = filters.text.strip().lower()
        database = self._db.models.database

        def _has(column: Any, needle: str) -> Any:
            return contains(database, column, needle)

        if needle:
            by_caller = Request.select(peewee.SQL("1")).where(
                (Request.job_id == Job.id) & _has(Request.caller, needle)
            )
            query = query.where(
                _has(Job.id, needle)
                | _has(Job.owner_principal, needle)
                | _has(Job.provider, needle)
                | _has(Job.correlation_id, needle)
                | _has(Job.request_json, needle)
                | peewee.fn.EXISTS(by_caller)
            )
        query = query.order_by(Job.created_at.desc()).limit(limit)

        def read() -> list[DeskJob]:
            rows = list(query)
            records = _first_records(Request, [r.id for r in rows])
            return [_desk_job(r, records.get(r.id)) for r in rows]

        # The desk's table: the read lane, beside the jobs' own ordered writes.
        return await self._db.read(read)

    async def origin(self, job_id: str) -> JobOrigin | None:
        """The job's stored request, owner and caller, or None when there is no such job."""
        models = self._db.models
        Job, Request = models.Job, models.RecordedRequest

        def read() -> JobOrigin | None:
            row = Job.get_or_none(Job.id == job_id)
            if row is None:
                return None
            record = _first_records(Request, [row.id]).get(row.id, _NO_RECORD)
            return JobOrigin(
                job_id=row.id,
                principal=row.owner_principal,
                provider=row.provider,
                state=JobState(row.state),
                request=json.loads(row.request_json),
                correlation_id=row.correlation_id,
                caller=record.caller,
                project=record.project,
            )

        return await self._db.run(read)

    async def request_cancel(self, job_id: str) -> bool:
        """Flag an unfinished job for its owner process to cancel; False when it had ended."""
        Job = self._db.models.Job
        changed = await self._db.run(
            lambda: (
                Job.update(cancel_requested=True)
                .where((Job.id == job_id) & Job.state.in_(_UNFINISHED))
                .execute()
            )
        )
        return bool(changed)

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
                    & Job.state.in_(_UNFINISHED)
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
                    & Job.state.in_(_UNFINISHED)
                    & without_live_owner(models, stamp)
                )
                .execute()
            )

        return bool(await self._db.run(end))

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


_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _summary_columns(job: Any) -> tuple[Any, ...]:
    """The job columns a listing needs: everything but the output, request and result text."""
    return (
        job.id,
        job.owner_principal,
        job.provider,
        job.state,
        job.correlation_id,
        job.session_id,
        job.error_json,
        job.created_at,
        job.updated_at,
        job.started_at,
        job.finished_at,
        job.attempts,
        job.progress_json,
    )


def _request_columns(job: Any, database: peewee.Database) -> tuple[Any, ...]:
    """What the listing reads from the request and result JSON, in SQL: the tokens, the model
    and the prompt's head, so listing never loads the answers' or the prompts' whole text."""
    tokens = [
        json_number(database, job.result_json, "usage", name).alias(name) for name in _TOKEN_FIELDS
    ]
    prompt = peewee.fn.COALESCE(
        _json_text(database, job.request_json, "prompt"),
        _json_text(database, job.request_json, "promptParts", "task"),
    )
    model = peewee.fn.COALESCE(
        _json_text(database, job.request_json, "model"),
        _json_text(database, job.result_json, "model"),
    )
    return (
        *tokens,
        peewee.fn.SUBSTR(prompt, 1, _PROMPT_HEAD_CHARS).alias("prompt_head"),
        model.alias("model_name"),
    )


def _json_text(database: peewee.Database, column: peewee.Field, *path: str) -> peewee.ColumnBase:
    """A peewee expression for the text at `path` in the JSON text of `column` (NULL where it
    is missing or JSON null). `path` names are the store's constants, never a request's."""
    if not is_postgresql(database):
        return peewee.fn.json_extract(column, "$." + ".".join(path))
    steps = peewee.SQL("#>> '{" + ",".join(path) + "}'")
    return peewee.NodeList((peewee.Cast(column, "json"), steps))


def summarize_prompt(head: str | None) -> str:
    """One line of at most `PROMPT_SUMMARY_CHARS`: the prompt's whitespace collapsed."""
    line = " ".join((head or "").split())
    cut = len(line) > PROMPT_SUMMARY_CHARS or len(head or "") >= _PROMPT_HEAD_CHARS
    if len(line) > PROMPT_SUMMARY_CHARS:
        line = line[: PROMPT_SUMMARY_CHARS - 1].rstrip()
    return line + "…" if cut else line


@dataclass(frozen=True)
class _Record:
    """What the flight recorder's first record of a job tells the desk about it."""

    caller: str = ""
    transport: str = ""
    tool: str = ""
    approval_json: str | None = None
    started_at: float | None = None
    project: str | None = None


_NO_RECORD = _Record()


def _first_records(requests: Any, job_ids: list[str]) -> dict[str, _Record]:
    """Each job's first flight-recorder record (the job row keeps no caller, front door or
    approval).

    Runs on the database thread. A deduplicated call's record points at the job it joined; the
    job's own record is the earliest one, so that one names its caller and its approval.
    """
    records: dict[str, _Record] = {}
    if not job_ids:
        return records
    query = (
        requests.select(
            requests.job_id,
            requests.caller,
            requests.transport,
            requests.tool,
            requests.approval_json,
            requests.started_at,
            requests.project,
        )
        .where(requests.job_id.in_(job_ids))
        .order_by(requests.started_at)
        .tuples()
    )
    for job_id, *fields in query:
        records.setdefault(job_id, _Record(*fields))
    return records


def _desk_job(row: Any, record: _Record | None) -> DeskJob:
    record = record or _NO_RECORD
    approval = json.loads(record.approval_json) if record.approval_json else None
    return DeskJob(
        view=_view(row, with_output=False),
        principal=row.owner_principal,
        caller=record.caller,
        prompt=summarize_prompt(row.prompt_head),
        model=row.model_name or "",
        transport=record.transport,
        tool=record.tool,
        approval=approval if isinstance(approval, dict) else None,
        decided_at=record.started_at if approval is not None else None,
        **{name: int(getattr(row, name) or 0) for name in _TOKEN_FIELDS},
    )


def _view(row: Any, *, with_output: bool = True) -> JobView:
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


def _reusable(Job: Any, dedup_key: str, since: float) -> Any:
    """Jobs with this identity created after `since` that are live or succeeded, newest first."""
    return (
        Job.select()
        .where((Job.dedup_key == dedup_key) & (Job.created_at >= since) & Job.state.in_(_REUSABLE))
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
# `_reusable`'s look-up, the id only: the whole row is read when there is one (rarely).
_REUSABLE = (JobState.QUEUED.value, JobState.RUNNING.value, JobState.COMPLETED.value)
_REUSABLE_SQL = (
    "SELECT id FROM jobs WHERE dedup_key = ? AND created_at >= ? AND state IN (?, ?, ?)"
    " AND id != ? ORDER BY created_at DESC LIMIT 1"
)
# The fence on every write of a job's owner: it lands only while the owner's lease row has the
# epoch the job was stored under. A peer that took the owner for dead deleted that row, and the
# owner's next registration has the next epoch, so nothing of the lost tenure lands, whatever
# the row's state. Jobs without an owner (a store no process leases) are not fenced. The
# condition closes each statement below.
_RUNNING_SQL = (
    "UPDATE jobs SET state = ?, started_at = ?, updated_at = ?, attempts = ?"
    " WHERE id = ? AND state = ?"
    " AND (owner_process IS NULL OR owner_epoch = (SELECT epoch FROM process_leases"
    " WHERE process_leases.id = jobs.owner_process))"
)
_PROCESS_SQL = (
    "UPDATE jobs SET process_group = ?, process_identity = ? WHERE id = ? AND state IN (?, ?)"
    " AND (owner_process IS NULL OR owner_epoch = (SELECT epoch FROM process_leases"
    " WHERE process_leases.id = jobs.owner_process))"
)
_PROGRESS_SQL = (
    "UPDATE jobs SET output = ?, progress_json = ?, attempts = ?, updated_at = ?"
    " WHERE id = ? AND state = ?"
    " AND (owner_process IS NULL OR owner_epoch = (SELECT epoch FROM process_leases"
    " WHERE process_leases.id = jobs.owner_process))"
)
_FINISH_SQL = (
    "UPDATE jobs SET state = ?, output = ?, progress_json = ?, attempts = ?, result_json = ?,"
    " error_json = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)"
    " AND (owner_process IS NULL OR owner_epoch = (SELECT epoch FROM process_leases"
    " WHERE process_leases.id = jobs.owner_process))"
)


def _stored_id(value: str | None) -> str | None:
    """A caller-given id as `create` stored it (redacted)."""
    return None if value is None else redact(value)
