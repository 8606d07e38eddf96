"""The provider request tools in memory: answer, deferral past the sync deadline, async start,
failures, and the fork tool where the CLI is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from tests.contract.conftest import vibe_engine
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.tools.conftest import call, call_error, connect

WATCH_MS = 20_000


async def finish(client: Client, job_id: str) -> dict[str, object]:
    """Watch a job until it ends; its last summary."""
    watched = await call(client, "llm_job_watch", {"jobId": job_id, "timeoutMs": 1})
    while watched["state"] not in ("completed", "failed", "canceled"):
        watched = await call(client, "llm_job_watch", {"jobId": job_id, "timeoutMs": WATCH_MS})
    return watched


async def test_sync_request_answers_with_the_text_and_recorder_row(engine: Engine) -> None:
    async with connect(engine) as client:
        answer = await call(client, "mistral_request", {"prompt": "hi", "correlationId": "t-1"})
    assert "FAKE-OK" in answer["text"]
    assert answer["state"] == "completed" and answer["provider"] == "mistral"
    assert answer["requestId"] and answer["attached"] is False
    assert answer["correlationId"] == "t-1"
    assert answer["usage"]["outputTokens"] > 0


async def test_async_request_answers_with_a_job_id_at_once(engine: Engine) -> None:
    async with connect(engine) as client:
        started = await call(client, "mistral_request_async", {"prompt": "later"})
        await finish(client, started["jobId"])
        result = await call(client, "llm_job_result", {"jobId": started["jobId"]})
    assert set(started) == {"jobId", "requestId", "state", "attached", "next"}
    assert started["next"] == "poll llm_job_status, then llm_job_result"
    assert "FAKE-OK" in result["text"]


@pytest.fixture
async def impatient(loaded: LoadedSettings, vibe: None) -> AsyncIterator[Engine]:
    """An engine whose sync deadline is a tenth of a second."""
    async with vibe_engine(loaded, {"jobs.sync_deadline_ms": 100}) as engine:
        yield engine


async def test_sync_request_defers_to_its_job_after_the_deadline(
    impatient: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(delay_s=1.0)
    async with connect(impatient) as client:
        deferred = await call(client, "mistral_request", {"prompt": "slow"})
        done = await finish(client, deferred["jobId"])
    assert deferred["deferred"] is True
    assert deferred["next"] == "still running: poll llm_job_status, then llm_job_result"
    assert {"jobId", "requestId", "state", "attached", "progress"} <= set(deferred)
    assert done["state"] == "completed"


async def test_failed_job_is_an_error_carrying_its_job_and_request(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.error(400, "bad request (fake)")
    async with connect(engine) as client:
        result = await client.call_tool("mistral_request", {"prompt": "fail"})
    assert result.is_error
    body = result.structured_content or {}
    assert body["error"]["code"] and body["jobId"] and body["requestId"]


async def test_request_checks_its_arguments_before_running(engine: Engine) -> None:
    async with connect(engine) as client:
        error = await call_error(client, "mistral_request", {})
    assert error["code"] == "invalid_request"


async def test_fork_of_a_cli_that_is_not_installed_is_refused(engine: Engine) -> None:
    async with connect(engine) as client:
        error = await call_error(client, "codex_fork_session", {"prompt": "x", "sessionId": "a"})
    assert error["code"]
