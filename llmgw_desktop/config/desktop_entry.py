"""What the OS needs to know to start the app: its command line and its freedesktop entries.

Menus, autostart and shortcuts all start the same program, so the command is worked out once
here: the bundle's own windowed executable when frozen by PyInstaller (never the console twin
that may be running this code), else this interpreter with `-m llmgw_desktop`, which works
from a virtualenv without it being activated or on PATH. No Qt and no engine: the installers'
helpers and the CLI import this.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "APP_ID",
    "HIDDEN_FLAG",
    "app_command",
    "desktop_entry",
    "exec_line",
    "gui_executable",
]

APP_ID = "llmgw-desktop"  # the .desktop file's name, the icon's name, the Run value's name
HIDDEN_FLAG = "--hidden"  # start in the tray only (what a login start uses)
# The windowed executable's name in a PyInstaller bundle (build.spec names both).
GUI_EXE = {"win32": "llmgw-desktop.exe"}
# Its console twin, for the subcommands an editor or a shell runs (Windows only: elsewhere the
# one executable has a console).
CLI_EXE = {"win32": "llmgw-desktop-cli.exe"}
# Characters the Desktop Entry spec says make an Exec argument need quoting.
_RESERVED = set(" \t\n\r\"'\\><~|&;$*?#()`")


def _bundled(
    names: Mapping[str, str], executable: str, frozen: bool | None, platform: str
) -> Path | None:
    """The bundle's executable called `names[platform]` (else `llmgw-desktop`) when running
    frozen by PyInstaller, else None."""
    if not (getattr(sys, "frozen", False) if frozen is None else frozen):
        return None
    return Path(executable).resolve().parent / names.get(platform, "llmgw-desktop")


def gui_executable(
    executable: str = sys.executable,
    *,
    frozen: bool | None = None,
    platform: str = sys.platform,
) -> Path | None:
    """The bundle's windowed executable when running frozen, else None."""
    return _bundled(GUI_EXE, executable, frozen, platform)


def cli_executable(
    executable: str = sys.executable,
    *,
    frozen: bool | None = None,
    platform: str = sys.platform,
) -> Path | None:
    """The bundle's console executable when running frozen (what an editor launches for
    `mcp`: a windowed program has no stdin or stdout on Windows), else None."""
    return _bundled(CLI_EXE, executable, frozen, platform)


def app_command(
    *extra: str,
    executable: str = sys.executable,
    frozen: bool | None = None,
    platform: str = sys.platform,
) -> list[str]:
    """The absolute command line that starts the desktop app, then `extra`."""
    gui = gui_executable(executable, frozen=frozen, platform=platform)
    if gui is not None:
        return [str(gui), *extra]
    return [str(Path(executable).absolute()), "-m", "llmgw_desktop", *extra]


def exec_line(argv: Sequence[str]) -> str:
    """`argv` as a Desktop Entry `Exec` value (quoted per the spec, `%` doubled)."""
    words = []
    for arg in argv:
        if arg and not (_RESERVED & set(arg)):
            words.append(arg.replace("%", "%%"))
            continue
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        words.append('"' + inner.replace("%", "%%") + '"')
    # The file format's own escapes apply on top of the Exec quoting: a backslash is doubled,
    # and a newline (or CR, tab) is written as its escape; raw, it would end the line and let a
    # path with a newline in it start a key of its own (`Hidden=true`, a second `Exec`).
    value = " ".join(words).replace("\\", "\\\\")
    return value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def desktop_entry(argv: Sequence[str], *, extra: Mapping[str, str] | None = None) -> str:
    """A freedesktop `.desktop` file that starts `argv`."""
    fields = {
        "Type": "Application",
        "Name": "llmgw-desktop",
        "GenericName": "LLM gateway",
        "Comment": "Local gateway between your coding tools and every LLM",
        "Exec": exec_line(argv),
        "Icon": APP_ID,
        "Terminal": "false",
        "Categories": "Development;Network;",
        "StartupNotify": "false",
        "StartupWMClass": APP_ID,
        **(extra or {}),
    }
    return "[Desktop Entry]\n" + "".join(f"{k}={v}\n" for k, v in fields.items())
