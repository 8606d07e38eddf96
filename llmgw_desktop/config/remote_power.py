"""The remote-power levels a workspace may grant, and which tool names run commands.

What each level lets a remote caller do, and how a call is held to it, is the engine's
(`engine/workspaces/remote_power.py`); the settings checks need only the words and the test
of a command tool, so they live here.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_LEVEL", "GLOBAL_LEVELS", "LEVELS", "runs_commands", "unspecific_command"]

LEVELS = ("read-only", "edit", "commands", "bypass")
DEFAULT_LEVEL = "edit"
# The global default may not be `bypass`: a full bypass is granted one workspace at a time.
GLOBAL_LEVELS = LEVELS[:-1]
# Tools that run commands, in any CLI's spelling, with or without an argument pattern.
_COMMAND_TOOL = re.compile(
    r"^(bash|shell|run_shell_command|shelltool|exec_command|local_shell|terminal|computer|\*)"
    r"(\(.*\))?$",
    re.I,
)


def runs_commands(tool: str) -> bool:
    """Whether a pre-approved tool name lets the CLI run commands (Bash, shell, ...)."""
    return bool(_COMMAND_TOOL.match(tool.strip()))


def unspecific_command(tool: str) -> bool:
    """Whether a command tool names no one exact command (`Bash`, `Bash(*)`, `Bash(npm:*)`):
    granted to a remote caller, that is any command with any arguments."""
    match = _COMMAND_TOOL.match(tool.strip())
    if match is None:
        return False
    inner = (match.group(2) or "")[1:-1].strip()
    return not inner or "*" in inner or match.group(1) == "*"
