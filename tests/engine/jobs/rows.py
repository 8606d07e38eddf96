"""Jobs written straight to the store as the manager writes them, for tests that need a job's
row without running one: created (no dedup key, correlation or session) and ended."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.jobs.store import JobStore

__all__ = ["completed", "created"]


async def created(
    store: JobStore,
    job_id: str,
    *,
    now: float,
    provider: str = "claude",
    request: dict[str, Any] | None = None,
    owner_process: str | None = None,
) -> JobView:
    """A queued job of the local user (run by gateway process `owner_process`)."""
    return await store.create(
        job_id=job_id,
        principal="local",
        provider=provider,
        request=request or {},
        dedup_key=None,
        correlation_id=None,
        session_id=None,
        now=now,
        owner_process=owner_process,
    )


async def completed(
    store: JobStore,
    job_id: str,
    text: str,
    *,
    now: float,
    output: str = "",
    known: JobView | None = None,
) -> JobView:
    """The job ended after one attempt, answering `text` (having streamed `output`)."""
    return await store.finish(
        job_id,
        state=JobState.COMPLETED,
        output=output,
        progress={},
        attempts=1,
        result={"text": text},
        error=None,
        now=now,
        known=known,
    )
