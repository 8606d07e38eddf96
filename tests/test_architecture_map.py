"""docs/ARCHITECTURE.md ends with a map from every capability to its module: keep it true."""

from __future__ import annotations

import re
from pathlib import Path

import llmgw_desktop

PACKAGE = Path(llmgw_desktop.__file__).parent
DOC = PACKAGE.parent / "docs" / "ARCHITECTURE.md"


def _mapped_paths() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Where each capability lives") :]
    paths = []
    for row in table.splitlines():
        if not row.startswith("| ") or row.startswith("| capability"):
            continue
        module_cell = row.split("|")[2]
        base = ""
        for name in re.findall(r"`([^`]+)`", module_cell):
            if "/" in name:
                base = name.rsplit("/", 1)[0] if not name.endswith("/") else name.rstrip("/")
                paths.append(name)
            elif name.endswith(".py") or name.endswith(".pyi"):
                paths.append(f"{base}/{name}")  # a sibling of the module named before it
    return paths


def test_every_module_the_map_names_exists() -> None:
    paths = _mapped_paths()
    assert len(paths) > 60
    missing = [p for p in paths if not list(PACKAGE.glob(re.sub(r"<[a-z]+>", "*", p)))]
    assert missing == []


def test_every_engine_module_is_on_the_map() -> None:
    mapped: set[Path] = set()
    for path in _mapped_paths():
        for found in PACKAGE.glob(re.sub(r"<[a-z]+>", "*", path)):
            mapped |= set(found.rglob("*.py")) if found.is_dir() else {found}
    unmapped = [
        str(module.relative_to(PACKAGE))
        for module in sorted((PACKAGE / "engine").rglob("*.py"))
        if module.name != "__init__.py" and module not in mapped
    ]
    assert unmapped == [], "add a row to the map at the end of docs/ARCHITECTURE.md"


def test_every_engine_package_appears_in_the_map() -> None:
    text = " ".join(_mapped_paths())
    packages = [p.name for p in (PACKAGE / "engine").iterdir() if (p / "__init__.py").exists()]
    assert [name for name in packages if f"engine/{name}/" not in text] == []
