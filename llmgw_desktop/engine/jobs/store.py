"""JobStore: the jobs table behind awaitable methods, all run on the database thread."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.jobs.model import FINISHED, JobState, JobView
from llmgw_desktop.engine.redact import redact, redact_data
from llmgw_desktop.engine.store import Database

__all__ = ["JobStore", "ProgressRow"]

INTERRUPTED_ERROR = {
    "code": "interrupted",
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


class JobStore:
    """Reads and writes job rows; knows nothing of processes or providers."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
    ) -> JobView:
        def insert() -> Any:
            return self._db.models.Job.create(
                id=job_id,
                owner_principal=principal,
                provider=provider,
                state=JobState.QUEUED.value,
                # Prompts can carry keys pasted by the caller; the store never keeps them clear.
                request_json=json.dumps(redact_data(request), sort_keys=True),
                dedup_key=dedup_key,
                correlation_id=correlation_id,
                session_id=session_id,
                created_at=now,
                updated_at=now,
            )

        return _view(await self._db.run(insert))

    async def mark_running(self, job_id: str, *, now: float, attempts: int) -> None:
        Job = self._db.models.Job
        await self._db.run(
            lambda: (
                Job.update(
                    state=JobState.RUNNING.value, started_at=now, updated_at=now, attempts=attempts
                )
                .where(Job.id == job_id)
                .execute()
            )
        )

    async def save_progress(self, rows: Iterable[ProgressRow]) -> None:
        """Write many jobs' partial output in one transaction (the flusher batches them)."""
        batch = list(rows)
        if not batch:
            return
        Job = self._db.models.Job

        def write() -> None:
            with self._db.models.database.atomic():
                for row in batch:
                    Job.update(
                        output=redact(row.output),
                        progress_json=json.dumps(row.progress),
                        attempts=row.attempts,
                        updated_at=row.updated_at,
                    ).where(
                        (Job.id == row.job_id) & (Job.state == JobState.RUNNING.value)
                    ).execute()

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
    ) -> JobView:
        """Record the job's end; `with_writes` run in the same transaction (on the DB thread)."""
        Job = self._db.models.Job
        extra = list(with_writes)

        def write() -> Any:
            with self._db.models.database.atomic():
                for also in extra:
                    also()
                return end()

        def end() -> Any:
            Job.update(
                state=state.value,
                output=redact(output),
                progress_json=json.dumps(progress),
                attempts=attempts,
                result_json=None if result is None else json.dumps(redact_data(result)),
                error_json=None if error is None else json.dumps(redact_data(error)),
                finished_at=now,
                updated_at=now,
            ).where(Job.id == job_id).execute()
            return Job.get_by_id(job_id)

        return _view(await self._db.run(write))

    async def get(self, job_id: str) -> tuple[JobView, str] | None:
        """The job and its owner principal, or None."""
        Job = self._db.models.Job
        row = await self._db.run(lambda: Job.get_or_none(Job.id == job_id))
        return None if row is None else (_view(row), row.owner_principal)

    async def find_reusable(self, dedup_key: str, since: float) -> JobView | None:
        """The newest job with this identity created after `since` that is live or succeeded."""
        Job = self._db.models.Job
        reusable = (JobState.QUEUED.value, JobState.RUNNING.value, JobState.COMPLETED.value)
        row = await self._db.run(
            lambda: (
                Job.select()
                .where(
                    (Job.dedup_key == dedup_key)
                    & (Job.created_at >= since)
                    & Job.state.in_(reusable)
                )
                .order_by(Job.created_at.desc())
                .first()
            )
        )
        return None if row is None else _view(row)

    async def find_by_correlation(self, principal: str, correlation_id: str) -> JobView | None:
        Job = self._db.models.Job
        row = await self._db.run(
            lambda: (
                Job.select()
                .where((Job.owner_principal == principal) & (Job.correlation_id == correlation_id))
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

    async def interrupt_unfinished(self, now: float) -> int:
        """Mark jobs left queued or running by a previous run as interrupted; how many."""
        Job = self._db.models.Job
        live = (JobState.QUEUED.value, JobState.RUNNING.value)
        return int(
            await self._db.run(
                lambda: (
                    Job.update(
                        state=JobState.INTERRUPTED.value,
                        error_json=json.dumps(INTERRUPTED_ERROR),
                        finished_at=now,
                        updated_at=now,
                    )
                    .where(Job.state.in_(live))
                    .execute()
                )
            )
        )

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
