"""Size is measured in functions, not modules: no function of the package spans more than one
long screen, and a long module has its reason written down.

A function over `MAX_FUNCTION_LINES` (from its `def`, decorators aside, to its last line) fails:
split it by what it does, not at a line count. ruff holds the rest of the shape (pyproject.toml:
C901 at a complexity of 15, PLR0915 at 50 statements). A module over `SOFT_MODULE_LINES` fails
only when `LONG_MODULES` does not say why it is one module; an entry for a module that is no
longer long fails too, so the table stays true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import llmgw_desktop

PACKAGE = Path(llmgw_desktop.__file__).parent
MAX_FUNCTION_LINES = 100
SOFT_MODULE_LINES = 800

# Modules over SOFT_MODULE_LINES, by path under the package, and why each is one module.
LONG_MODULES: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path, root: Path = PACKAGE) -> str:
    return path.relative_to(root).as_posix()


def _long_functions(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{_name(path, root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_function_spans_more_than_a_long_screen() -> None:
    modules = _modules()
    assert len(modules) > 400  # the guard is not passing on an empty walk
    too_long = [found for path in modules for found in _long_functions(path)]
    assert too_long == [], f"split by what each part does (max {MAX_FUNCTION_LINES} lines)"


def test_a_long_module_says_why_it_is_one() -> None:
    long = {_name(path): _lines(path) for path in _modules()}
    long = {name: lines for name, lines in long.items() if lines > SOFT_MODULE_LINES}
    unexplained = sorted(set(long) - set(LONG_MODULES))
    assert unexplained == [], (
        f"over {SOFT_MODULE_LINES} lines: split by concept, or say in LONG_MODULES why not"
    )
    stale = sorted(set(LONG_MODULES) - set(long))
    assert stale == [], "no longer long: take it out of LONG_MODULES"


def test_the_size_guards_see_what_they_guard(tmp_path: Path) -> None:
    # A function one line over fails, and one at the limit passes: the counting is the rule's.
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1))
    at_limit = tmp_path / "at_limit.py"
    at_limit.write_text(f"def f() -> None:\n{body}\n", encoding="utf-8")
    over = tmp_path / "over.py"
    over.write_text(f"async def f() -> None:\n{body}\n    pass\n", encoding="utf-8")
    assert _long_functions(at_limit, tmp_path) == []
    assert _long_functions(over, tmp_path) == [f"over.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]
