"""A job's end in the store: the view it returns is the row as stored, read back or not."""

from __future__ import annotations

from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.redact import REDACTED
from llmgw_desktop.engine.store import Database
from tests.engine.jobs.rows import completed

KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwx"


async def _running(store: JobStore, job_id: str) -> JobView:
    """A job created and started as the manager does it; the view its runner holds."""
    await store.create(
        job_id=job_id,
        principal="local",
        provider="claude",
        request={"prompt": "hi"},
        dedup_key=f"key-{job_id}",
        correlation_id=f"corr {KEY}",
        session_id="gw-1",
        now=100.0,
    )
    await store.mark_running(job_id, now=101.5, attempts=1)
    return JobView(
        id=job_id,
        provider="claude",
        state=JobState.RUNNING,
        created_at=100.0,
        updated_at=101.5,
        started_at=101.5,
        correlation_id=f"corr {KEY}",
        session_id="gw-1",
        attempts=1,
        progress={"events": 3},
        output=f"answer {KEY}",
    )


async def test_the_end_built_without_reading_the_row_is_the_row_as_stored(db: Database) -> None:
    store = JobStore(db)
    known = await _running(store, "job_a")
    ended = await store.finish(
        "job_a",
        state=JobState.COMPLETED,
        output=f"answer {KEY}",
        progress={"events": 3, "outputBytes": 1200, "pid": 42},
        attempts=2,
        result={"text": f"answer {KEY}", "usage": {"input_tokens": 12345}, "ok": True},
        error=None,
        now=105.25,
        known=known,
    )
    stored = await store.get("job_a")
    assert stored is not None
    assert ended == stored[0]
    assert ended.state is JobState.COMPLETED and ended.finished_at == 105.25
    assert KEY not in repr(ended) and REDACTED in ended.output


async def test_a_failed_end_is_returned_as_stored(db: Database) -> None:
    store = JobStore(db)
    known = await _running(store, "job_b")
    error = {"code": "provider_failed", "message": f"bad key {KEY}", "retryable": False}
    ended = await store.finish(
        "job_b",
        state=JobState.FAILED,
        output="",
        progress={},
        attempts=1,
        result=None,
        error=error,
        now=103.0,
        known=known,
    )
    stored = await store.get("job_b")
    assert stored is not None and ended == stored[0]
    assert ended.error is not None and KEY not in ended.error["message"]


async def test_an_end_another_process_wrote_first_is_read_back(db: Database) -> None:
    """The row was marked interrupted (this process was taken for dead): it keeps that, and
    the view returned says so, not what this process believed."""
    store = JobStore(db)
    known = await _running(store, "job_c")
    await store.interrupt_unfinished(102.0)
    ended = await completed(
        store, "job_c", "late answer", output="late answer", now=110.0, known=known
    )
    assert ended.state is JobState.INTERRUPTED and ended.finished_at == 102.0
    stored = await store.get("job_c")
    assert stored is not None and ended == stored[0]
