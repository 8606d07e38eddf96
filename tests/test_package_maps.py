"""Every package a newcomer has to find their way in opens with a map, and the map is true.

A package of `MAPPED_FROM` modules or more starts with a docstring (its `__init__.py`) that says
what the package is for and names each of its modules and subpackages in backquotes, so a
reader can go from the door to the module they need; `engine/recorder/__init__.py` is the model.
A map that names a file (`name.py`) or a folder (`name/`) the package does not have is stale.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import llmgw_desktop

PACKAGE = Path(llmgw_desktop.__file__).parent
MAPPED_FROM = 8
# Packages whose modules are a numbered sequence, not parts to find: the map says what they are.
SEQUENCES = {"engine/store/migrations"}


def _parts(package: Path) -> list[str]:
    modules = [p.stem for p in package.glob("*.py") if p.name != "__init__.py"]
    folders = [p.name for p in package.iterdir() if (p / "__init__.py").exists()]
    return sorted(modules + folders)


def _mapped_packages() -> list[Path]:
    found = [
        init.parent
        for init in PACKAGE.rglob("__init__.py")
        if len(_parts(init.parent)) >= MAPPED_FROM
    ]
    return sorted(found)


def _map(package: Path) -> str:
    return ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8"))) or ""


def _named(text: str) -> set[str]:
    names: set[str] = set()
    for quoted in re.findall(r"`([^`]+)`", text):
        for word in re.split(r"[\s,]+", quoted):
            names.add(word.rstrip("/").removesuffix(".py").rsplit("/", 1)[-1].split(".")[0])
    return names


def _ids(packages: list[Path]) -> list[str]:
    return [str(p.relative_to(PACKAGE)) for p in packages]


@pytest.mark.parametrize("package", _mapped_packages(), ids=_ids(_mapped_packages()))
def test_a_package_opens_with_a_map_naming_each_part(package: Path) -> None:
    text = _map(package)
    assert len(text.splitlines()) >= 3, "open the package with a map of its parts"
    if str(package.relative_to(PACKAGE)) in SEQUENCES:
        return
    unnamed = [part for part in _parts(package) if part not in _named(text)]
    assert unnamed == [], f"name these in {package.relative_to(PACKAGE)}/__init__.py's map"


@pytest.mark.parametrize("package", _mapped_packages(), ids=_ids(_mapped_packages()))
def test_every_file_a_map_names_exists(package: Path) -> None:
    stale = []
    for quoted in re.findall(r"`([^`\s]+(?:\.py|/))`", _map(package)):
        relative = quoted.rstrip("/")
        # A path is read from the package itself, or from any folder above it.
        if not any((folder / relative).exists() for folder in (package, *package.parents)):
            stale.append(quoted)
    assert stale == []


def test_the_maps_cover_the_packages_a_newcomer_opens() -> None:
    names = _ids(_mapped_packages())
    assert {"engine/gateway", "ui/pages", "engine/auth", "config", "transports/mcp"} <= set(names)
