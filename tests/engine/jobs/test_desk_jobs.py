"""The desk's view of jobs: every principal's jobs with filters, and Retry.

Listing and the retry rules run on the job manager over a real store, with work the test
controls; the whole retry path (rebuilding the call, approval, a new job) runs a real Claude
Code CLI against the scripted upstream.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest, NotFound, ProviderFailure
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter, summarize_prompt
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.contract.conftest import engine_settings
from tests.contract.offline import find_cli, offline_environment
from tests.engine.jobs.test_manager import Gate, Harness
from tests.fakes.upstream import ANTHROPIC_INPUT_TOKENS, Reply, ScriptedUpstream

JOB_TIMEOUT_S = 30.0


async def _failing(ctx: JobContext) -> dict[str, Any]:
    raise ProviderFailure("upstream said no", code="auth_required")


async def _done(ctx: JobContext) -> dict[str, Any]:
    return {"text": "ok", "usage": {"input_tokens": 11, "output_tokens": 4}}


async def _submit(h: Harness, work: Any, **kw: Any) -> str:
    """Run `work` as a job to its end; its id."""
    submitted = await h.manager.submit(h.spec(work, **kw))
    assert (await h.manager.wait(submitted.job_id, kw.get("principal", "local"), 5)).finished
    return submitted.job_id


async def test_desk_lists_every_principals_jobs_newest_first(h: Harness, db: Database) -> None:
    clock = h.manager._clock
    assert isinstance(clock, Clock)
    first = await _submit(h, _done, principal="alice", prompt="one")
    clock.now += 1
    second = await _submit(h, _failing, principal="bob", prompt="two", provider="codex")
    recorder = FlightRecorder(db)
    record = recorder.start(principal="alice", provider="claude", caller="zed/0.1")
    recorder.update(record, job_id=first)
    await recorder.flush()

    rows = await h.manager.list_for_desk()
    assert [r.view.id for r in rows] == [second, first]
    by_id = {r.view.id: r for r in rows}
    assert by_id[first].principal == "alice" and by_id[first].caller == "zed/0.1"
    assert (by_id[first].input_tokens, by_id[first].output_tokens) == (11, 4)
    assert by_id[second].principal == "bob" and by_id[second].caller == ""
    assert by_id[second].view.error is not None
    assert by_id[second].view.error["code"] == "auth_required"
    assert by_id[first].view.output == "" and by_id[first].view.result is None  # summary only
    # The per-principal listing stays per principal.
    assert [v.id for v in await h.manager.list_jobs("alice")] == [first]


async def _cached(ctx: JobContext) -> dict[str, Any]:
    return {
        "text": "a long answer the listing must not load",
        "model": "claude-reported-1",
        "duration_s": 1.32948442899999,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 512,
            "cache_read_tokens": 10_100,
            "cache_write_tokens": 300,
        },
    }


def _decision(allowed: bool, decided_by: str = "policy") -> dict[str, Any]:
    return {
        "strategy": "mcp_managed",
        "allowed": allowed,
        "score": 125 if not allowed else 0,
        "threshold": 60,
        "reasons": ["prompt deletes files recursively"] if not allowed else [],
        "permission_mode": "acceptEdits",
        "decided_by": decided_by,
        "warnings": [],
    }


async def test_desk_row_reads_prompt_model_front_door_cache_tokens_and_approval(
    h: Harness, db: Database
) -> None:
    clock = h.manager._clock
    assert isinstance(clock, Clock)
    prompt = "  Refactor\n\n the   parser\tso it " + "keeps going " * 20
    asked = await _submit(h, _cached, prompt=prompt)
    clock.now += 1
    submitted = await h.manager.submit(
        JobSpec(
            principal="local",
            provider="codex",
            request={"prompt": None, "promptParts": {"task": "fix it"}, "model": "gpt-asked"},
            working_dir="/w",
            work=_cached,
        )
    )
    parts = submitted.job_id
    assert (await h.manager.wait(parts, "local", 5)).finished
    recorder = FlightRecorder(db)
    record = recorder.start(
        principal="local",
        provider="claude",
        transport="mcp-http",
        tool="claude_request",
        caller="zed/0.1",
        approval=_decision(True),
    )
    recorder.update(record, job_id=asked)
    denied = recorder.start(
        principal="local",
        provider="codex",
        transport="http",
        tool="/v1/responses",
        approval=_decision(False, "desk"),
    )
    recorder.update(denied, job_id=parts)
    await recorder.flush()

    by_id = {r.view.id: r for r in await h.manager.list_for_desk()}
    row = by_id[asked]
    assert row.prompt == "Refactor the parser so it " + ("keeps going " * 5)[:53] + "…"
    assert len(row.prompt) == 80
    assert row.model == "claude-reported-1"  # nothing asked: what the CLI reported
    assert (row.transport, row.tool, row.caller) == ("mcp-http", "claude_request", "zed/0.1")
    assert (row.input_tokens, row.output_tokens) == (12, 512)
    assert (row.cache_read_tokens, row.cache_write_tokens) == (10_100, 300)
    assert row.approval is not None and row.approval["allowed"] is True
    assert row.decided_at is not None and row.decided_at > 0
    assert row.view.result is None and row.view.output == ""  # still no answer text

    other = by_id[parts]
    assert other.prompt == "fix it"  # the parts' task when the prompt came in parts
    assert other.model == "gpt-asked"  # what was asked wins over what was reported
    assert (other.transport, other.tool) == ("http", "/v1/responses")
    assert other.approval is not None
    assert (other.approval["allowed"], other.approval["decided_by"]) == (False, "desk")


def test_prompt_summary_is_one_short_line() -> None:
    assert summarize_prompt(None) == ""
    assert summarize_prompt(" a\n b\t c ") == "a b c"
    assert summarize_prompt("x" * 200) == "x" * 79 + "…"
    # The listing read only the head of a longer prompt: say it goes on.
    assert summarize_prompt("word " * 80) == ("word " * 16)[:79].rstrip() + "…"


async def test_desk_filters_by_state_provider_and_text(h: Harness, db: Database) -> None:
    done = await _submit(h, _done, principal="alice", prompt="refactor the parser")
    failed = await _submit(h, _failing, principal="bob", prompt="x", provider="codex")
    gate = Gate()
    running = (await h.manager.submit(h.spec(gate, principal="carol", prompt="y"))).job_id
    await gate.started.wait()
    recorder = FlightRecorder(db)
    recorder.update(
        recorder.start(principal="bob", provider="codex", caller="Cursor"), job_id=failed
    )
    await recorder.flush()

    async def ids(**filters: Any) -> set[str]:
        return {r.view.id for r in await h.manager.list_for_desk(DeskFilter(**filters))}

    active = frozenset({JobState.QUEUED, JobState.RUNNING})
    assert await ids(states=active) == {running}
    assert await ids(states=frozenset({JobState.FAILED})) == {failed}
    assert await ids(provider="codex") == {failed}
    assert await ids(text="PARSER") == {done}  # the prompt, ignoring case
    assert await ids(text="carol") == {running}  # the principal
    assert await ids(text="cursor") == {failed}  # the caller, from the flight recorder
    assert await ids(text=running[:12]) == {running}  # the job id
    assert await ids(text="100%_") == set()  # typed text is no pattern
    assert len(await h.manager.list_for_desk(limit=2)) == 2
    gate.opened.set()


async def test_desk_shows_a_running_jobs_progress_from_memory(h: Harness) -> None:
    gate = Gate()
    job_id = (await h.manager.submit(h.spec(gate))).job_id
    await gate.started.wait()  # progress set, not yet flushed to the store
    [row] = await h.manager.list_for_desk()
    assert row.view.id == job_id and row.view.state is JobState.RUNNING
    assert row.view.progress == {"events": 1} and row.view.output == ""
    gate.opened.set()


async def test_retry_origin_is_the_stored_call(h: Harness) -> None:
    failed = await _submit(h, _failing, principal="bob", prompt="again please")
    origin = await h.manager.retry_origin(failed)
    assert (origin.principal, origin.provider, origin.state) == ("bob", "claude", JobState.FAILED)
    assert origin.request == {"prompt": "again please"} and origin.job_id == failed


async def test_retry_refuses_what_it_cannot_or_should_not_run(h: Harness) -> None:
    with pytest.raises(NotFound):
        await h.manager.retry_origin("job_nope")
    completed = await _submit(h, _done)
    with pytest.raises(InvalidRequest, match="only failed, canceled or interrupted") as info:
        await h.manager.retry_origin(completed)
    assert info.value.code == "not_retryable"
    gate = Gate()
    running = (await h.manager.submit(h.spec(gate, prompt="slow"))).job_id
    with pytest.raises(InvalidRequest, match="cancel it first"):
        await h.manager.retry_origin(running)
    gate.opened.set()
    secret = await _submit(h, _failing, prompt="use key sk-ant-api03-abcdefghijklmnop")
    with pytest.raises(InvalidRequest, match="looked like a secret") as info:
        await h.manager.retry_origin(secret)
    assert info.value.code == "not_rebuildable"


# -- the whole path, with the real Claude Code CLI ---------------------------------------------


@pytest.fixture
async def engine(
    loaded: LoadedSettings,
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Engine]:
    find_cli("claude")
    offline_environment(tmp_path / "home", upstream.base_url, monkeypatch)
    e = Engine(engine_settings(loaded))
    await e.start()
    yield e
    await e.stop()


async def _finished(engine: Engine, job_id: str, principal: str = "local") -> Any:
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while not (view := await engine.jobs.wait(job_id, principal, JOB_TIMEOUT_S)).finished:
            pass
    return view


async def _failed_claude_job(
    engine: Engine,
    upstream: ScriptedUpstream,
    params: CallParams,
    workdir: Path,
    meta: RequestMeta | None = None,
) -> str:
    """A Claude Code call of `params` in `workdir` (made here) that failed, the upstream
    refusing it (401): its job's id, once the job has ended."""
    workdir.mkdir()
    upstream.script(Reply.error(401))
    submitted = await engine.calls.submit(
        "claude", replace(params, working_dir=str(workdir)), "local", meta
    )
    assert (await _finished(engine, submitted.job_id)).state is JobState.FAILED
    return submitted.job_id


