"""The hard rules: headless mode loads no Qt at run time, and no task is left unowned.

Which package may import what (the engine and config/ never Qt, only ui/qt.py the binding) is
import-linter's to check: the contracts in pyproject.toml, run by tests/test_import_contracts.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import llmgw_desktop

PACKAGE = Path(llmgw_desktop.__file__).parent
QT_MODULES = ("PySide6", "shiboken6", "qasync")
# Modules the headless path loads; none may pull Qt in, even indirectly.
QT_FREE = (
    "llmgw_desktop.engine.engine",
    "llmgw_desktop.shell.headless",
    "llmgw_desktop.shell.runtime",
    "llmgw_desktop.shell.cli.main",
    "llmgw_desktop.transports.http_app",
)
TASK_STARTERS = ("create_task", "ensure_future")
# The two task owners: TaskSupervisor for the engine's background tasks, and UiTasks for the
# work a widget starts, which outlives the slot that started it and reports to the window.
TASK_OWNERS = ("engine/tasks.py", "ui/tasks.py")


def _task_groups(tree: ast.AST) -> set[str]:
    """Names bound by `async with asyncio.TaskGroup() as name` anywhere in the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncWith):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(item.optional_vars, ast.Name)
                    and ast.unparse(call.func) in ("asyncio.TaskGroup", "TaskGroup")
                ):
                    names.add(item.optional_vars.id)
    return names


def unowned_task_starts(package: Path) -> list[str]:
    """Every task started outside a TaskGroup and outside the two task owners.

    Ruff's banned-api rule sees `asyncio.create_task` but not the same call on a loop
    (`loop.create_task`, `get_running_loop().create_task`), which is as easy to lose.
    """
    offenders = []
    for path in package.rglob("*.py"):
        where = path.relative_to(package).as_posix()
        if where in TASK_OWNERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        groups = _task_groups(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in TASK_STARTERS:
                if isinstance(func.value, ast.Name) and func.value.id in groups:
                    continue
            elif not (isinstance(func, ast.Name) and func.id in TASK_STARTERS):
                continue
            offenders.append(f"{where}:{node.lineno} {ast.unparse(func)}")
    return offenders


def test_tasks_start_only_in_task_groups_or_through_a_task_owner() -> None:
    assert unowned_task_starts(PACKAGE) == []


def test_the_task_check_sees_a_loop_starting_a_task(tmp_path: Path) -> None:
    (tmp_path / "relay.py").write_text(
        "import asyncio\n"
        "async def relay(work):\n"
        "    async with asyncio.TaskGroup() as group:\n"
        "        group.create_task(work())\n"
        "    asyncio.get_running_loop().create_task(work())\n",
        encoding="utf-8",
    )
    assert unowned_task_starts(tmp_path) == ["relay.py:5 asyncio.get_running_loop().create_task"]


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
