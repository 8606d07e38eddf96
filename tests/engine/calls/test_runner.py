"""The one call-running rule: wait up to the deadline, else deferred with the job id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls import CallParams
from llmgw_desktop.engine.calls.runner import Call, Deferred, Finished
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest
from tests.contract.conftest import engine_settings, offline, upstream  # noqa: F401
from tests.contract.offline import vibe_stand_in
from tests.fakes.upstream import Reply, ScriptedUpstream

FAKE_BIN = Path(__file__).resolve().parents[2] / "fakes" / "bin"
COLLECT_S = 30.0


@pytest.fixture
async def engine(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Engine]:
    # The Mistral Vibe stand-in is the one CLI: quick to start, answers from the upstream.
    vibe_stand_in(monkeypatch, tmp_path / "vibe", upstream.base_url)
    started = Engine(engine_settings(loaded, {"providers.cli_path": [str(FAKE_BIN)]}))
    await started.start()
    yield started
    await started.stop()


def ask(prompt: str, provider: str = "mistral") -> Call:
    return Call(provider, CallParams(prompt=prompt), "local")


async def test_run_waits_for_a_quick_call_and_answers_finished(engine: Engine) -> None:
    outcome = await engine.runner.run(ask("hello"))
    assert isinstance(outcome, Finished) and outcome.completed
    assert "FAKE-OK" in str((outcome.view.result or {}).get("text"))
    assert outcome.record_id and outcome.attached is False


async def test_run_defers_past_its_deadline_and_collect_finishes_it(
    engine: Engine,
    upstream: ScriptedUpstream,  # noqa: F811
) -> None:
    upstream.default = Reply.ok(delay_s=1.0)
    outcome = await engine.runner.run(ask("slow"), deadline_s=0.05)
    assert isinstance(outcome, Deferred) and not outcome.view.finished
    collected = await engine.runner.collect(outcome.job_id, "local", COLLECT_S)
    assert isinstance(collected, Finished) and collected.completed


async def test_start_answers_at_once_with_the_job(
    engine: Engine,
    upstream: ScriptedUpstream,  # noqa: F811
) -> None:
    upstream.default = Reply.ok(delay_s=1.0)
    outcome = await engine.runner.start(ask("later"))
    assert isinstance(outcome, Deferred) and outcome.record_id
    assert isinstance(await engine.runner.collect(outcome.job_id, "local", COLLECT_S), Finished)


async def test_failed_job_is_finished_but_not_completed(
    engine: Engine,
    upstream: ScriptedUpstream,  # noqa: F811
) -> None:
    upstream.default = Reply.error(400)
    outcome = await engine.runner.run(ask("fail"))
    assert isinstance(outcome, Finished) and not outcome.completed
    assert outcome.view.error is not None


async def test_refused_call_raises_before_any_job(engine: Engine) -> None:
    with pytest.raises(InvalidRequest):
        await engine.runner.run(ask("x", provider="chatgpt"))


async def test_default_panel_is_the_installed_switched_on_clis(engine: Engine) -> None:
    assert [r.provider for r in await engine.validation.panel(None, {"mistral": "m"})] == [
        "mistral"
    ]
    named = await engine.validation.panel(["codex", "claude"], None)
    assert [(r.provider, r.model) for r in named] == [("codex", None), ("claude", None)]
