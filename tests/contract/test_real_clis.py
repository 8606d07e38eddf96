"""Contract tests: the real vendor CLIs, driven by the engine, against a scripted upstream.

Each test runs the installed CLI exactly as a user's call would (prompt, session, working
directory), with the upstream on loopback playing a vendor API, and checks what the gateway
hands back: the answer, the CLI's session id, usage with cache tokens, and structured errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import run
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract

# provider -> (binary, usage expected from the upstream's fixed numbers, or None if unreported)
EXPECTED = {
    "claude": ("claude", {"input": 12, "read": 200, "write": 100, "output": 7}),
    "codex": ("codex", {"input": 112, "read": 200, "write": 0, "output": 9}),
    "gemini": ("gemini", {"input": 112, "read": 200, "write": 0, "output": 7}),
    "grok": ("grok", {"input": 112, "read": 200, "write": 0, "output": 9}),
    "copilot": ("copilot", {"input": 112, "read": 200, "write": 0, "output": 9}),
    "opencode": ("opencode", {"input": 12, "read": 200, "write": 100, "output": 7}),
}
WITH_SESSIONS = ["claude", "codex", "gemini", "grok", "copilot", "opencode"]
# Models the CLIs accept offline (Gemini otherwise first asks a routing model; Copilot needs one).
MODELS = {"gemini": "gemini-2.5-flash", "copilot": "gpt-5.4", "codex": "gpt-5.5"}
MSGS = re.compile(r"msgs=(\d+)")


def usage_of(view: object) -> dict[str, int]:
    usage = view.result["usage"]  # type: ignore[attr-defined]
    return {
        "input": usage["input_tokens"],
        "read": usage["cache_read_tokens"],
        "write": usage["cache_write_tokens"],
        "output": usage["output_tokens"],
    }


@pytest.mark.parametrize("provider", list(EXPECTED))
async def test_plain_answer_with_usage_and_cache_tokens(
    provider: str, engine: Engine, upstream: ScriptedUpstream
) -> None:
    binary, usage = EXPECTED[provider]
    find_cli(binary)
    view = await run(engine, provider, prompt="-- say hello", model=MODELS.get(provider))
    assert view.state is JobState.COMPLETED, view.error
    assert view.result is not None
    assert "FAKE-OK" in view.result["text"]
    assert "-- say hello" in view.result["text"]  # a prompt starting with "--" is just text
    if usage is not None:
        assert usage_of(view) == usage
        assert view.result["cost_usd"] is not None
    if provider in WITH_SESSIONS:
        assert view.result["session_id"]
    assert upstream.llm_requests, "the CLI never reached the upstream"


@pytest.mark.parametrize("provider", WITH_SESSIONS)
async def test_gateway_session_resumes_the_cli_conversation(provider: str, engine: Engine) -> None:
    binary, usage = EXPECTED[provider]
    find_cli(binary)
    session = await engine.sessions.create("local", provider, title="contract")
    model = MODELS.get(provider)
    first = await run(engine, provider, prompt="remember 42", session_id=session.id, model=model)
    second = await run(engine, provider, prompt="what number?", session_id=session.id, model=model)
    assert first.state is JobState.COMPLETED, first.error
    assert second.state is JobState.COMPLETED, second.error
    assert first.result is not None and second.result is not None
    assert second.result["session_id"] == first.result["session_id"]
    assert second.result["working_dir"] == first.result["working_dir"]
    # The upstream saw the earlier turn again: the CLI really resumed, history and all.
    before = int(MSGS.search(first.result["text"]).group(1))  # type: ignore[union-attr]
    after = int(MSGS.search(second.result["text"]).group(1))  # type: ignore[union-attr]
    assert after > before
    # Each turn reports its own usage, even where the CLI reports conversation totals.
    assert usage is not None and usage_of(second) == usage
    stored = await engine.sessions.get("local", session.id)
    assert stored.provider_session_id == first.result["session_id"]


# Upstream failures. Copilot and OpenCode retry server errors and cut streams on their own for
# 16-70 s with no setting to stop them, so for those two the 5xx and cut cases are left out;
# their 429 carries a short retry-after, which both honour, to keep their six tries quick.
FAILURES = [
    (provider, reply, code)
    for provider in EXPECTED
    for reply, code in [
        (Reply.error(401), "auth_required"),
        (Reply.error(429, retry_after_s=0.01), "rate_limited"),
        (Reply.error(500), "provider_error"),
        (Reply.cut(), "provider_error"),
    ]
    if not (provider in ("copilot", "opencode") and (reply.kind == "cut" or reply.status == 500))
]


@pytest.mark.parametrize(
    ("provider", "reply", "code"), FAILURES, ids=lambda v: getattr(v, "kind", v)
)
async def test_upstream_failures_become_structured_errors(
    provider: str, reply: Reply, code: str, engine: Engine, upstream: ScriptedUpstream
) -> None:
    find_cli(EXPECTED[provider][0])
    upstream.default = reply
    view = await run(engine, provider, prompt="hello", model=MODELS.get(provider))
    assert view.state is JobState.FAILED
    assert view.error is not None and view.error["code"] == code, view.error
    assert "Traceback" not in view.error["message"]


async def test_anthropic_overload_is_a_retryable_provider_error(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.error(529)
    view = await run(engine, "claude", prompt="hello")
    assert view.error is not None
    assert (view.error["code"], view.error["retryable"]) == ("provider_error", True)


async def test_codex_forks_a_conversation_headless(engine: Engine) -> None:
    """`codex exec fork ID` (Codex 0.169): the fork carries the parent's history under a new
    thread id, the parent is left as it was, and the fork's turn is counted on its own though
    codex reports the thread's totals (the parent's turns included)."""
    find_cli("codex")
    model = MODELS["codex"]
    first = await run(engine, "codex", prompt="remember 42", model=model)
    assert first.state is JobState.COMPLETED, first.error
    assert first.result is not None
    parent = first.result["session_id"]
    fork = await run(engine, "codex", prompt="what number?", session_id=parent, fork=True)
    assert fork.state is JobState.COMPLETED, fork.error
    assert fork.result is not None
    assert fork.result["session_id"] not in (None, parent)
    before = int(MSGS.search(first.result["text"]).group(1))  # type: ignore[union-attr]
    after = int(MSGS.search(fork.result["text"]).group(1))  # type: ignore[union-attr]
    assert after > before  # the fork's model call carried the parent's turn
    assert usage_of(fork) == EXPECTED["codex"][1]
    again = await run(engine, "codex", prompt="and now?", session_id=parent, model=model)
    assert again.state is JobState.COMPLETED, again.error
    assert again.result is not None and again.result["session_id"] == parent


async def test_grok_forks_and_continues_its_sessions(engine: Engine) -> None:
    """xAI's Grok CLI: `--resume ID --fork-session` carries the parent's history under a new
    session id; `--continue` takes the latest conversation in the directory."""
    find_cli("grok")
    first = await run(engine, "grok", prompt="remember 42")
    assert first.state is JobState.COMPLETED, first.error
    assert first.result is not None
    parent, where = first.result["session_id"], first.result["working_dir"]
    fork = await run(engine, "grok", prompt="fork it", session_id=parent, fork=True)
    assert fork.state is JobState.COMPLETED, fork.error
    assert fork.result is not None and fork.result["session_id"] not in (None, parent)
    assert int(MSGS.search(fork.result["text"]).group(1)) > 3  # type: ignore[union-attr]
    assert usage_of(fork) == EXPECTED["grok"][1]
    latest = await run(engine, "grok", prompt="and now?", resume_latest=True, working_dir=where)
    assert latest.state is JobState.COMPLETED, latest.error
    assert latest.result is not None and latest.result["session_id"] in (
        parent,
        fork.result["session_id"],
    )


async def test_grok_permission_modes_hold_its_edits(
    engine: Engine, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """What each permission mode lets the real grok do with a model that writes a file: in
    `default` the call that would ask ends the turn (named `approval_denied`), `plan` denies
    it and the model is told, `acceptEdits` writes it (grok's own flag applies neither)."""
    find_cli("grok")
    work = tmp_path / "work"
    work.mkdir()
    target = work / "made.txt"

    def edit() -> Reply:
        return Reply.tool_call("write", {"file_path": str(target), "content": "x"})

    upstream.script_when_offered("write", edit())
    asked = await run(engine, "grok", prompt="write it", working_dir=str(work))
    assert asked.error is not None and asked.error["code"] == "approval_denied", asked.error
    assert not target.exists()
    upstream.script_when_offered("write", edit(), Reply.ok("DONE", verbatim=True))
    planned = await run(
        engine, "grok", prompt="write it", working_dir=str(work), permission_mode="plan"
    )
    assert planned.state is JobState.COMPLETED, planned.error
    assert not target.exists()
    # grok asks for a session title on the Responses API beside each turn, in either order:
    # the turn that was told is the last chat request.
    turns = [r for r in upstream.llm_requests if r.path == "/v1/chat/completions"]
    told = [m for m in turns[-1].body["messages"] if m.get("role") == "tool"]
    assert "Denied by permission policy" in str(told[-1]["content"])
    upstream.script_when_offered("write", edit(), Reply.ok("DONE", verbatim=True))
    edited = await run(
        engine, "grok", prompt="write it", working_dir=str(work), permission_mode="acceptEdits"
    )
    assert edited.state is JobState.COMPLETED, edited.error
    assert target.read_text() == "x"
