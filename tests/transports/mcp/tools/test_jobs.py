"""The job tools in memory: status, paged result, watch, cancel, lookup by correlation id."""

from __future__ import annotations

from llmgw_desktop.engine.engine import Engine
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.tools.conftest import call, call_error, connect


async def test_status_and_paged_result_of_a_finished_job(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(text="0123456789", verbatim=True)
    async with connect(engine) as client:
        answer = await call(client, "mistral_request", {"prompt": "digits"})
        status = await call(client, "llm_job_status", {"jobId": answer["jobId"]})
        first = await call(
            client, "llm_job_result", {"jobId": answer["jobId"], "offset": 0, "limit": 4}
        )
        last = await call(client, "llm_job_result", {"jobId": answer["jobId"], "offset": 8})
    assert status["state"] == "completed" and status["outputChars"] >= 0
    assert "text" not in status and "outputPreview" in status
    assert first["text"] == "0123" and first["nextOffset"] == 4 and first["totalChars"] == 10
    assert last["text"] == "89" and last["nextOffset"] is None


async def test_cancel_stops_a_running_job(engine: Engine, upstream: ScriptedUpstream) -> None:
    upstream.default = Reply.ok(delay_s=60)
    async with connect(engine) as client:
        started = await call(client, "mistral_request_async", {"prompt": "long"})
        await upstream.wait_for_requests(1, timeout=30)
        canceled = await call(client, "llm_job_cancel", {"jobId": started["jobId"]})
        result = await client.call_tool("llm_job_result", {"jobId": started["jobId"]})
    assert canceled["state"] == "canceled"
    assert result.is_error  # a canceled job has no answer: its error goes out once


async def test_watch_returns_at_its_timeout_while_the_job_runs(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(delay_s=60)
    async with connect(engine) as client:
        started = await call(client, "mistral_request_async", {"prompt": "long"})
        await upstream.wait_for_requests(1, timeout=30)
        watched = await call(client, "llm_job_watch", {"jobId": started["jobId"], "timeoutMs": 0})
        await call(client, "llm_job_cancel", {"jobId": started["jobId"]})
    assert watched["state"] == "running"


async def test_request_result_finds_a_request_by_its_correlation_id(engine: Engine) -> None:
    async with connect(engine) as client:
        await call(client, "mistral_request", {"prompt": "tagged", "correlationId": "c-7"})
        found = await call(client, "llm_request_result", {"correlationId": "c-7"})
        missing = await call_error(client, "llm_request_result", {"correlationId": "nope"})
        empty = await call_error(client, "llm_request_result", {"correlationId": "  "})
    assert found["record"]["correlation_id"] == "c-7"
    assert found["job"]["state"] == "completed" and "FAKE-OK" in found["job"]["text"]
    assert missing["code"] == "not_found"
    assert empty["code"] == "invalid_request"


async def test_unknown_job_is_not_found(engine: Engine) -> None:
    async with connect(engine) as client:
        error = await call_error(client, "llm_job_status", {"jobId": "job-missing"})
    assert error["code"] == "not_found"
