"""A provider check (the dashboard's Test button) on a real engine against the scripted
upstream: exactly one provider is asked, never a fallback, and every outcome is a result."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import NotFound
from llmgw_desktop.engine.gateway.desk.probe import (
    PROBE_MAX_TOKENS,
    PROBE_PROMPT,
    ProbeVerdict,
    probe_provider,
    probe_target,
)
from llmgw_desktop.engine.gateway.router import Target
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream


@pytest.fixture
async def engine(loaded: LoadedSettings) -> AsyncIterator[tuple[Engine, ScriptedUpstream]]:
    async with ScriptedUpstream() as upstream:
        # A global fallback that a normal request would move on to: a check must not.
        settings = loaded.settings.with_values({"gateway.fallback": ["anthropic/claude-haiku-4-5"]})
        environ = {
            "OPENAI_API_KEY": "sk-test-openai-key-probe",
            "OPENAI_BASE_URL": upstream.base_url + "/v1",
            "ANTHROPIC_API_KEY": "sk-ant-test-key-probe",
            "ANTHROPIC_BASE_URL": upstream.base_url,
        }
        started = Engine(settings, environ=environ)
        await started.start()
        try:
            yield started, upstream
        finally:
            await started.stop()


async def test_a_check_asks_the_provider_once_and_reports_the_answer(
    engine: tuple[Engine, ScriptedUpstream],
) -> None:
    eng, upstream = engine
    result = await probe_provider(eng.gateway, "openai", "gpt-4o-mini")
    assert result.ok, result
    assert result.answer.startswith(DEFAULT_ANSWER)
    assert result.latency_ms > 0
    assert result.summary().startswith("OK in ")
    (sent,) = upstream.llm_requests
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["messages"] == [{"role": "user", "content": PROBE_PROMPT}]
    assert sent.body["max_completion_tokens"] == PROBE_MAX_TOKENS
    await eng.recorder.flush()
    (row,) = await eng.recorder.recent()
    assert (row["caller"], row["provider"], row["state"]) == ("dashboard", "openai", "completed")


async def test_a_failing_provider_is_reported_without_a_fallback(
    engine: tuple[Engine, ScriptedUpstream],
) -> None:
    eng, upstream = engine
    upstream.script(Reply.error(500))
    result = await probe_provider(eng.gateway, "openai")  # its first listed model
    assert not result.ok
    assert result.model == "gpt-5.1"
    assert "500" in result.error
    assert result.summary().startswith("Failed after ")
    assert len(upstream.llm_requests) == 1  # Anthropic, the fallback, was not asked


async def test_unusable_or_unknown_providers_are_results_not_errors(
    engine: tuple[Engine, ScriptedUpstream],
) -> None:
    eng, upstream = engine
    no_key = await probe_provider(eng.gateway, "groq")
    assert not no_key.ok and "has no API key" in no_key.error
    unknown = await probe_provider(eng.gateway, "nope")
    assert (unknown.ok, unknown.error_code) == (False, "unknown_provider")
    eng.providers.set_enabled(OPERATOR, "claude", False)
    off = await probe_provider(eng.gateway, "claude-cli")
    assert not off.ok and "switched off" in off.error
    assert upstream.llm_requests == []


def test_cli_and_api_ids_that_share_a_name_stay_apart(
    engine: tuple[Engine, ScriptedUpstream],
) -> None:
    gateway = engine[0].gateway
    assert probe_target(gateway, "mistral") == Target("mistral", "mistral-large-latest")
    assert probe_target(gateway, "mistral-cli") == Target("mistral-cli", "", "cli")
    assert probe_target(gateway, "claude-cli", "haiku") == Target("claude-cli", "haiku", "cli")
    with pytest.raises(NotFound):
        probe_target(gateway, "ollama")  # a local server lists nothing until it answers


async def test_a_key_being_tried_is_sent_alone_and_a_refusal_is_an_auth_failure(
    engine: tuple[Engine, ScriptedUpstream],
) -> None:
    eng, upstream = engine
    tried = "sk-a-key-pasted-in-the-guide-0123456789"
    good = await eng.providers.probe("openai", "gpt-4o-mini", key=tried)
    assert good.verdict == ProbeVerdict.OK, good
    (sent,) = upstream.llm_requests
    # Only the pasted key went out, not the environment's (the fake keeps only the length).
    assert sent.headers["authorization"] == f"<redacted {len('Bearer ') + len(tried)} chars>"

    upstream.script(Reply.error(401, "invalid api key"))
    refused = await eng.providers.probe("openai", "gpt-4o-mini", key="sk-wrong")
    assert refused.verdict == ProbeVerdict.AUTH_FAILED, refused
    # The environment's key was not tried after the refusal: it would have made a bad key pass.
    assert len(upstream.llm_requests) == 2
    # A stranger's key failing says nothing about the provider's own keys.
    await eng.recorder.flush()
    assert eng.providers.trouble("openai") is None


async def test_an_upstream_that_never_answers_is_unreachable(loaded: LoadedSettings) -> None:
    async with ScriptedUpstream() as upstream:
        closed = upstream.base_url
    environ = {"OPENAI_BASE_URL": closed + "/v1"}  # nothing listens there any more
    eng = Engine(loaded.settings, environ=environ)
    await eng.start()
    try:
        result = await eng.providers.probe("openai", "gpt-4o-mini", key="sk-any-key-at-all")
    finally:
        await eng.stop()
    assert result.verdict == ProbeVerdict.UNREACHABLE, result


async def test_an_upstream_failure_is_logged_as_a_warning(
    engine: tuple[Engine, ScriptedUpstream], caplog: pytest.LogCaptureFixture
) -> None:
    """Review 41-2, finding 8: the Log showed upstream 529s and 503s at INFO, so "warnings and
    above" hid a provider failing."""
    eng, upstream = engine
    upstream.script(Reply.error(503))
    with caplog.at_level(logging.INFO, logger="llmgw_desktop.engine.gateway.records.recording"):
        assert not (await probe_provider(eng.gateway, "openai")).ok
    (failed,) = [r for r in caplog.records if "failed (" in r.getMessage()]
    assert failed.levelno == logging.WARNING, failed.getMessage()