@pytest.mark.contract
async def test_retry_of_a_failed_cli_call_runs_it_again(
    engine: Engine, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    workdir = tmp_path / "project"
    meta = RequestMeta(transport="test", caller="editor/1.0")
    failed = await _failed_claude_job(
        engine, upstream, CallParams(prompt="say hi", correlation_id="c-1"), workdir, meta
    )

    again = await engine.job_retry.retry(failed)
    done = await _finished(engine, again.job_id)
    assert done.state is JobState.COMPLETED, done.error
    assert done.result is not None and done.result["working_dir"] == str(workdir.resolve())
    assert done.result["usage"]["input_tokens"] == ANTHROPIC_INPUT_TOKENS
    assert done.correlation_id == "c-1"
    asked = upstream.llm_requests
    assert len(asked) == 2 and "say hi" in asked[1].raw_body.decode()
    await engine.recorder.flush()
    rows = {r.view.id: r for r in await engine.jobs.list_for_desk()}
    assert rows[again.job_id].caller == "editor/1.0" and rows[again.job_id].principal == "local"


@pytest.mark.contract
async def test_retry_says_why_when_the_directory_is_gone(
    engine: Engine, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    workdir = tmp_path / "gone"
    failed = await _failed_claude_job(engine, upstream, CallParams(prompt="hi"), workdir)
    shutil.rmtree(workdir)
    with pytest.raises(InvalidRequest) as info:
        await engine.job_retry.retry(failed)
    assert info.value.code == "invalid_working_dir"
