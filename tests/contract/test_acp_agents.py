"""The real ACP agents as providers of the gateway, each behind the scripted upstream.

Qwen Code, Gemini CLI in ACP mode, OpenCode's `acp`, Zed's claude-agent-acp and codex-acp, at
the versions of `.ci/acp-agents` and `.ci/clis`, each run through the engine's ordinary job path
(`engine.calls.submit`: switches, budgets, approval, recorder, job) with its model endpoint on
loopback. What each agent sent over ACP for one turn is kept in `tests/fixtures/acp/` (recorded
with the same set-up); `test_recorded_turns_give_their_usage` reads those.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls import CallParams
from llmgw_desktop.engine.calls.runner import Call, Finished
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.providers.acp.usage import usage_from_chunk_meta, usage_from_prompt_result
from llmgw_desktop.engine.recorder.detail import RecordDetail
from tests.contract.conftest import engine_settings
from tests.contract.offline import ACP_BIN, CLI_BIN, find_cli
from tests.fakes.upstream import ScriptedUpstream

pytestmark = pytest.mark.contract

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "acp"
# provider id -> (binary, folder it is installed in, upstream path its model call takes)
AGENTS = {
    "qwen": ("qwen", ACP_BIN, "/v1/chat/completions"),
    "gemini-acp": ("gemini", CLI_BIN, ":streamGenerateContent"),
    "opencode-acp": ("opencode", CLI_BIN, "/v1/messages"),
    "claude-acp": ("claude-agent-acp", ACP_BIN, "/v1/messages"),
    "codex-acp": ("codex-acp", ACP_BIN, "/v1/responses"),
}


def _agent_settings(loaded: LoadedSettings) -> object:
    return engine_settings(
        loaded,
        {
            "providers.cli_path": [str(ACP_BIN), str(CLI_BIN)],
            # Claude Code refuses to run its agent as root without it (this machine's CI runs
            # as root); the operator passes it as any other variable.
            "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}},
        },
    )


async def _one_turn(
    loaded: LoadedSettings, provider: str, params: CallParams
) -> tuple[Finished, RecordDetail | None]:
    """One call of `provider` through the engine's job path, and its recorder row."""
    engine = Engine(_agent_settings(loaded))  # type: ignore[arg-type]
    await engine.start()
    try:
        outcome = await engine.runner.run(Call(provider, params, "local"), deadline_s=150)
        assert isinstance(outcome, Finished) and outcome.record_id, outcome
        await engine.recorder.flush()
        return outcome, await engine.recorder_query.detail(outcome.record_id)
    finally:
        await engine.stop()


@pytest.mark.parametrize("provider", list(AGENTS))
async def test_real_acp_agent_answers_through_the_job_path(
    provider: str,
    loaded: LoadedSettings,
    offline: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binary, where, path = AGENTS[provider]
    find_cli(binary, where)
    # Qwen Code speaks OpenAI's chat API from these; Gemini needs its folder trusted.
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream.base_url}/v1")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-5.4")
    monkeypatch.setenv("GEMINI_CLI_TRUST_WORKSPACE", "true")
    monkeypatch.setenv("IS_SANDBOX", "1")
    monkeypatch.setenv("LLM_GATEWAY_NOT_FOR_CHILDREN", "secret")
    outcome, detail = await _one_turn(loaded, provider, CallParams(prompt="Say hello"))
    view = outcome.view
    assert view.state is JobState.COMPLETED, view.error
    assert view.result is not None
    assert "FAKE-OK" in view.result["text"] and "Say hello" in view.result["text"]
    # Stopped by the gateway once its turn was over: no exit code of the gateway's own SIGTERM
    # ("completed · exit code -15", a helper's review).
    assert view.result.get("exit_code") in (None, 0), view.result.get("exit_code")
    assert view.result.get("sessionId") or view.result.get("session_id"), view.result
    assert any(path in r.path for r in upstream.llm_requests), [
        r.path for r in upstream.llm_requests
    ]
    assert detail is not None
    assert detail.record["provider"] == provider and detail.record["state"] == "completed"


@pytest.mark.parametrize("name", ["qwen", "gemini", "opencode", "claude", "codex"])
def test_recorded_turns_give_their_usage(name: str) -> None:
    """The usage each real agent reported for one turn, in the places it puts it."""
    messages = json.loads((FIXTURES / f"{name}-turn.json").read_text(encoding="utf-8"))
    found = None
    for direction, message in messages:
        if direction != "incoming":
            continue
        result = message.get("result")
        if isinstance(result, dict) and "stopReason" in result:
            found = usage_from_prompt_result(result) or found
        update = (message.get("params") or {}).get("update")
        if isinstance(update, dict):
            found = usage_from_chunk_meta(update) or found
    if name == "codex":
        assert found is None  # codex-acp 0.16.0 reports no token counts over ACP
        return
    assert found is not None and found.output_tokens > 0
    assert os.environ.get("LLM_GATEWAY_NOT_FOR_CHILDREN") is None


async def test_the_model_an_agent_was_set_to_is_its_jobs_and_rows_model(
    loaded: LoadedSettings,
    offline: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`claude-acp-cli/sonnet` answered while its recorder row said model "-" (a helper's
    review): the model the agent took over ACP (`session/set_config_option`) is the job's.
    claude-agent-acp 0.23.1 offers `sonnet[1m]`, not `sonnet`: the agent's one variant of a
    bare alias is taken, and said; before, the agent ran its default with a notice."""
    find_cli("claude-agent-acp", ACP_BIN)
    monkeypatch.setenv("IS_SANDBOX", "1")
    params = CallParams(prompt="Say hello", model="sonnet")
    outcome, detail = await _one_turn(loaded, "claude-acp", params)
    assert outcome.view.state is JobState.COMPLETED, outcome.view.error
    assert outcome.view.result is not None
    result = outcome.view.result
    assert result.get("model") == "sonnet[1m]", result.get("warnings")
    assert [w["message"] for w in result["warnings"]] == [
        "the agent offers 'sonnet' as 'sonnet[1m]': taken"
    ]
    assert detail is not None and detail.record["model"] == "sonnet[1m]", detail.record["model"]
