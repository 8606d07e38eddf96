"""Start at login on each OS: the file or value each writer leaves, and that it really starts.

Linux is exercised for real (a temporary XDG_CONFIG_HOME, the entry's own Exec run); the
Windows and macOS writers are checked on what they would write, their OS calls injected.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmgw_desktop import __version__
from llmgw_desktop.config.desktop_entry import app_command, desktop_entry, exec_line
from llmgw_desktop.shell.autostart import (
    LAUNCH_AGENT_LABEL,
    LaunchAgent,
    WindowsRun,
    XdgAutostart,
    autostart_for_platform,
    login_command,
)


class FakeRegistry:
    """The Run key as a dict: what winreg would hold."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def _exec_argv(entry: str) -> list[str]:
    """Split an Exec value as a desktop does: the file's escapes, then the spec's quoting."""
    line = next(x for x in entry.splitlines() if x.startswith("Exec="))[len("Exec=") :]
    line = line.replace("\\\\", "\\")
    words: list[str] = []
    word, quoted, i = "", False, 0
    while i < len(line):
        c = line[i]
        if quoted and c == "\\":
            word, i = word + line[i + 1], i + 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == " " and not quoted:
            words.append(word)
            word = ""
        else:
            word += c
        i += 1
    words.append(word)
    return [w.replace("%%", "%") for w in words]


def test_login_command_starts_this_installation_hidden() -> None:
    command = login_command()
    assert command == [str(Path(sys.executable).absolute()), "-m", "llmgw_desktop", "--hidden"]


def test_frozen_login_command_is_the_windowed_exe_even_from_the_console_one() -> None:
    cli = r"C:\Users\ann\AppData\Local\Programs\llmgw-desktop\llmgw-desktop-cli.exe"
    command = app_command("--hidden", executable=cli, frozen=True, platform="win32")
    assert Path(command[0]).name == "llmgw-desktop.exe"
    assert command[1:] == ["--hidden"]
    linux = app_command(
        executable="/opt/llmgw-desktop/llmgw-desktop", frozen=True, platform="linux"
    )
    assert linux == ["/opt/llmgw-desktop/llmgw-desktop"]


def test_xdg_entry_is_written_read_and_removed(tmp_path: Path) -> None:
    login = autostart_for_platform(
        "linux", environ={"XDG_CONFIG_HOME": str(tmp_path / "config")}, home=tmp_path
    )
    assert isinstance(login, XdgAutostart)
    assert login.path == tmp_path / "config" / "autostart" / "llmgw-desktop.desktop"
    assert not login.is_enabled()
    login.enable()
    assert login.is_enabled()
    text = login.path.read_text(encoding="utf-8")
    assert "X-GNOME-Autostart-enabled=true" in text and "Icon=llmgw-desktop" in text
    assert _exec_argv(text) == login_command()
    login.disable()
    assert not login.path.exists() and not login.is_enabled()
    login.disable()  # already off: nothing to do, no error


def test_xdg_entry_switched_off_by_the_desktop_counts_as_off(tmp_path: Path) -> None:
    login = XdgAutostart(tmp_path, ["/x/llmgw-desktop", "--hidden"])
    login.enable()
    login.path.write_text(login.path.read_text() + "Hidden=true\n")
    assert not login.is_enabled()


@pytest.mark.parametrize("system", ["linux", "darwin"])
def test_an_entry_is_on_the_disk_before_enable_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    """Written beside, flushed, renamed over, and the rename flushed: a power cut right after
    the switch shows on leaves the whole entry or none, never an empty file the OS would run
    (or skip) at the next login."""
    flushed: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(fd), real_fsync(fd))[1])
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    login = autostart_for_platform(system, environ=env, home=tmp_path, command=["/bin/app"])
    assert isinstance(login, XdgAutostart | LaunchAgent)
    login.enable()
    assert len(flushed) == 2  # the entry, then its folder's new name for it
    assert login.is_enabled() and os.listdir(login.path.parent) == [login.path.name]
    assert login.path.stat().st_mode & 0o777 == 0o600


def test_relative_xdg_config_home_is_ignored(tmp_path: Path) -> None:
    login = autostart_for_platform("linux", environ={"XDG_CONFIG_HOME": "rel"}, home=tmp_path)
    assert isinstance(login, XdgAutostart)
    assert login.path == tmp_path / ".config" / "autostart" / "llmgw-desktop.desktop"


