from __future__ import annotations

import asyncio
from pathlib import Path

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import AttemptFailedOver, RequestFinished
from llmgw_desktop.engine.jobs.model import FINISHED, JobState
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.states import Ending, RecordState
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.rows import completed, created

CAPTURED = (
    Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "claude" / "plain_stream_json.stdout"
)


async def test_each_finished_request_is_announced_even_after_a_flush(db: Database) -> None:
    clock = Clock(1_000_000.0)
    heard: list[RequestFinished] = []
    recorder = FlightRecorder(db, on_finish=heard.append, clock=clock)
    record = recorder.start(principal="user:a", provider="claude", caller="editor", model="m1")
    await recorder.flush()  # the row is on disk; the event must still know who and what
    clock.now += 2.5
    recorder.finish(record, state="completed", input_tokens=7, cache_read_tokens=3)
    assert len(heard) == 1
    event = heard[0]
    assert (event.provider, event.model, event.principal, event.caller) == (
        "claude",
        "m1",
        "user:a",
        "editor",
    )
    assert event.finished_at - event.started_at == 2.5
    assert (event.input_tokens, event.cache_read_tokens, event.state) == (7, 3, "completed")


def test_the_finished_event_carries_every_figure_of_the_end(db: Database) -> None:
    clock = Clock(1_000.0)
    heard: list[RequestFinished] = []
    recorder = FlightRecorder(db, on_finish=heard.append, clock=clock)
    record = recorder.start(
        principal="key:k1",
        provider="openai",
        transport="http",
        tool="/v1/chat/completions",
        caller="agent",
        model="m0",
        project="p0",
    )
    clock.now += 0.5
    recorder.first_token(record)
    clock.now += 1.0
    recorder.finish(
        record,
        state="failed",
        model="m1",
        input_tokens=1,
        output_tokens=2,
        cache_read_tokens=3,
        cache_write_tokens=4,
        cost_usd=0.25,
        error_code="upstream_500",
        project="p1",
    )
    assert heard == [
        RequestFinished(
            record_id=record,
            provider="openai",
            model="m1",
            state="failed",
            principal="key:k1",
            caller="agent",
            started_at=1_000.0,
            finished_at=1_001.5,
            input_tokens=1,
            output_tokens=2,
            cache_read_tokens=3,
            cache_write_tokens=4,
            cost_usd=0.25,
            error_code="upstream_500",
            project="p1",
            transport="http",
            endpoint="/v1/chat/completions",
            first_token_s=0.5,
        )
    ]
    assert type(heard[0]) is RequestFinished


async def test_updates_merge_before_and_after_a_flush(db: Database) -> None:
    recorder = FlightRecorder(db)
    early = recorder.start(principal="local", provider="claude", tool="claude_request")
    recorder.finish(early, state="completed", input_tokens=5)
    late = recorder.start(principal="local", provider="codex")
    await recorder.flush()
    recorder.finish(late, state="failed", error_code="rate_limited")
    await recorder.flush()
    rows = {r["id"]: r for r in await recorder.recent()}
    assert rows[early]["state"] == "completed" and rows[early]["input_tokens"] == 5
    assert rows[late]["state"] == "failed" and rows[late]["duration_ms"] is not None
    assert recorder.pending == 0


async def test_prune_by_age_and_by_row_cap(db: Database) -> None:
    clock = Clock(1_000_000.0)
    recorder = FlightRecorder(db, retention_days=1, max_rows=3, clock=clock)
    recorder.start(principal="local", provider="claude")
    clock.now += 2 * 86400
    for _ in range(5):
        clock.now += 1
        recorder.start(principal="local", provider="claude")
    await recorder.flush()
    assert await recorder.prune() == 3  # one too old, two over the cap
    assert len(await recorder.recent()) == 3


async def test_caller_labels_are_sanitised(db: Database) -> None:
    recorder = FlightRecorder(db)
    recorder.start(principal="local", provider="claude", caller="evil\n\x00<script>client/1.0")
    rows = await recorder.recent()
    assert rows[0]["caller"] == "evilscriptclient/1.0"


