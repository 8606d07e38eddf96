"""Contract tests: the real Mistral Vibe (3.0.3, Python 3.12, `.ci/run`), driven by the engine,
against the scripted upstream as an OpenAI-style provider of its config (`offline.py`).

Each call takes about 20 s on a loaded machine (its Python start and its own look-ups), so the
suites that start vibe dozens of times run its stand-in (`tests/fakes/fake_vibe.py`), made to
what these runs show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import run
from tests.contract.offline import find_cli, vibe_reaches_loopback
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract

MSGS = re.compile(r"msgs=(\d+)")


@pytest.fixture(autouse=True)
def real_vibe(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    find_cli("vibe")
    vibe_reaches_loopback(monkeypatch)


def msgs(view: object) -> int:
    return int(MSGS.search(view.result["text"]).group(1))  # type: ignore[attr-defined,union-attr]


async def test_vibe_answers_resumes_and_continues(
    engine: Engine, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    session = await engine.sessions.create("local", "mistral", working_dir=str(work))
    first = await run(
        engine, "mistral", prompt="-- remember 42", session_id=session.id, model="scripted-b"
    )
    assert first.state is JobState.COMPLETED, first.error
    assert first.result is not None and "-- remember 42" in first.result["text"]
    usage = first.result["usage"]
    assert (usage["input_tokens"], usage["cache_read_tokens"], usage["output_tokens"]) == (
        112,
        200,
        9,
    )
    # No price in its config for this model: vibe says 0, which is "unpriced", not "free".
    assert first.result["cost_source"] != "cli"
    assert upstream.llm_requests[-1].body["model"] == "fake-model-b"  # VIBE_ACTIVE_MODEL
    second = await run(
        engine, "mistral", prompt="what number?", session_id=session.id, model="scripted"
    )
    assert second.state is JobState.COMPLETED, second.error
    assert second.result is not None
    assert second.result["session_id"] == first.result["session_id"]
    assert msgs(second) > msgs(first)  # `--resume ID`: the upstream saw the first turn again
    assert second.result["usage"]["input_tokens"] == 112  # this turn's own usage
    # A resumed session keeps the model it started with, whatever VIBE_ACTIVE_MODEL says.
    assert upstream.llm_requests[-1].body["model"] == "fake-model-b"
    assert any("keeps the model" in w["message"] for w in second.result["warnings"])
    latest = await run(
        engine, "mistral", prompt="and now?", resume_latest=True, working_dir=str(work)
    )
    assert latest.state is JobState.COMPLETED, latest.error
    assert latest.result is not None and msgs(latest) > msgs(second)


async def test_vibe_permission_modes_hold_its_edits(
    engine: Engine, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """`default` runs its `ask` agent, which headless refuses the edit (the model is told and
    answers); `acceptEdits` its `accept-edits` agent, which makes it."""
    work = tmp_path / "work"
    work.mkdir()
    target = work / "made.txt"
    for mode in ("default", "acceptEdits"):
        upstream.script_when_offered(
            "write_file",
            Reply.tool_call("write_file", {"path": str(target), "content": mode}),
            Reply.ok("DONE", verbatim=True),
        )
        view = await run(
            engine, "mistral", prompt="write it", working_dir=str(work), permission_mode=mode
        )
        assert view.state is JobState.COMPLETED, view.error
        told = [m for m in upstream.llm_requests[-1].body["messages"] if m.get("role") == "tool"]
        if mode == "default":
            assert "tool_denied" in str(told[-1]["content"]) and not target.exists()
    assert target.read_text() == "acceptEdits"


async def test_vibe_rate_limit_is_structured(engine: Engine, upstream: ScriptedUpstream) -> None:
    upstream.default = Reply.error(429)
    view = await run(engine, "mistral", prompt="hi")
    assert view.error is not None and view.error["code"] == "rate_limited", view.error
