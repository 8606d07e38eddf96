"""`llmgw-desktop install-desktop`: put the app in this user's menu (freedesktop XDG dirs).

Writes `$XDG_DATA_HOME/applications/llmgw-desktop.desktop`, whose Exec is the absolute path
of this very installation (the bundle's executable, or this interpreter with `-m`), so the
menu works whether or not the command is on PATH, and the icons under
`$XDG_DATA_HOME/icons/hicolor/<size>/apps/`. `--uninstall` removes exactly those files and the
start-at-login entry. Both tell the desktop to re-read its menus when the tools for it exist.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llmgw_desktop.config.desktop_entry import APP_ID, app_command, desktop_entry
from llmgw_desktop.shell.autostart import autostart_for_platform

__all__ = ["ICON_SIZES", "DesktopInstall", "install_desktop_command"]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
REFRESH_TIMEOUT_S = 10.0  # the cache tools are quick; a hung one must not hang the install


@dataclass(frozen=True)
class DesktopInstall:
    """The files the menu entry is made of, under one XDG data home."""

    data_home: Path

    @classmethod
    def for_user(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> DesktopInstall:
        env = os.environ if environ is None else environ
        value = env.get("XDG_DATA_HOME") or ""
        # The spec: a relative path is invalid and must be ignored.
        if Path(value).is_absolute():
            return cls(Path(value))
        return cls((Path.home() if home is None else home) / ".local" / "share")

    @property
    def entry(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    def icon(self, size: int | str) -> Path:
        if size == "scalable":
            return self.data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
        return self.data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"

    def files(self) -> list[Path]:
        return [self.entry, self.icon("scalable"), *(self.icon(s) for s in ICON_SIZES)]

    def install(self, command: list[str]) -> list[Path]:
        """Write the entry starting `command` and every icon; the paths written."""
        icons = resources.files("llmgw_desktop.resources").joinpath("icons")
        written = []
        for size in ICON_SIZES:
            target = self.icon(size)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(icons.joinpath("app", f"{APP_ID}-{size}.png").read_bytes())
            written.append(target)
        svg = self.icon("scalable")
        svg.parent.mkdir(parents=True, exist_ok=True)
        svg.write_bytes(icons.joinpath("llmgw.svg").read_bytes())
        written.append(svg)
        self.entry.parent.mkdir(parents=True, exist_ok=True)
        self.entry.write_text(desktop_entry(command), encoding="utf-8")
        written.append(self.entry)
        return written

    def uninstall(self) -> list[Path]:
        """Remove what `install` wrote; the paths that were there."""
        removed = [path for path in self.files() if path.exists()]
        for path in removed:
            path.unlink()
        return removed


def install_desktop_command(*, uninstall: bool) -> int:
    """The CLI command: install or remove the menu entry, and say what was done."""
    if sys.platform in ("win32", "darwin"):
        print(
            "llmgw-desktop: install-desktop is for Linux desktops; on Windows the installer "
            "and on macOS the .app in /Applications put it in the menu.",
            file=sys.stderr,
        )
        return 1
    place = DesktopInstall.for_user()
    try:
        if uninstall:
            paths = place.uninstall()
            login = autostart_for_platform()
            if login.is_enabled():
                login.disable()
                paths.append(Path(login.where))
            verb = "removed"
        else:
            command = app_command()
            paths = place.install(command)
            verb = "installed"
    except OSError as exc:
        print(f"llmgw-desktop: could not change the menu entry: {exc}", file=sys.stderr)
        return 1
    print(f"{verb} {len(paths)} file(s):")
    for path in paths:
        print(f"  {path}")
    if not uninstall:
        print(f"The menu entry starts: {' '.join(command)}")
    _refresh_menus(place)
    return 0


def _refresh_menus(place: DesktopInstall) -> None:
    """Ask the desktop to notice the change, where its tools are installed (best effort)."""
    for tool, arg in (
        ("update-desktop-database", place.entry.parent),
        ("gtk-update-icon-cache", place.data_home / "icons" / "hicolor"),
    ):
        if shutil.which(tool) is None or not arg.exists():
            continue
        argv = [tool, "-q" if tool == "update-desktop-database" else "-qt", str(arg)]
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(argv, check=False, timeout=REFRESH_TIMEOUT_S, capture_output=True)
