"""The remote-power rule as a pure function: grants, refusals and what they name."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.remote_power import runs_commands, unspecific_command
from llmgw_desktop.engine.errors import ApprovalDenied
from llmgw_desktop.engine.providers.confinement import check_argv
from llmgw_desktop.engine.workspaces.remote_power import Grant, confine


def grant(level: str = "edit", tools: tuple[str, ...] = (), configured: bool = True) -> Grant:
    return Grant(level, frozenset(tools), "web", configured)


def ask(g: Grant, **kw: Any) -> Any:
    base: dict[str, Any] = {
        "provider": "claude",
        "permission_mode": "default",
        "full_auto": False,
        "allowed_tools": (),
    }
    return confine(g, **(base | kw))


@pytest.mark.parametrize(
    ("level", "kw", "param", "setting"),
    [
        ("edit", {"allowed_tools": ("Bash",)}, "allowedTools", "remote_allowed_tools"),
        ("edit", {"allowed_tools": ("Read(/**)",)}, "allowedTools", "remote_allowed_tools"),
        ("edit", {"permission_mode": "bypassPermissions"}, "permissionMode", "remote_level"),
        ("edit", {"full_auto": True}, "fullAuto", "remote_level"),
        ("edit", {"provider": "codex"}, "provider", "remote_level"),  # no rung below bypass
        ("edit", {"mcp_servers": ("github",)}, "mcpServers", "remote_mcp_servers"),
    ],
)
def test_refusals_name_the_field_the_value_and_the_setting(
    level: str, kw: dict[str, Any], param: str, setting: str
) -> None:
    with pytest.raises(ApprovalDenied) as caught:
        ask(grant(level), **kw)
    error = caught.value
    assert error.code == "remote_power_refused"
    assert error.details["param"] == param
    assert error.details["setting"] == f"workspaces.registry.web.{setting}"
    assert error.details["setting"] in error.message


def test_the_default_level_allows_edits_but_not_commands() -> None:
    assert ask(grant(), permission_mode="acceptEdits").confined
    with pytest.raises(ApprovalDenied, match="read-only"):
        ask(grant("read-only"), permission_mode="acceptEdits")


def test_a_listed_command_needs_the_commands_level() -> None:
    with pytest.raises(ApprovalDenied) as caught:
        ask(grant(tools=("Bash(npm test)",)), allowed_tools=("Bash(npm test)",))
    assert caught.value.details["needs"] == "commands"
    granted = ask(grant("commands", ("Bash(npm test)",)), allowed_tools=("Bash(npm test)",))
    assert granted.confined
    with pytest.raises(ApprovalDenied):  # only the exact string
        ask(grant("commands", ("Bash(npm test)",)), allowed_tools=("Bash(npm test; id)",))


def test_the_commands_level_keeps_files_read_only() -> None:
    # Editing what an allowed command reads (package.json scripts) and running it is a shell.
    commands = grant("commands", ("Bash(npm test)",))
    for asked, needs in (
        ({"permission_mode": "acceptEdits"}, "edit"),
        ({"full_auto": True}, "bypass"),
    ):
        with pytest.raises(ApprovalDenied) as caught:
            ask(commands, allowed_tools=("Bash(npm test)",), **asked)
        assert caught.value.details["needs"] == needs
        assert "bypass" in caught.value.message
    assert ask(commands).clamp("acceptEdits")[0] == "default"  # the gate's rung too


@pytest.mark.parametrize(
    ("tool", "unspecific"),
    [
        ("Bash", True),
        ("Bash()", True),
        ("Bash(*)", True),
        ("Bash(npm test:*)", True),
        ("shell(git *)", True),
        ("*", True),
        ("Bash(npm test)", False),
        ("run_shell_command(make check)", False),
        ("Read(/**)", False),  # not a command tool
    ],
)
def test_a_command_grant_must_name_one_exact_command(tool: str, unspecific: bool) -> None:
    assert unspecific_command(tool) is unspecific


def test_bypass_runs_as_asked_and_the_global_default_is_named_outside_a_table() -> None:
    assert not ask(grant("bypass"), permission_mode="bypassPermissions").confined
    with pytest.raises(ApprovalDenied) as caught:
        ask(Grant("edit", frozenset(), "made-by-tool", False), permission_mode="bypassPermissions")
    assert caught.value.details["setting"] == "workspaces.remote_level"
    assert "own table" in caught.value.message


def test_the_gates_accept_edits_rung_is_clamped_to_read_only() -> None:
    confinement = ask(grant("read-only"))
    assert confinement.clamp("acceptEdits")[0] == "default"
    assert confinement.clamp("plan") == ("plan", None)


@pytest.mark.parametrize(
    ("tool", "runs"),
    [
        ("Bash", True),
        ("Bash(npm test)", True),
        ("shell(git:*)", True),
        ("*", True),
        ("run_shell_command(ls)", True),
        ("Read", False),
        ("Edit", False),
        ("write", False),
    ],
)
def test_command_tools_are_recognised_in_every_spelling(tool: str, runs: bool) -> None:
    assert runs_commands(tool) is runs


def test_the_last_look_refuses_a_guard_lifting_flag() -> None:
    with pytest.raises(ApprovalDenied, match="--dangerously-skip-permissions"):
        check_argv("claude", ["claude", "-p", "--dangerously-skip-permissions"])
    check_argv("copilot", ["copilot", "--prompt=--yolo please"])  # a prompt is not a flag


def test_a_remote_caller_hands_a_cli_only_the_mcp_servers_its_workspace_grants() -> None:
    granted = Grant("read-only", frozenset(), "web", True, mcp_servers=frozenset({"docs"}))
    ask(granted, mcp_servers=("docs",))
    with pytest.raises(ApprovalDenied) as caught:
        ask(granted, mcp_servers=("docs", "shell"))
    assert caught.value.details["value"] == "shell"
    assert "workspaces.registry.web.remote_mcp_servers" in caught.value.message
