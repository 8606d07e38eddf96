"""Every view of a job, whichever gateway process on the store runs it.

A job running here is read from memory (its output as of now, its end pending until the store
holds it); one that ended here lately from the views kept of those (`endings.py`); any other
from the store. Waiting on, or watching, a job another process runs polls its row. The desk
(the operator of this machine) lists every principal's jobs and retries those that failed, were
canceled or interrupted; front doors see a caller's own jobs only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable

from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, NotFound
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter, DeskJob, DeskRows, JobOrigin
from llmgw_desktop.engine.jobs.endings import JobEndings
from llmgw_desktop.engine.jobs.live import LiveJobs
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.redact import REDACTED

__all__ = ["DESK_LIST_LIMIT", "REMOTE_POLL_S", "RETRYABLE", "JobViews"]

DESK_LIST_LIMIT = 200
# Waiting on, or watching, a job another gateway process runs reads its row this often.
REMOTE_POLL_S = 0.3
# The ends the desk may retry; a completed job is asked again by sending the call again.
RETRYABLE = frozenset({JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED})


class JobViews:
    """Reads jobs for their callers and for the desk."""

    def __init__(
        self, store: JobStore, *, desk: DeskRows, live: LiveJobs, endings: JobEndings
    ) -> None:
        self._store = store
        self._desk = desk
        self._live = live
        self._endings = endings

    async def get(self, job_id: str, principal: str) -> JobView:
        """The job as its owner sees it.

        Raises:
            NotFound: no such job, or it belongs to another principal.
        """
        live = self._live.get(job_id)
        if live is not None:
            if live.spec.principal != principal:
                raise _not_found(job_id)
            return live.view()
        found = self._endings.recent(job_id) or await self._store.get(job_id)
        if found is None or found[1] != principal:
            raise _not_found(job_id)
        return found[0]

    async def wait(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """The job once finished, or as it stands after `timeout_s`.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._await(job_id, principal, timeout_s, until_end=True)

    async def watch(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """Wait up to `timeout_s` for any change (state, output, progress), then return the job.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._await(job_id, principal, timeout_s, until_end=False)

    async def _await(
        self, job_id: str, principal: str, timeout_s: float, *, until_end: bool
    ) -> JobView:
        """The job once it ended (`until_end`) or changed at all, or as it stands after
        `timeout_s`."""
        view = await self.get(job_id, principal)
        live = self._live.get(job_id)
        if view.finished:
            return view
        if live is None:
            # Another gateway process runs it (or its end waits for the store): its row.
            enough: Callable[[JobView], bool] = (
                (lambda seen: seen.finished) if until_end else (lambda seen: seen != view)
            )
            return await self._poll(job_id, principal, timeout_s, enough)
        # An end is awaited until the store holds it: a caller is told no ending the store may
        # not keep.
        event = live.settled if until_end else live.changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        return await self.get(job_id, principal)

    async def _poll(
        self,
        job_id: str,
        principal: str,
        timeout_s: float,
        enough: Callable[[JobView], bool],
    ) -> JobView:
        """Read the job's row every `REMOTE_POLL_S` until `enough` says so or `timeout_s` ends."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return await self.get(job_id, principal)
            await asyncio.sleep(min(REMOTE_POLL_S, left))
            view = await self.get(job_id, principal)
            if enough(view):
                return view

    async def find_by_correlation(self, principal: str, correlation_id: str) -> JobView:
        """The newest job the caller tagged with `correlation_id`.

        Raises:
            NotFound: none for this principal.
        """
        for live in self._live:
            if live.spec.principal == principal and live.spec.correlation_id == correlation_id:
                return live.view()
        found = await self._store.find_by_correlation(principal, correlation_id)
        if found is None:
            raise NotFound(f"no job with correlation id {correlation_id!r}")
        return found

    async def list_jobs(self, principal: str, limit: int = 50) -> list[JobView]:
        return await self._store.list_for(principal, limit)

    # -- the desk: the operator of this machine sees and retries every principal's jobs -------

    async def list_for_desk(
        self, filters: DeskFilter | None = None, limit: int = DESK_LIST_LIMIT
    ) -> list[DeskJob]:
        """Every principal's jobs matching `filters`, newest first, live ones as they stand.

        For the desktop window only: front doors list a caller's own jobs (`list_jobs`).
        """
        rows = await self._desk.list_for_desk(filters or DeskFilter(), limit)
        return [self._as_live(row) for row in rows]

    def _as_live(self, row: DeskJob) -> DeskJob:
        # The store holds a running job's progress as of the last flush; memory has it now.
        live = self._live.get(row.view.id)
        if live is None:
            return row
        view = dataclasses.replace(live.view(), output="")
        told = view.progress.get("model")  # told since the last flush (`desk_rows`' first)
        model = told if isinstance(told, str) and told else row.model
        return dataclasses.replace(row, view=view, model=model)

    async def retry_origin(self, job_id: str) -> JobOrigin:
        """What a retry of a failed, canceled or interrupted job submits again (any
        principal's job: the desk's Retry, `jobs/retry.py`, is its only caller).

        Raises:
            NotFound: no such job.
            InvalidRequest: the job did not end in a retryable state (`not_retryable`), or its
                call cannot be rebuilt from what the store kept (`not_rebuildable`).
        """
        if job_id in self._live:
            raise InvalidRequest(
                f"job {job_id} has not finished; cancel it first", code=ErrorCode.NOT_RETRYABLE
            )
        origin = await self._desk.origin(job_id)
        if origin is None:
            raise _not_found(job_id)
        if origin.state not in RETRYABLE:
            raise InvalidRequest(
                f"job {job_id} is {origin.state.value}; only failed, canceled or interrupted "
                "jobs can be retried",
                code=ErrorCode.NOT_RETRYABLE,
            )
        if REDACTED in json.dumps(origin.request):
            raise InvalidRequest(
                f"job {job_id}'s request held something that looked like a secret, which the "
                "job store keeps masked, so the call cannot be rebuilt; send it again from "
                "its client",
                code=ErrorCode.NOT_REBUILDABLE,
            )
        return origin


def _not_found(job_id: str) -> NotFound:
    return NotFound(f"no job {job_id!r}", job_id=job_id)