def test_exec_line_quotes_spaces_dollars_and_percent() -> None:
    argv = ["/home/ann/my apps/py$thon", "-m", "llmgw_desktop", "100%"]
    line = exec_line(argv)
    assert line == '"/home/ann/my apps/py\\\\$thon" -m llmgw_desktop 100%%'
    assert _exec_argv(f"Exec={line}") == argv


def test_xdg_entry_really_starts_this_installation(tmp_path: Path) -> None:
    login = XdgAutostart(tmp_path, app_command("--version"))
    login.enable()
    argv = _exec_argv(login.path.read_text(encoding="utf-8"))
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={}, stdin=subprocess.DEVNULL
    )  # no PATH at all: the entry must not rely on one
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"llmgw-desktop {__version__}"


def test_windows_run_value_is_the_quoted_command() -> None:
    registry = FakeRegistry()
    exe = r"C:\Users\Ann Lee\AppData\Local\Programs\llmgw-desktop\llmgw-desktop.exe"
    login = autostart_for_platform("win32", registry=lambda: registry, command=[exe, "--hidden"])
    assert isinstance(login, WindowsRun)
    assert not login.is_enabled()
    login.enable()
    assert registry.values == {"llmgw-desktop": f'"{exe}" --hidden'}
    assert login.is_enabled()
    assert login.where.endswith(r"Software\Microsoft\Windows\CurrentVersion\Run\llmgw-desktop")
    login.disable()
    assert registry.values == {} and not login.is_enabled()


def test_windows_value_written_by_the_installer_counts_as_on() -> None:
    registry = FakeRegistry()
    registry.set("llmgw-desktop", r'"D:\apps\llmgw-desktop.exe" --hidden')
    assert WindowsRun(registry, ["elsewhere.exe"]).is_enabled()


def test_macos_launch_agent_plist(tmp_path: Path) -> None:
    app = "/Applications/llmgw-desktop.app/Contents/MacOS/llmgw-desktop"
    login = autostart_for_platform("darwin", home=tmp_path, command=[app, "--hidden"])
    assert isinstance(login, LaunchAgent)
    assert not login.is_enabled()
    login.enable()
    path = tmp_path / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    assert login.path == path and login.is_enabled()
    plist = plistlib.loads(path.read_bytes())
    assert plist == {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": [app, "--hidden"],
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    login.disable()
    assert not path.exists() and not login.is_enabled()


def _argv_recorder(directory: Path, out: Path) -> Path:
    """A program in `directory` that writes each argument it gets to `out`."""
    directory.mkdir(parents=True)
    program = directory / "prog"
    program.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n--\\n" "$a"; done > "{out}"\n')
    program.chmod(0o755)
    return program


def test_a_newline_in_the_path_cannot_add_a_line_to_the_entry(tmp_path: Path) -> None:
    # A crafted directory name: raw, its newline ended the Exec line and started a key.
    program = _argv_recorder(tmp_path / "a b\nHidden=true\tc\rd", tmp_path / "out")
    login = XdgAutostart(tmp_path / "config", [str(program), "x\ny", "--hidden"])
    login.enable()
    lines = login.path.read_text(encoding="utf-8").split("\n")
    command = exec_line([str(program), "x\ny", "--hidden"])
    assert [line for line in lines if line.startswith("Exec=")] == [f"Exec={command}"]
    assert not any(line.startswith("Hidden") for line in lines)
    assert login.is_enabled()


@pytest.mark.skipif(shutil.which("gio") is None, reason="needs GLib's gio to launch an entry")
@pytest.mark.parametrize(
    "name", ["sp ace", "new\nline", "d$q\"b`s\\'", "tab\tcr\r", "Hidden=true\nExec=/bin/false"]
)
def test_glib_launches_the_entry_with_exactly_its_arguments(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    program = _argv_recorder(tmp_path / name, out)
    args = ["--hidden", "100%", "a\nb", "~x", "-x;y&&z", "%f", "q\"'`$\\"]
    entry = tmp_path / "x.desktop"
    entry.write_text(desktop_entry([str(program), *args]), encoding="utf-8")
    launched = subprocess.run(
        ["gio", "launch", str(entry)], capture_output=True, text=True, timeout=30, check=False
    )
    assert launched.returncode == 0, launched.stderr
    deadline = time.monotonic() + 10
    while not out.exists() or not out.read_text().endswith("\n--\n"):
        assert time.monotonic() < deadline, "the entry's program never ran"
        time.sleep(0.05)
    assert out.read_text().split("\n--\n")[:-1] == args
