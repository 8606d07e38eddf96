"""The validation tools in memory: ask one model, reviews by the engine's default panel or a
named one, consensus, local comparison and a judge."""

from __future__ import annotations

import asyncio
import contextlib

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState, JobView
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.tools.conftest import call, call_error, connect

# A bound on waiting for a job to start or end (a loaded 2-core machine).
WAIT_S = 30.0
APPROVED = Reply.ok(
    text="Fine.\n\nVerdict: APPROVED\nRationale: Sound.\nRisks:\n- none", verbatim=True
)


async def test_ask_model_answers_in_a_fresh_conversation(engine: Engine) -> None:
    async with connect(engine) as client:
        answer = await call(client, "ask_model", {"provider": "mistral", "prompt": "2+2?"})
    assert "FAKE-OK" in answer["text"] and answer["state"] == "completed"
    # The same answer as every request tool: the recorder row to look the call up by.
    await engine.recorder.flush()
    row = await engine.recorder_query.detail(answer["requestId"])
    assert row is not None and answer["attached"] is False


async def test_reviews_without_providers_use_the_engines_default_panel(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = APPROVED
    async with connect(engine) as client:
        report = await call(client, "validate_with_models", {"claim": "x = 1 is fine"})
        red = await call(client, "red_team_review", {"content": "a login form"})
    # Only the Vibe stand-in is installed here: the panel is the installed, switched-on CLIs.
    assert [r["provider"] for r in report["reviewers"]] == ["mistral"]
    assert report["reviewers"][0]["verdict"] == "approved"
    assert report["summary"]["agreement"] == "insufficient"
    assert [r["provider"] for r in red["reviewers"]] == ["mistral"]


async def test_no_reviewers_when_every_installed_cli_is_switched_off(engine: Engine) -> None:
    engine.providers.set_enabled(LOCAL_CALLER, "mistral", False)
    async with connect(engine) as client:
        error = await call_error(client, "consensus_check", {"claim": "water is wet"})
    assert error["code"] == "no_reviewers"


async def test_named_panel_is_checked_and_failures_are_not_counted(engine: Engine) -> None:
    async with connect(engine) as client:
        unknown = await call_error(
            client, "validate_with_models", {"claim": "c", "providers": ["chatgpt"]}
        )
        report = await call(
            client, "validate_with_models", {"claim": "c", "providers": ["mistral", "codex"]}
        )
    assert unknown["code"] == "invalid_request" and unknown["details"]["param"] == "providers"
    by_provider = {r["provider"]: r for r in report["reviewers"]}
    assert by_provider["codex"]["status"] == "failed"
    assert report["summary"]["statuses"]["failed"] == 1


async def test_second_opinion_consensus_and_judge(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = APPROVED
    async with connect(engine) as client:
        second = await call(client, "second_opinion", {"content": "x = 1", "provider": "mistral"})
        judged = await call(
            client,
            "synthesize_validation",
            {
                "subject": "the patch",
                "judge": "mistral",
                "reviews": [
                    {"source": "a", "text": "Verdict: APPROVED"},
                    {"source": "b", "text": "Verdict: NOT APPROVED"},
                ],
            },
        )
        upstream.default = Reply.ok(text="Verdict: TRUE\nRationale: yes", verbatim=True)
        consensus = await call(
            client, "consensus_check", {"claim": "water is wet", "providers": ["mistral"]}
        )
    assert second["reviewers"][0]["verdict"] == "approved"
    assert judged["inputVerdicts"] == {"a": "approved", "b": "rejected"}
    assert judged["reviewers"][0]["verdict"] == "approved"
    assert consensus["summary"]["verdicts"] == {"true": 1}


async def test_compare_answers_runs_locally(engine: Engine) -> None:
    answers = [
        {"source": "a", "text": "Verdict: APPROVED\nThe migration keeps every row intact."},
        {"source": "b", "text": "Verdict: NOT APPROVED\nThe migration drops the audit table."},
    ]
    async with connect(engine) as client:
        differ = await call(client, "compare_answers", {"answers": answers})
        too_few = await client.call_tool("compare_answers", {"answers": answers[:1]})
    assert differ["overall"] == "disagree"
    assert too_few.is_error


async def running_jobs(engine: Engine) -> list[JobView]:
    """The local user's jobs once there are some and all of them run (bounded)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            jobs = await engine.jobs.list_jobs(LOCAL_CALLER.id, 10)
            if jobs and all(j.state is JobState.RUNNING for j in jobs):
                return jobs
            await asyncio.sleep(0.02)


async def test_a_review_cancelled_mid_run_stops_its_reviewers_jobs(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    # A review is synchronous CLI calls, one job per reviewer: its client cancelling it (Esc)
    # must stop them, as it stops a `*_request`.
    upstream.default = Reply.ok(delay_s=60.0)
    async with connect(engine) as client:
        review = asyncio.ensure_future(
            client.call_tool("validate_with_models", {"claim": "slow", "providers": ["mistral"]})
        )
        jobs = await running_jobs(engine)
        review.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await review
    ended = [await engine.jobs.wait(j.id, LOCAL_CALLER.id, WAIT_S) for j in jobs]
    assert [j.state for j in ended] == [JobState.CANCELED], ended
