"""How a call picks its conversation and directory, and what it refuses before running."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import (
    ApprovalDenied,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
)
from llmgw_desktop.engine.providers.base import SessionChoice
from llmgw_desktop.engine.tokens.usage import Usage


@pytest.fixture
async def engine(loaded: LoadedSettings) -> AsyncIterator[Engine]:
    e = Engine(loaded.settings)
    await e.start()
    yield e
    await e.stop()


async def test_plain_call_starts_a_new_conversation_in_a_fresh_dir(engine: Engine) -> None:
    resolved = await engine.calls.resolve("claude", CallParams(prompt="x"), "local")
    assert resolved.choice == SessionChoice()
    assert resolved.working_dir is None and resolved.gateway_session_id is None


async def test_gateway_session_learns_the_cli_id_then_resumes_it_where_it_ran(
    engine: Engine, tmp_path: Path
) -> None:
    session = await engine.sessions.create("local", "claude", title="review")
    first = await engine.calls.resolve(
        "claude", CallParams(prompt="x", session_id=session.id), "local"
    )
    assert first.choice == SessionChoice() and first.gateway_session_id == session.id
    # What a finished call in the session writes in its job's final transaction.
    finished_turn = engine.sessions.turn_writer(
        "local",
        "claude",
        "cli-1",
        working_dir=str(tmp_path),
        owns_dir=True,
        usage_totals=Usage(),
        gateway_session_id=session.id,
    )
    await engine.store.run(finished_turn)
    second = await engine.calls.resolve(
        "claude", CallParams(prompt="y", session_id=session.id), "local"
    )
    assert second.choice == SessionChoice(resume_id="cli-1")
    assert second.working_dir == tmp_path


async def test_active_session_continues_unless_a_new_one_is_asked_for(engine: Engine) -> None:
    session = await engine.sessions.create("local", "codex", set_active=True)
    auto = await engine.calls.resolve("codex", CallParams(prompt="x"), "local")
    assert auto.gateway_session_id == session.id
    fresh = await engine.calls.resolve(
        "codex", CallParams(prompt="x", create_new_session=True), "local"
    )
    assert fresh.gateway_session_id is None


async def test_cli_session_id_resumes_in_its_recorded_directory(
    engine: Engine, tmp_path: Path
) -> None:
    await engine.sessions.provider_sessions.record(
        "local", "gemini", "g-1", working_dir=str(tmp_path), owns_dir=False, usage_totals=Usage()
    )
    resolved = await engine.calls.resolve(
        "gemini", CallParams(prompt="x", session_id="g-1"), "local"
    )
    assert resolved.choice.resume_id == "g-1" and resolved.working_dir == tmp_path


async def test_resume_latest_picks_this_callers_last_conversation(
    engine: Engine, tmp_path: Path
) -> None:
    await engine.sessions.provider_sessions.record(
        "local", "claude", "c-mine", working_dir=str(tmp_path), owns_dir=True, usage_totals=Usage()
    )
    await engine.sessions.provider_sessions.record(
        "alice", "claude", "c-alice", working_dir=str(tmp_path), owns_dir=True, usage_totals=Usage()
    )
    resolved = await engine.calls.resolve(
        "claude", CallParams(prompt="x", resume_latest=True), "local"
    )
    assert resolved.choice.resume_id == "c-mine"
    with pytest.raises(NotFound):
        await engine.calls.resolve("codex", CallParams(prompt="x", resume_latest=True), "local")


async def test_session_of_another_provider_or_principal_is_refused(engine: Engine) -> None:
    session = await engine.sessions.create("local", "claude")
    with pytest.raises(InvalidRequest) as caught:
        await engine.calls.resolve("codex", CallParams(prompt="x", session_id=session.id), "local")
    assert caught.value.code == "session_provider_mismatch"
    with pytest.raises(NotFound):
        await engine.calls.resolve("claude", CallParams(prompt="x", session_id=session.id), "bob")


async def test_a_remote_caller_continues_only_conversations_run_for_them(
    engine: Engine, tmp_path: Path
) -> None:
    await engine.sessions.provider_sessions.record(
        "user:alice",
        "claude",
        "cli-alice",
        working_dir=str(tmp_path),
        owns_dir=False,
        usage_totals=Usage(),
    )
    mine = await engine.calls.resolve(
        "claude", CallParams(prompt="x", session_id="cli-alice"), "user:alice"
    )
    assert mine.choice == SessionChoice(resume_id="cli-alice")
    # Bob naming alice's CLI id (the CLI would find it in that directory) or one the gateway
    # never saw gets the same not-found as any unknown id.
    messages = set()
    for session_id in ("cli-alice", "cli-started-elsewhere"):
        with pytest.raises(NotFound) as refused:
            await engine.calls.resolve(
                "claude",
                CallParams(prompt="x", session_id=session_id, working_dir=str(tmp_path)),
                "user:bob",
            )
        assert refused.value.code == "session_not_found"
        messages.add(str(refused.value).replace(session_id, "<id>"))
    assert len(messages) == 1, messages
    # The local user may continue a conversation started outside the gateway.
    local = await engine.calls.resolve(
        "claude", CallParams(prompt="x", session_id="cli-started-elsewhere"), "local"
    )
    assert local.choice == SessionChoice(resume_id="cli-started-elsewhere")


async def test_resume_latest_falls_back_to_the_cli_only_for_the_local_user(
    engine: Engine, tmp_path: Path
) -> None:
    params = CallParams(prompt="x", resume_latest=True, working_dir=str(tmp_path))
    local = await engine.calls.resolve("claude", params, "local")
    assert local.choice == SessionChoice(resume_latest=True)
    with pytest.raises(NotFound):
        await engine.calls.resolve("claude", params, "user:bob")


async def test_grok_continues_its_own_conversations(engine: Engine) -> None:
    # xAI's Grok CLI keeps sessions: with none run yet, there is nothing to continue.
    with pytest.raises(NotFound) as caught:
        await engine.calls.resolve("grok", CallParams(prompt="x", resume_latest=True), "local")
    assert caught.value.code == "session_not_found"


async def test_disabled_provider_refuses_before_anything_runs(engine: Engine) -> None:
    engine.providers.set_enabled(OPERATOR, "codex", False)
    with pytest.raises(ProviderUnavailable) as caught:
        await engine.calls.submit("codex", CallParams(prompt="x"), "local")
    assert caught.value.code == "provider_disabled"
    assert await engine.jobs.list_jobs("local") == []


async def test_missing_cli_says_how_to_install_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProviderUnavailable) as caught:
        await engine.calls.submit("opencode", CallParams(prompt="x"), "local")
    assert caught.value.code == "not_installed"
    assert caught.value.details["install_command"] == "npm install -g opencode-ai"


async def test_bypass_is_refused_unless_the_operator_allows_it(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    fake_cli = tmp_path / "claude"
    fake_cli.write_text("#!/bin/sh\nexit 0\n")
    fake_cli.chmod(0o755)
    settings = loaded.settings.with_values({"providers.cli_path": [str(tmp_path)]})
    engine = Engine(settings)
    await engine.start()
    try:
        with pytest.raises(ApprovalDenied) as caught:
            await engine.calls.submit(
                "claude", CallParams(prompt="x", permission_mode="bypassPermissions"), "local"
            )
        assert "LLM_GATEWAY_APPROVAL_ALLOW_BYPASS" in caught.value.message
        records = await engine.recorder.recent("local")
        assert records[0]["state"] == "denied" and records[0]["error_code"] == "approval_denied"
    finally:
        await engine.stop()
    assert os.access(fake_cli, os.X_OK)


async def test_expired_conversations_drop_only_the_dirs_the_gateway_made(
    engine: Engine, tmp_path: Path
) -> None:
    made = engine.calls.conversation_dirs.make()
    users = tmp_path / "users-repo"
    users.mkdir()
    for sid, directory, owned in (("a", made, True), ("b", users, False)):
        await engine.sessions.provider_sessions.record(
            "local", "claude", sid, working_dir=str(directory), owns_dir=owned, usage_totals=Usage()
        )
    assert await engine.calls.expire_conversations(used_before=float("inf")) == 2
    assert not made.exists()
    assert users.exists()
    assert await engine.sessions.provider_sessions.get("local", "claude", "a") is None


async def test_active_session_belongs_to_the_caller_that_made_it(engine: Engine) -> None:
    session = await engine.sessions.create("local", "codex", caller="claude-code")
    mine = await engine.calls.resolve(
        "codex", CallParams(prompt="x"), "local", caller="claude-code"
    )
    theirs = await engine.calls.resolve("codex", CallParams(prompt="x"), "local", caller="cursor")
    assert mine.gateway_session_id == session.id
    assert theirs.gateway_session_id is None
    # Forgetting the session forgets it as anyone's active one.
    await engine.sessions.delete("local", session.id)
    assert await engine.sessions.active("local", "codex", caller="claude-code") is None
