"""Start at login: an XDG autostart entry, the Windows `Run` value, or a macOS LaunchAgent.

Each OS keeps the switch in its own place, and that place is the truth: `is_enabled()` reads
it every time, so a switch flipped by the installer, the tray or the Settings page (or removed
by hand) shows the same everywhere. The app started this way gets `--hidden`: at login it
belongs in the tray, not in the person's face. The OS calls sit behind small seams (a
directory, a registry) so each writer is tested on what it would write.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from llmgw_desktop.config.desktop_entry import APP_ID, HIDDEN_FLAG, app_command, desktop_entry
from llmgw_desktop.config.paths import write_private_atomically
from llmgw_desktop.ui.login_switch import Autostart  # the switch the tray and Settings flip

__all__ = [
    "LAUNCH_AGENT_LABEL",
    "RUN_KEY",
    "Autostart",
    "LaunchAgent",
    "Registry",
    "WindowsRun",
    "XdgAutostart",
    "autostart_for_platform",
    "login_command",
]

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
LAUNCH_AGENT_LABEL = "io.github.llmgw-desktop"


def login_command() -> list[str]:
    """The command a login start runs: the app, hidden in the tray."""
    return app_command(HIDDEN_FLAG)


class XdgAutostart:
    """`$XDG_CONFIG_HOME/autostart/llmgw-desktop.desktop` (freedesktop autostart spec)."""

    def __init__(self, config_home: Path, command: Sequence[str]) -> None:
        self.path = config_home / "autostart" / f"{APP_ID}.desktop"
        self.where = str(self.path)
        self._command = list(command)

    def text(self) -> str:
        """The entry as written."""
        return desktop_entry(self._command, extra={"X-GNOME-Autostart-enabled": "true"})

    def enable(self) -> None:
        # The folder, shared with other programs' entries, keeps the mode folders get here.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private_atomically(self.path, self.text())

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return False
        # The spec's own ways to switch an entry off while keeping the file.
        off = {"Hidden=true", "X-GNOME-Autostart-enabled=false"}
        return not off & {line.strip() for line in lines}


class Registry(Protocol):
    """The values under one registry key (HKCU\\...\\Run on Windows)."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WindowsRun:
    """A `Run` value under HKCU: started at this user's logon, no admin needed."""

    def __init__(self, registry: Registry, command: Sequence[str]) -> None:
        self._registry = registry
        self.where = f"HKEY_CURRENT_USER\\{RUN_KEY}\\{APP_ID}"
        self.value = subprocess.list2cmdline(list(command))

    def enable(self) -> None:
        self._registry.set(APP_ID, self.value)

    def disable(self) -> None:
        self._registry.delete(APP_ID)

    def is_enabled(self) -> bool:
        # Any command under our name counts: the installer writes the same value.
        return bool(self._registry.get(APP_ID))


class LaunchAgent:
    """`~/Library/LaunchAgents/<label>.plist`: launchd loads it at the next login."""

    def __init__(self, home: Path, command: Sequence[str]) -> None:
        self.path = home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        self.where = str(self.path)
        self._command = list(command)

    def text(self) -> bytes:
        """The plist as written."""
        return plistlib.dumps(
            {
                "Label": LAUNCH_AGENT_LABEL,
                "ProgramArguments": self._command,
                "RunAtLoad": True,
                # Started once per login; quitting from the tray must not bring it back.
                "KeepAlive": False,
                "ProcessType": "Interactive",
                "LimitLoadToSessionType": "Aqua",
            }
        )

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private_atomically(self.path, self.text())

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        return self.path.is_file()


class _WinregRun:
    """The real HKCU Run key (imported only on Windows)."""

    def get(self, name: str) -> str | None:
        if sys.platform != "win32":  # also keeps mypy off winreg's Windows-only stubs
            raise OSError("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        if sys.platform != "win32":  # also keeps mypy off winreg's Windows-only stubs
            raise OSError("the Windows registry exists only on Windows")
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        if sys.platform != "win32":  # also keeps mypy off winreg's Windows-only stubs
            raise OSError("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


def autostart_for_platform(
    platform: str = sys.platform,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    registry: Callable[[], Registry] = _WinregRun,
    command: Sequence[str] | None = None,
) -> Autostart:
    """The start-at-login switch of this OS for the running app."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    argv = login_command() if command is None else list(command)
    if platform == "win32":
        return WindowsRun(registry(), argv)
    if platform == "darwin":
        return LaunchAgent(home, argv)
    config_home = env.get("XDG_CONFIG_HOME") or ""
    # The spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
    base = Path(config_home) if Path(config_home).is_absolute() else home / ".config"
    return XdgAutostart(base, argv)
