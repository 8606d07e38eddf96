"""Tests await; they never start a nested Qt event loop inside a coroutine.

`qtbot.wait`, `waitUntil`, `waitSignal` and `waitSignals` spin a second Qt loop under the
qasync loop that runs the coroutine: timers and tasks of the outer loop run re-entrantly in
it, and a test that passes alone can hang under load (one did, on the dashboard's words
test). Inside `async def`, wait with `await asyncio.sleep(...)` or `until(...)`.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NESTED_LOOPS = {"wait", "waitUntil", "waitSignal", "waitSignals", "waitExposed", "waitActive"}


def _nested_waits(path: Path) -> list[str]:
    """Where `path` calls a `qtbot` wait inside a coroutine, as `path:line in function`."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in NESTED_LOOPS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "qtbot"
            ):
                where = path.relative_to(TESTS.parent)
                found.append(f"{where}:{node.lineno} in {function.name}")
    return found


def test_no_coroutine_waits_in_a_nested_qt_loop() -> None:
    found = [hit for path in sorted(TESTS.rglob("*.py")) for hit in _nested_waits(path)]
    assert not found, "await asyncio.sleep or until() instead of qtbot's wait:\n" + "\n".join(found)