async def test_500_concurrent_requests_are_all_recorded(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    stand_in = tmp_path / "bin" / "claude"
    stand_in.parent.mkdir()
    stand_in.write_text(f"#!/bin/sh\ncat > /dev/null\ncat '{CAPTURED}'\n")
    stand_in.chmod(0o755)
    settings = loaded.settings.with_values(
        {
            "providers.cli_path": [str(stand_in.parent)],
            "jobs.max_concurrent": 32,
            "jobs.max_concurrent_per_provider": 32,
            "jobs.max_queued": 1000,
        }
    )
    engine = Engine(settings)
    await engine.start()
    try:
        meta = RequestMeta(transport="test", tool="claude_request")
        submitted = await asyncio.gather(
            *(
                engine.calls.submit("claude", CallParams(prompt=f"n{n}"), "local", meta)
                for n in range(500)
            )
        )
        views = await asyncio.gather(*(engine.jobs.wait(s.job_id, "local", 120) for s in submitted))
        records = await engine.recorder.recent(limit=1000)
    finally:
        await engine.stop()
    assert all(v.state.value == "completed" for v in views)
    assert len(records) == 500
    assert {r["state"] for r in records} == {"completed"}
    assert sum(r["cache_read_tokens"] for r in records) == 500 * 200
    assert len({r["job_id"] for r in records}) == 500


async def test_rows_an_earlier_run_left_open_are_closed_in_the_jobs_word(db: Database) -> None:
    """After a crash: a row whose job ended takes the job's ending, any other open row is
    interrupted; rows that had ended are left as they were."""
    clock = Clock(1_000_000.0)
    recorder = FlightRecorder(db, clock=clock)
    jobs = JobStore(db)
    for job_id, state in (("job_done", JobState.COMPLETED), ("job_cut", JobState.RUNNING)):
        await created(jobs, job_id, now=1.0)
        if state is JobState.COMPLETED:
            await completed(jobs, job_id, "ok", output="ok", now=2.0)
    done = recorder.start(principal="local", provider="claude")
    cut = recorder.start(principal="local", provider="claude")
    api = recorder.start(principal="local", provider="openai")
    refused = recorder.start(principal="local", provider="claude")
    recorder.update(done, job_id="job_done")
    recorder.update(cut, job_id="job_cut")
    recorder.finish(refused, state=RecordState.REFUSED, error_code="saturated")
    await recorder.flush()  # then the gateway died: the finishes never reached the store

    await jobs.interrupt_unfinished(now=clock.now)
    restarted = FlightRecorder(db, clock=clock)
    assert await restarted.close_interrupted(clock.now) == 3
    rows = {r["id"]: r for r in await restarted.recent()}
    assert (rows[done]["state"], rows[done]["finished_at"]) == ("completed", 2.0)
    assert (rows[cut]["state"], rows[cut]["error_code"]) == ("interrupted", "interrupted")
    assert (rows[api]["state"], rows[api]["error_code"]) == ("interrupted", "interrupted")
    assert (rows[refused]["state"], rows[refused]["error_code"]) == ("refused", "saturated")
    assert await restarted.close_interrupted(clock.now) == 0


async def test_a_stop_ends_the_rows_still_open_as_interrupted(db: Database) -> None:
    heard: list[RequestFinished] = []
    recorder = FlightRecorder(db, on_finish=heard.append)
    open_row = recorder.start(principal="local", provider="openai")
    ended = recorder.start(principal="local", provider="openai")
    recorder.finish(ended, state=RecordState.COMPLETED)
    assert recorder.interrupt_open() == 1
    await recorder.close()
    rows = {r["id"]: r["state"] for r in await recorder.recent()}
    assert rows == {open_row: "interrupted", ended: "completed"}
    assert [e.state for e in heard] == ["completed", "interrupted"]


def test_the_vocabulary_is_one_set_of_words() -> None:
    assert {s.value for s in JobState} - {"queued", "running"} == {e.value for e in Ending}
    assert {e.value for e in Ending} <= {s.value for s in RecordState}
    assert {s.value for s in FINISHED} == {e.value for e in Ending}


async def test_a_failed_attempt_taken_over_is_marked_failed_over_and_told_once(
    db: Database,
) -> None:
    """The attempt whose request another target took is marked on its row (after a flush too)
    and told (`AttemptFailedOver`, with its provider and start); an attempt that did not fail,
    or one told already, is not."""
    clock = Clock(1_000_000.0)
    heard: list[RequestFinished | AttemptFailedOver] = []
    recorder = FlightRecorder(db, on_finish=heard.append, clock=clock)
    failed = recorder.start(principal="local", provider="backup", model="gpt-4o-mini")
    answered = recorder.start(principal="local", provider="openai", model="gpt-4o-mini")
    recorder.finish(failed, state="failed", error_code="upstream_503")
    await recorder.flush()
    clock.now += 1
    recorder.failed_over(failed)
    recorder.finish(answered, state="completed")
    recorder.failed_over(failed)  # told already
    recorder.failed_over(answered)  # answered: no attempt that failed over
    told = [event for event in heard if isinstance(event, AttemptFailedOver)]
    assert told == [AttemptFailedOver(failed, "backup", 1_000_000.0, 1_000_001.0)]
    rows = {row["id"]: row for row in await recorder.recent(limit=10)}
    assert (rows[failed]["failed_over"], rows[answered]["failed_over"]) == (True, False)
