"""The documentation site stays true to the code and whole: its generated pages (every setting,
every error code) match the code, every page is in the nav, and the README's links land.

`mkdocs build --strict` (in .ci/run, with the `docs` extra) checks links and anchors between
pages and fails on a stale generated page too; these run with the tests, without MkDocs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _docs_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts" / "docs_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_reference", module)
    spec.loader.exec_module(module)
    return module


def _nav_pages() -> set[str]:
    lines = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return set(re.findall(r"^\s+-\s[^#\n]*?:?\s*([\w./-]+\.md)\s*$", lines, flags=re.M))


def test_generated_pages_are_current() -> None:
    stale = _docs_reference().stale_pages()
    assert not stale, f"{stale} out of date: run python scripts/docs_reference.py"


def test_every_setting_has_its_row_in_the_reference() -> None:
    from llmgw_desktop.config.settings import declared_settings

    page = (DOCS / "reference" / "configuration.md").read_text(encoding="utf-8")
    for decl in declared_settings():
        assert f"| `{decl.key}` |" in page, decl.key
        assert f"`{decl.env}`" in page, decl.env


def test_a_setting_without_a_doc_stops_the_generator() -> None:
    import dataclasses

    import pytest

    from llmgw_desktop.config.settings import declared_settings

    undocumented = dataclasses.replace(declared_settings()[0], doc=" ")
    with pytest.raises(ValueError, match="without a doc"):
        _docs_reference().settings_reference([undocumented])


def test_every_page_is_in_the_nav() -> None:
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    missing = sorted(pages - _nav_pages())
    assert not missing, (
        f"add {missing} to mkdocs.yml's nav (docs/CLOUDS.md and docs/ACP.md have marked "
        "NAV SLOT comments there)"
    )
    assert not _nav_pages() - pages, "the nav names a page that does not exist"


def test_readme_links_land() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local
    for target in local:
        assert (ROOT / target).exists(), target


def test_every_command_is_on_the_command_line_page() -> None:
    from llmgw_desktop.shell.cli.parser import build_parser

    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"`llmgw-desktop {name}" in page, name
