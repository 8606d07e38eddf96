"""Qwen Code over ACP, pointed at the gateway's OpenAI key, asks for a model that key answers.

Pointed at the gateway (`providers/acp/gateway_env.py`), the real Qwen Code is given the
gateway's address as its OpenAI endpoint and a connection key. Without `OPENAI_MODEL` in its
environment it refused to start a session ("Authentication required: Use Qwen Code CLI to
authenticate first"), which the job reported as a login the person had not made, beside a
Providers page that read Qwen Code Ready (its vendor's key answers). Given a model, it would
ask for its own vendor's `qwen3-coder-plus`, which no OpenAI key serves. The gateway now names
the model it asks for: the caller's, where the gateway answers it on that key, else the first
that answers.

The real Qwen Code at `.ci/acp-agents`' version, the scripted upstream as OpenAI, through the
MCP tool a gateway key calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.errors import ProviderUnavailable
from llmgw_desktop.engine.events import ModelListRead
from llmgw_desktop.engine.jobs.model import JobView
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.jobs_model import describe_progress
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    StartRecording,
    headers_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401
from tests.waiting import until

pytestmark = pytest.mark.contract


async def _gateway(
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, object] | None = None,
) -> GatewayRuntime:
    """A gateway whose OpenAI provider is the scripted upstream, Qwen Code's environment
    naming no model."""
    require("qwen")
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream.base_url}/v1")
    gateway, _ = await start_recording({"providers.timeout_ms": 120_000, **(settings or {})})
    return gateway


async def _asked(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    more: dict[str, object] | None = None,
    **arguments: str,
) -> tuple[GatewayRuntime, str, list[str]]:
    """One Qwen Code turn, its environment naming no model: the gateway, the key's principal,
    and the models Qwen Code asked the upstream for."""
    work = tmp_path / "ws"
    work.mkdir()
    gateway = await _gateway(
        start_recording,
        upstream,
        monkeypatch,
        {
            "http.auth_token": TOKEN,
            "workspaces.registry": {"work": {"path": str(work), "remote_level": "read-only"}},
            **(more or {}),
        },
    )
    await gateway.engine.gateway.directory.first_look()  # the model lists read, where read
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="editor"))
    upstream.default = Reply.ok("QWEN-ANSWERED")
    async with headers_mcp(gateway, {"Authorization": f"Bearer {key.secret}"}) as client:
        failed, body = await request(client, "qwen", workspace="work", **arguments)
    assert not failed, body
    assert body["state"] == "completed" and "QWEN-ANSWERED" in body["text"], body
    models = [r.body["model"] for r in upstream.llm_requests if isinstance(r.body, dict)]
    # The model it was told is the job's, and not "chosen" over ACP as well (the agent offers
    # it under an id of its own, which read as "does not offer the model" in a review).
    assert models and body.get("model") == models[0], (body.get("model"), models)
    notices = " ".join(w["message"] for w in body.get("warnings", []))
    assert "does not offer" not in notices, notices
    return gateway, key.record.principal, models


async def test_qwen_asks_for_the_first_model_the_gateways_openai_key_answers(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway, principal, models = await _asked(start_recording, tmp_path, upstream, monkeypatch)
    answering, _ = await gateway.engine.providers.answering_models("openai", None, principal)
    assert models and set(models) == {answering[0]}, (models, answering[:3])


async def test_qwen_asks_for_a_model_the_openai_server_lists_over_the_catalogues(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the provider's own model list read, the model Qwen Code is told is one that list
    holds: an OpenAI-compatible server at a base URL of its own may serve none of the
    catalogue's (a review saw `gpt-5.1` told beside a server listing only its own)."""
    upstream.model_ids["chat"] = ["served-here-1", "served-here-2"]
    reading = {"gateway.models_refresh_s": 3600}
    _, _, models = await _asked(start_recording, tmp_path, upstream, monkeypatch, reading)
    assert set(models) == {"served-here-1"}, models


