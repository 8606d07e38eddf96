"""The one hard rule: the engine (and headless mode) run without Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import llmgw_desktop

PACKAGE = Path(llmgw_desktop.__file__).parent
QT_MODULES = ("PySide6", "shiboken6", "qasync", "pyqtgraph")
# Modules the headless path loads; none may pull Qt in, even indirectly.
QT_FREE = (
    "llmgw_desktop.engine.engine",
    "llmgw_desktop.headless",
    "llmgw_desktop.runtime",
    "llmgw_desktop.cli",
    "llmgw_desktop.transports.http_app",
)


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_source_never_imports_qt() -> None:
    offenders = []
    for path in (PACKAGE / "engine").rglob("*.py"):
        for name in _imported_modules(path):
            if name.split(".")[0] in QT_MODULES:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_only_ui_qt_imports_the_binding() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "ui" / "qt.py":
            continue
        for name in _imported_modules(path):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_headless_path_loads_no_qt_at_runtime() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in QT_FREE)
        + f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        + "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
