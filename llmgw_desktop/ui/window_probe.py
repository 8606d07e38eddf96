"""The window probe's child process: create Qt's GUI application as the desktop app would, say
which platform Qt chose, and exit.

Qt aborts the whole process (SIGABRT) when its platform plugin cannot load: a library the plugin
needs is missing, or the display names no server. `shell/window_probe.py` runs this in a child
(`llmgw-desktop --window-probe`) before the app creates its own application, so the process Qt
aborts is this one, never the gateway's.

It imports QtGui alone, not `ui/qt.py`: the widgets and what `ui/qt.py` loads before them would
double the probe's cost, and creating the application is all it has to do. (The second of the
two places that import the Qt binding; `pyproject.toml`'s `one-qt-import-point` names both.)

It prints, each on its own line as soon as it is known: `plugins <dir>` (where Qt looks for its
plugins, for the parent to find the one that failed) and then `platform <name>`.
"""

from __future__ import annotations

import sys

__all__ = ["PLATFORM_LINE", "PLUGINS_LINE", "WINDOW_PROBE_ARG", "probe_window"]

# The hidden argument that makes `llmgw-desktop` this child (`shell/cli/main.py`).
WINDOW_PROBE_ARG = "--window-probe"
PLUGINS_LINE = "plugins "
PLATFORM_LINE = "platform "


def probe_window() -> int:
    """Create the GUI application on Qt's own choice of platform; 0 once it exists (a platform
    that cannot start aborts the process instead)."""
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtGui import QGuiApplication

    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    print(PLUGINS_LINE + plugins, flush=True)
    app = QGuiApplication([sys.argv[0]])
    print(PLATFORM_LINE + app.platformName(), flush=True)
    return 0