async def test_qwen_asks_for_the_model_its_caller_named_where_the_gateway_answers_it(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, models = await _asked(start_recording, tmp_path, upstream, monkeypatch, model="gpt-4.1")
    assert models and set(models) == {"gpt-4.1"}, models


async def test_a_job_whose_model_calls_fail_at_the_gateway_says_so_while_it_runs(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Qwen Code retries a failed model call quietly (some twenty times a minute, printing
    nothing), so its job read "running · 0 events" until it was stuck. Each routed call the
    gateway answers with an error is now counted in the job's progress with the last error,
    without counting as the CLI's activity."""
    gateway = await _gateway(start_recording, upstream, monkeypatch)
    upstream.default = Reply.error(500, "the upstream broke")
    engine = gateway.engine
    job = await engine.calls.submit("qwen", CallParams(prompt="say hi"), "local")

    async def failing() -> JobView | None:
        view = await engine.jobs.get(job.job_id, "local")
        return view if view.progress.get("modelCallsFailed") else None

    try:
        view = await until(failing, "a failed model call in the job's progress", timeout_s=60)
        assert not view.finished, view
        assert (
            "500" in view.progress["lastModelCallError"]
            or "upstream" in (view.progress["lastModelCallError"])
        ), view.progress
        assert "model call" in describe_progress(view)
        # Its row names the model its calls ask for (a review read Qwen Code's own default
        # there, or nothing, while every call asked the model the gateway told it).
        asked = {r.body["model"] for r in upstream.llm_requests if isinstance(r.body, dict)}
        [running] = [r for r in await engine.jobs.list_for_desk() if r.view.id == job.job_id]
        assert {running.model} == asked, (running.model, asked)
    finally:
        await engine.jobs.cancel(job.job_id, "local")
    # Cancelled, its error still says why it was going nowhere (it said only "the job was
    # canceled", and the failures that prompted the cancel were lost with it).
    ended = await engine.jobs.wait(job.job_id, "local", timeout_s=30)
    assert ended.error is not None and ended.error["code"] == "canceled", ended.error
    message = ended.error["message"]
    assert message.startswith("the job was canceled"), message
    assert "of this job failed at the gateway; the last: " in message, message
    assert ended.error["details"]["modelCallsFailed"] >= 1, ended.error
    [stored] = [r for r in await engine.jobs.list_for_desk() if r.view.id == job.job_id]
    assert {stored.model} == asked, (stored.model, asked)  # read back from the store
    # The Overview's traffic line counts the canceled job as canceled, not "other".
    totals = engine.metrics.series("15m").total
    assert totals.canceled == 1 and totals.asked == len(upstream.llm_requests), totals


async def test_a_job_that_fails_with_its_model_calls_says_the_gateways_error(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The vendor refuses the gateway's key: Qwen Code ends its turn with its own words for
    it, and the job's error adds the gateway's (which key, which provider)."""
    gateway = await _gateway(start_recording, upstream, monkeypatch)
    upstream.default = Reply.error(401, "Incorrect API key provided")
    engine = gateway.engine
    job = await engine.calls.submit("qwen", CallParams(prompt="say hi"), "local")
    view = await engine.jobs.wait(job.job_id, "local", timeout_s=90)
    assert view.error is not None, view
    # Not "log in to the CLI": the agent has no login of its own here; the gateway's key was
    # refused, and the error says which and how to mend it.
    assert view.error["code"] == "upstream_key_refused", view.error
    message = view.error["message"]
    assert message.startswith("1 model call of this job failed at the gateway"), message
    assert "OPENAI_API_KEY" in message, message
    # Said once, in the gateway's words: the agent's own answer only repeated them, and its
    # stderr (a dump of the JSON-RPC request and error, which the message quoted) and the
    # advice to log in to the CLI are not the person's business here.
    assert "jsonrpc" not in message and "session/prompt" not in message, message
    assert "the agent said" not in message and "log in to the CLI" not in message, message
    assert view.error["details"]["modelCallsFailed"] == 1
    # Its row is the job's, not the failed call's (a review's Playground showed "OpenAI ·
    # gpt-5.1 · total 5 ms" over a two-minute Qwen job: the call's row id had come along).
    named = view.error["details"].get("requestId")
    row = None if named is None else await engine.recorder_query.detail(named)
    assert row is None or row.record["provider"] == "qwen", row


async def test_with_its_vendors_key_refused_qwen_is_refused_before_it_starts_saying_why(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenAI refused the gateway's key when its model list was read, so no OpenAI model
    answers and Qwen Code has none to be told: started, it refused "Authentication required
    ... log in to the CLI", a login it does not use (a helper's review). Its call is now
    refused as it is submitted, with the gateway's reason. (The scripted upstream cannot
    refuse a model list: the refusal is the event the list's read publishes.)"""
    gateway = await _gateway(start_recording, upstream, monkeypatch)
    engine = gateway.engine
    engine.events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 401, "invalid key"))
    with pytest.raises(ProviderUnavailable) as refused:
        await engine.calls.submit("qwen", CallParams(prompt="say hi"), "local")
    assert refused.value.code == "no_provider_available", refused.value
    assert refused.value.message.startswith(
        "Qwen Code's model calls go through the gateway's OpenAI provider, which answers no "
        "model now: its key env:OPENAI_API_KEY was refused (401)"
    ), refused.value
    assert not upstream.llm_requests
