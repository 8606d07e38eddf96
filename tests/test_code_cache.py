"""The compiled code of dataclasses' generated methods, kept between starts
(`shell/code_cache.py`): the classes are the same with it, a second start compiles nothing,
and a file that is damaged, another's, or writable by others is never run.

Each case defines classes in a fresh interpreter: this one's `dataclasses` must stay as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmgw_desktop.shell.code_cache import cache_file

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 120.0

# Defines classes through the cache in FOLDER, exercises them, saves, and prints what it saw.
DEFINE_AND_USE = """
import dataclasses, json, sys
from pathlib import Path
from llmgw_desktop.shell.code_cache import GeneratedCode, cache_file

code = GeneratedCode(cache_file(Path(sys.argv[1])))
code.load()
code.install()

@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

@dataclasses.dataclass
class Box:
    items: list[int] = dataclasses.field(default_factory=list)
    label: str = "box"

p = Point(1, 2, ("a",))
try:
    p.x = 5
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
box = Box()
box.items.append(3)
report = {
    "repr": [repr(p), repr(box), repr(Box())],
    "eq": [p == Point(1, 2, ("a",)), p == Point(1, 3), hash(p) == hash(Point(1, 2, ("a",)))],
    "frozen": frozen,
    "fresh_default": Box().items,
    "hits": code.hits,
    "misses": code.misses,
    "saved": code.save(),
}
code.uninstall()
report["restored"] = not hasattr(dataclasses, "exec")
print(json.dumps(report))
"""


def define_and_use(folder: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", DEFINE_AND_USE, str(folder)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        cwd=ROOT,
        check=True,
    )
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_classes_are_the_same_from_kept_code_and_a_second_start_compiles_none(
    tmp_path: Path,
) -> None:
    first = define_and_use(tmp_path)
    assert first["misses"] and first["hits"] == 0 and first["saved"] is True
    assert cache_file(tmp_path).stat().st_mode & 0o777 == 0o600
    second = define_and_use(tmp_path)
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert second["saved"] is False  # nothing new to keep
    for report in (first, second):
        assert report["repr"] == [
            "Point(x=1, y=2, tags=('a',))",
            "Box(items=[3], label='box')",
            "Box(items=[], label='box')",
        ]
        assert report["eq"] == [True, False, True]
        assert report["frozen"] is True
        assert report["fresh_default"] == []
        assert report["restored"] is True


def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    cache_file(tmp_path).write_bytes(b"not marshal data at all")
    cache_file(tmp_path).chmod(0o600)
    report = define_and_use(tmp_path)
    assert report["hits"] == 0 and report["saved"] is True
    assert define_and_use(tmp_path)["misses"] == 0


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")
@pytest.mark.parametrize("writable", ["file", "folder"])
def test_code_others_could_have_written_is_never_run(tmp_path: Path, writable: str) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    define_and_use(folder)  # a good file, kept
    if writable == "file":
        cache_file(folder).chmod(0o666)
    else:
        folder.chmod(0o777)
    report = define_and_use(folder)
    assert report["hits"] == 0 and report["misses"]  # compiled afresh, the file not trusted


def test_the_file_keeps_only_this_starts_texts_once_it_grows_past_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmgw_desktop.shell import code_cache

    monkeypatch.setattr(code_cache, "MAX_ENTRIES", 3)
    cache = code_cache.GeneratedCode(cache_file(tmp_path))
    namespace: dict[str, object] = {}
    for n in range(5):
        cache.exec(f"def f{n}():\n return {n}\n", namespace)
    assert namespace["f4"]() == 4  # type: ignore[operator]
    assert cache.save()
    again = code_cache.GeneratedCode(cache_file(tmp_path))
    again.load()
    again.exec("def f0():\n return 0\n", {})
    assert again.hits == 1
    for n in range(5, 8):
        again.exec(f"def f{n}():\n return {n}\n", {})
    assert again.save()
    last = code_cache.GeneratedCode(cache_file(tmp_path))
    last.load()
    last.exec("def f0():\n return 0\n", {})
    last.exec("def f7():\n return 7\n", {})
    assert (last.hits, last.misses) == (1, 1)  # over the bound: only the new texts were kept
