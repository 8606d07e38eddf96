"""Confined argv per adapter, from the one table: a confined command line never lifts an
agent's guards, and each agent's row says what holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.errors import ApprovalDenied, InvalidRequest
from llmgw_desktop.engine.providers import confinement
from llmgw_desktop.engine.providers.base import ProviderRequest, SessionChoice
from llmgw_desktop.engine.providers.cli_adapters import adapter_for
from llmgw_desktop.engine.providers.confinement import (
    CONFINEMENT,
    UNCONFINED_FLAGS,
    check_argv,
    confined,
    last_look,
)

CONFINABLE = sorted(p for p, row in CONFINEMENT.items() if row.modes is not None and p != "agy")
MODES = ("plan", "default", "acceptEdits")


def prepared(
    provider: str, exe: str = "/bin/cli", **kw: object
) -> tuple[list[str], dict[str, str]]:
    request = ProviderRequest(
        **{"prompt": "hello", "working_dir": Path("/w"), "confined": True, **kw}  # type: ignore[arg-type]
    )
    invocation = adapter_for(provider).prepare(request, exe).invocation
    return list(invocation.argv), dict(invocation.env)


@pytest.mark.parametrize("provider", CONFINABLE)
@pytest.mark.parametrize("mode", MODES)
def test_no_confined_argv_lifts_a_guard(provider: str, mode: str) -> None:
    argv, _ = prepared(provider, permission_mode=mode)
    assert not UNCONFINED_FLAGS.intersection(argv), argv
    check_argv(provider, argv)  # the engine's last look agrees


@pytest.mark.parametrize("mode", MODES)
def test_agy_is_confined_too(mode: str) -> None:
    argv, _ = prepared("gemini", exe="/bin/agy", permission_mode=mode)
    assert "--dangerously-skip-permissions" not in argv and "--mode" in argv


def test_confined_claude_reads_only_the_users_settings() -> None:
    argv, _ = prepared("claude", permission_mode="default")
    assert argv[-4:] == ["--permission-mode", "default", "--setting-sources", "user"]


@pytest.mark.parametrize("session", [SessionChoice(), SessionChoice(resume_id="t-1")])
def test_codex_is_never_run_confined(session: SessionChoice) -> None:
    # Its sandbox reads every file the operator can: no confined run exists to fall back on.
    with pytest.raises(InvalidRequest, match="every file the operator can read"):
        prepared("codex", session=session)


def test_confined_copilot_never_allows_every_tool() -> None:
    argv, _ = prepared("copilot", permission_mode="acceptEdits")
    assert "--allow-all-tools" not in argv and "--deny-tool=shell" in argv
    granted, _ = prepared(
        "copilot", permission_mode="acceptEdits", allowed_tools=("shell(npm test)",)
    )
    # A deny wins over an allow in copilot: a granted command needs the blanket deny gone.
    assert "--deny-tool=shell" not in granted and "--allow-tool=shell(npm test)" in granted


def test_confined_opencode_denies_all_but_reading_and_edits() -> None:
    argv, _ = prepared("opencode", permission_mode="acceptEdits")
    assert "--auto" not in argv
    env = confined("opencode", "acceptEdits").env  # added at the spawn point
    assert env["OPENCODE_DISABLE_PROJECT_CONFIG"] == "1"
    assert env["OPENCODE_PERMISSION"].startswith('{"*":"deny"')
    assert '"edit":"allow"' in env["OPENCODE_PERMISSION"]


def test_confined_vibe_does_not_trust_the_workspace() -> None:
    argv, _ = prepared("mistral", permission_mode="acceptEdits")
    assert "--trust" not in argv and argv[-2:] == ["--agent", "accept-edits"]


def test_confined_grok_runs_in_its_strict_sandbox_with_deny_rules() -> None:
    plan, _ = prepared("grok", permission_mode="plan")
    edits, _ = prepared("grok", permission_mode="acceptEdits")
    for argv in (plan, edits):
        assert argv[argv.index("--sandbox") + 1] == "strict"
        assert "bypassPermissions" not in argv and "--always-approve" not in argv
        assert "Edit(**/.grok/**)" in argv and "Read(**/llmgw-auth-*/**)" in argv
    assert plan[-2:] == ["--deny", "Edit"] and edits[-2:] == ["--allow", "Edit"]
    # Project rules widen it without a trust prompt: such a workspace is refused.
    assert confined("grok", "plan").widening_paths == (
        ".grok",
        ".claude/settings.json",
        ".claude/settings.local.json",
    )


def test_confined_grok_is_refused_where_the_kernel_has_no_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grok runs with no sandbox at all where Landlock is missing (it only logs a warning,
    silent headless): the last look refuses it there. (The kernel here has Landlock, so its
    absence is simulated.)"""
    monkeypatch.setattr(confinement, "kernel_sandbox_missing", lambda: "no Landlock here")
    request = ProviderRequest(prompt="x", working_dir=Path("/w"), confined=True)
    argv, _ = prepared("grok")
    with pytest.raises(ApprovalDenied, match="no Landlock here"):
        last_look("grok", request, argv)
    last_look("claude", request, prepared("claude")[0])  # no kernel sandbox to miss


def test_bypass_is_not_a_confined_mode() -> None:
    with pytest.raises(InvalidRequest):
        prepared("claude", permission_mode="bypassPermissions")


def test_local_argv_is_unchanged_by_confinement() -> None:
    request = ProviderRequest(prompt="hello", allowed_tools=("Bash",))
    argv = adapter_for("claude").prepare(request, "/bin/cli").invocation.argv
    assert "--setting-sources" not in argv and argv[-2:] == ("--allowed-tools", "Bash")
