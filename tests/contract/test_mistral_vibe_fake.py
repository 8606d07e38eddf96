"""Mistral Vibe through the engine, with a stand-in CLI.

Vibe needs Python 3.12 and this machine (and CI) has 3.11, so the real program cannot run:
tests/fakes/fake_vibe.py imitates its documented interface and talks to the scripted upstream.
This checks the adapter's argv, stdin prompt, JSON output, session meta and resume handling
end to end; it cannot prove the real vibe behaves the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import run, vibe_engine
from tests.fakes.upstream import Reply, ScriptedUpstream


@pytest.fixture(name="vibe_engine")
async def vibe_engine_fixture(loaded: LoadedSettings, vibe: None) -> AsyncIterator[Engine]:
    async with vibe_engine(loaded) as engine:
        yield engine


async def test_vibe_answer_session_and_per_turn_usage(
    vibe_engine: Engine, upstream: ScriptedUpstream
) -> None:
    session = await vibe_engine.sessions.create("local", "mistral")
    first = await run(
        vibe_engine, "mistral", prompt="hi", session_id=session.id, model="devstral-2"
    )
    second = await run(vibe_engine, "mistral", prompt="again", session_id=session.id)
    assert first.state is JobState.COMPLETED, first.error
    assert second.state is JobState.COMPLETED, second.error
    assert first.result is not None and second.result is not None
    assert "FAKE-OK" in second.result["text"] and "msgs=3" in second.result["text"]
    assert second.result["session_id"] == first.result["session_id"]
    for view in (first, second):
        assert view.result is not None
        assert (view.result["usage"]["input_tokens"], view.result["usage"]["output_tokens"]) == (
            312,
            9,
        )
    assert upstream.llm_requests[0].body["model"] == "devstral-2"


async def test_vibe_upstream_rate_limit(vibe_engine: Engine, upstream: ScriptedUpstream) -> None:
    upstream.default = Reply.error(429)
    view = await run(vibe_engine, "mistral", prompt="hi")
    assert view.error is not None and view.error["code"] == "rate_limited"
