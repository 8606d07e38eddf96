"""The remote-power rule as a pure function: grants, refusals and what they name."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.errors import ApprovalDenied
from llmgw_desktop.engine.workspaces.remote_power import Grant, check_argv, confine, runs_commands


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
    ("kw", "param", "setting"),
    [
        ({"allowed_tools": ("Bash",)}, "allowedTools", "remote_allowed_tools"),
        ({"allowed_tools": ("Read(/**)",)}, "allowedTools", "remote_allowed_tools"),
        ({"permission_mode": "bypassPermissions"}, "permissionMode", "remote_level"),
        ({"full_auto": True}, "fullAuto", "remote_level"),
        ({"provider": "grok"}, "provider", "remote_level"),
    ],
)
def test_refusals_name_the_field_the_value_and_the_setting(
    kw: dict[str, Any], param: str, setting: str
) -> None:
    with pytest.raises(ApprovalDenied) as caught:
        ask(grant(), **kw)
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
