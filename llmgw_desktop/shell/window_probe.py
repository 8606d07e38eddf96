"""Whether this session can show the window, found out before the app creates its QApplication.

Qt aborts the whole process (SIGABRT) when its platform plugin cannot load: a library the xcb
plugin needs is missing (`libxcb-icccm4` and `libxcb-keysyms1` on a stock Debian 12 desktop),
or `DISPLAY` names no server (an ssh session's ended X forward). The window not opening must
never take the gateway down, so the question goes to a child process (`ui/window_probe.py`,
run as `llmgw-desktop --window-probe`) that creates Qt's GUI application exactly as the app
would and exits: if Qt aborts, it aborts the child. The child starts as the app's start begins
and runs beside it while the parent imports the UI; the answer is read just before the
window is built (docs/PERFORMANCE.md has what it costs).

No probe runs where none is needed: on Windows and macOS (Qt's platform plugin ships with it
and needs no display server), without a display (`preflight.display_problem` says so at once),
or with a platform chosen outright in `QT_QPA_PLATFORM` (the person's choice, or a test's).

When the child fails, `why_no_window` says why in one line: the display refused, or which
libraries the plugin cannot load and which packages bring them (`window_libraries.py`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from llmgw_desktop.config.desktop_entry import app_command
from llmgw_desktop.shell.cli.preflight import display_problem
from llmgw_desktop.shell.window_libraries import (
    install_hint,
    missing_named,
    missing_words,
    unloadable_libraries,
)
from llmgw_desktop.ui.window_probe import PLATFORM_LINE, PLUGINS_LINE, WINDOW_PROBE_ARG

__all__ = [
    "PROBE_TIMEOUT_S",
    "WindowCheck",
    "WindowProbe",
    "qt_import_problem",
    "why_no_window",
]

# How long the child may take: it imports QtGui and connects to the display (about 0.1 s of
# CPU); a display that has not answered by then will not serve a window either.
PROBE_TIMEOUT_S = 10.0
_PLUGIN_FAILED = re.compile(r'Could not load the Qt platform plugin "([^"]+)"')
_NO_DISPLAY = re.compile(r"could not connect to display ?(\S*)")


class WindowProbe:
    """One probe's child process, started; `problem` waits for its answer."""

    def __init__(self, process: subprocess.Popen[str], environ: Mapping[str, str]) -> None:
        self._process = process
        self._environ = environ
        self._answered = False

    @classmethod
    def start(
        cls, environ: Mapping[str, str] | None = None, platform: str = sys.platform
    ) -> WindowProbe | None:
        """The probe's child, started; None where no probe is needed (see the module)."""
        env = os.environ if environ is None else environ
        if platform in ("win32", "darwin") or env.get("QT_QPA_PLATFORM"):
            return None
        try:
            process = subprocess.Popen(
                app_command(WINDOW_PROBE_ARG),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError:
            return None  # cannot tell: the app tries the window as it always did
        return cls(process, env)

    def problem(self, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
        """Why no window can be shown here (one line), or None when Qt started its window."""
        try:
            out, err = self._process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.cancel()
            return f"no window: Qt did not start its window within {timeout_s:g} s"
        self._answered = True
        if self._process.returncode == 0 and PLATFORM_LINE in out:
            return None
        return why_no_window(out, err, self._process.returncode, self._environ)

    def cancel(self) -> None:
        """End the child if it still runs, when its answer is no longer wanted (Qt could not
        even be imported); nothing once it has answered."""
        if self._answered:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()
        self._answered = True


class WindowCheck:
    """Whether the window can open here: known at once when there is no display, else asked of
    a probe started at `begin` and answered (once) by `problem`."""

    def __init__(self, known: str | None, probe: WindowProbe | None) -> None:
        self._known = known
        self._probe = probe
        self._asked = known is not None or probe is None

    @classmethod
    def begin(
        cls, environ: Mapping[str, str] | None = None, platform: str = sys.platform
    ) -> WindowCheck:
        """Look for a display, and start the probe if one seems usable."""
        known = display_problem(None if environ is None else dict(environ), platform)
        return cls(known, None if known is not None else WindowProbe.start(environ, platform))

    @property
    def known(self) -> str | None:
        """Why no window can be shown, as far as is known without waiting (no display)."""
        return self._known

    def problem(self) -> str | None:
        """Why no window can be shown here, or None (waits for the probe the first time)."""
        if not self._asked and self._probe is not None:
            self._known = self._probe.problem()
            self._asked = True
        return self._known

    def cancel(self) -> None:
        """Stop the probe when its answer is no longer wanted."""
        if self._probe is not None:
            self._probe.cancel()


def qt_import_problem(error: ImportError) -> str:
    """Why the window's Qt could not be imported, with the package that brings a missing
    library when the loader named one (`libEGL.so.1: cannot open shared object file`)."""
    hint = install_hint(missing_named(str(error)))
    return f"no window: Qt could not be loaded ({error})" + (f" ({hint})" if hint else "")


def why_no_window(out: str, err: str, returncode: int, environ: Mapping[str, str]) -> str:
    """Why the probe's child could not start Qt's window: from what it printed and what the
    loader says of the plugin that failed."""
    failed = list(dict.fromkeys(_PLUGIN_FAILED.findall(err)))
    refused = _NO_DISPLAY.search(err)
    if refused is not None:
        display = refused.group(1) or environ.get("DISPLAY", "")
        return (
            f"no window: the X display {display} did not accept a connection (its X server is "
            "not running, or an ssh session's X forward has ended)"
        )
    plugins = next(
        (
            line.removeprefix(PLUGINS_LINE)
            for line in out.splitlines()
            if line.startswith(PLUGINS_LINE)
        ),
        "",
    )
    for name in reversed(failed):  # the last one tried is the fallback (xcb after wayland)
        libraries = unloadable_libraries(_plugin_file(name, plugins, environ))
        if libraries:
            return f"no window: Qt's {name} platform plugin cannot load: {_said(libraries)}"
    if failed:
        return f"no window: Qt's {failed[-1]} platform plugin cannot load ({_last_line(err)})"
    return f"no window: Qt could not start (exit {returncode}: {_last_line(err)})"


def _plugin_file(name: str, plugins: str, environ: Mapping[str, str]) -> Path:
    """Where Qt found the platform plugin `name`: `QT_QPA_PLATFORM_PLUGIN_PATH`, else the
    `platforms` folder of its plugins."""
    file = f"libq{name}.so"
    override = environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if override and Path(override, file).is_file():
        return Path(override, file)
    return Path(plugins, "platforms", file)


def _said(libraries: Mapping[str, str]) -> str:
    """`a and b are missing (Debian/Ubuntu: ...)`, and why any other cannot be loaded."""
    missing = [name for name, why in libraries.items() if why == "missing"]
    parts = [missing_words(missing)] if missing else []
    parts += [
        f"{name} cannot be loaded ({why})" for name, why in libraries.items() if why != "missing"
    ]
    hint = install_hint(libraries)
    return f"{', '.join(parts)} ({hint})" if hint else ", ".join(parts)


def _last_line(err: str) -> str:
    """Qt's last words, without its advice to reinstall or its list of plugins."""
    noise = ("Reinstalling the application", "Available platform plugins")
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    lines = [line for line in lines if not any(words in line for words in noise)]
    return lines[-1] if lines else "no message"
