"""Write the documentation site's generated parts from the code, between their markers.

Usage: python scripts/docs_reference.py [--check]

Two parts of `docs/` are not written by hand:
- `docs/reference/configuration.md`: every setting (key, type, default, environment variable,
  what it does) from the declarations in `llmgw_desktop/config/settings_*.py`, and the
  variables read from the environment only;
- `docs/troubleshooting.md`: the table of error codes from `llmgw_desktop.engine.errors`.

`--check` changes nothing and exits 1 naming each stale page (tests/test_docs_site.py and the
site's build hook, scripts/mkdocs_hooks.py, check the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.config import paths
from llmgw_desktop.config import settings as settings_module
from llmgw_desktop.config.settings import Declared, declared_settings
from llmgw_desktop.engine.errors import error_code_table

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# The variables `load_settings` reads besides the settings' own: they have no declaration to
# carry a doc, so their docs are here; `env_only_rows` refuses a name the code added without one.
ENV_ONLY_DOCS = {
    "LLM_GATEWAY_CONFIG": "The settings file to read instead of the platform's `config.toml` "
    "(the same as `--config PATH`).",
    "LLM_GATEWAY_MASTER_KEY": "The vault's master key, 64 hex digits; else the OS keyring, else "
    "`vault.key` in the data dir. A team's processes share one.",
    "LLM_GATEWAY_OAUTH_ALLOW_OPEN_REGISTRATION": "Set to 1, together with "
    '`http.oauth.registration = "open_dev"`, to let anyone register an OAuth client. '
    "Environment only: a file someone else may edit cannot open it.",
    "LLM_GATEWAY_WORKSPACE_ADMIN": "Set to 1 to let callers with the `workspace:admin` scope "
    "use `workspace_create` and `workspace_register_existing_repo`. Environment only.",
}


@dataclass(frozen=True)
class Generated:
    """One generated part: the page it lives in, its markers and how to render it."""

    page: Path
    start: str
    end: str
    render: Callable[[], str]


def _escape(text: str) -> str:
    """Markdown-safe table cell text: code spans kept as they are, the rest escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part.replace("|", "\\|"))
            continue
        part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        part = part.replace("|", "\\|").replace("*", "\\*")
        out.append(part)
    return "".join(out)


def _type_name(decl: Declared) -> str:
    if decl.type is list:
        return "list of tables" if decl.table_list else "list of strings"
    if decl.type in (dict, Mapping):
        return "table"
    return {bool: "boolean", int: "integer", str: "string"}.get(decl.type, decl.type.__name__)


def _unit(key: str, value: int) -> str:
    """A whole-number default in the units its name gives, for a reader (0 and small: none)."""
    if key.endswith("_ms") and value >= 1000:
        seconds = value / 1000
        if seconds >= 3600 and seconds % 3600 == 0:
            return f" ({seconds / 3600:g} h)"
        if seconds >= 60 and seconds % 60 == 0:
            return f" ({seconds / 60:g} min)"
        return f" ({seconds:g} s)"
    if key.endswith("_bytes") and value >= 1024:
        for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size and value % size == 0:
                return f" ({value // size} {name})"
    if key.endswith("_s") and value >= 3600 and value % 3600 == 0:
        hours = value // 3600
        return f" ({hours // 24} days)" if hours >= 48 and hours % 24 == 0 else f" ({hours} h)"
    return ""


def _default(decl: Declared) -> str:
    value: Any = decl.default
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int):
        return f"`{value}`{_unit(decl.key, value)}"
    if isinstance(value, str):
        return f'`"{value}"`' if value else "empty"
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`" if value else "`[]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value!r}`"


def _env_format(decl: Declared) -> str:
    older = ", ".join(f"`{name}`" for name in decl.older_env)
    also = f" (or {older}, the same setting's other name)" if older else ""
    return also + _env_shape(decl)


def _env_shape(decl: Declared) -> str:
    if decl.type is list:
        return " (a JSON array)" if decl.table_list else " (comma-separated)"
    if decl.type is dict:
        return " (`name=value` pairs, comma-separated)"
    if decl.type is Mapping:
        return " (a JSON object)"
    return ""


def _section_of(key: str) -> str:
    return key.rpartition(".")[0] or key


def settings_reference(decls: list[Declared] | None = None) -> str:
    """The configuration reference: a table per TOML table, every setting a row.

    Raises:
        ValueError: a setting has no doc or no environment variable.
    """
    decls = declared_settings() if decls is None else decls
    missing = [d.key for d in decls if not d.doc.strip() or not d.env]
    if missing:
        raise ValueError(f"settings without a doc or an environment variable: {missing}")
    sections: dict[str, list[Declared]] = {}
    for decl in decls:
        sections.setdefault(_section_of(decl.key), []).append(decl)
    out: list[str] = []
    for section, rows in sections.items():
        title = f"[[{section}]]" if rows[0].table_list and section == rows[0].key else section
        anchor = section.replace(".", "-")
        out += [f"### `{title}` {{ #{anchor} }}", ""]
        out += [
            "| Key | Type | Default | Environment | What it does |",
            "| --- | --- | --- | --- | --- |",
        ]
        for d in rows:
            secret = " Secret: masked wherever it is shown." if d.secret else ""
            out.append(
                f"| `{d.key}` | {_type_name(d)} | {_default(d)} | `{d.env}`{_env_format(d)} "
                f"| {_escape(d.doc.strip())}{secret} |"
            )
        out.append("")
    out += ["### Read from the environment only { #environment-only }", ""]
    out += ["| Variable | What it does |", "| --- | --- |"]
    out += [f"| `{name}` | {doc} |" for name, doc in env_only_rows()]
    return "\n".join(out) + "\n"


def env_only_rows() -> list[tuple[str, str]]:
    """The variables read besides the settings', each with its doc.

    Raises:
        ValueError: the code reads one this script has no doc for.
    """
    names = (
        *paths.PATH_ENV_VARS,
        *settings_module.SECRET_ENV_VARS,
        *settings_module.ENV_ONLY_OPT_INS,
    )
    undocumented = [n for n in names if n not in ENV_ONLY_DOCS]
    if undocumented:
        raise ValueError(f"add a doc to ENV_ONLY_DOCS in {__file__} for {undocumented}")
    return [(name, ENV_ONLY_DOCS[name]) for name in names]


PARTS = (
    Generated(
        DOCS / "reference" / "configuration.md",
        "<!-- settings: written by scripts/docs_reference.py -->",
        "<!-- /settings -->",
        settings_reference,
    ),
    Generated(
        DOCS / "troubleshooting.md",
        "<!-- error-codes: written by scripts/docs_reference.py -->",
        "<!-- /error-codes -->",
        error_code_table,
    ),
)


def with_part(text: str, part: Generated) -> str:
    """`text` with what stands between the part's markers replaced by its current rendering.

    Raises:
        ValueError: the page lacks the markers.
    """
    head, found, rest = text.partition(part.start)
    _, found_end, tail = rest.partition(part.end)
    if not found or not found_end:
        raise ValueError(f"{part.page.name} has no {part.start} ... {part.end} markers")
    return f"{head}{part.start}\n{part.render()}{part.end}{tail}"


def stale_pages() -> list[str]:
    """The pages whose generated part differs from the code now (relative to the repo)."""
    stale = []
    for part in PARTS:
        text = part.page.read_text(encoding="utf-8")
        if with_part(text, part) != text:
            stale.append(str(part.page.relative_to(ROOT)))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether they are current")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages()
        for page in stale:
            print(f"{page} is out of date: run python scripts/docs_reference.py")
        return 1 if stale else 0
    for part in PARTS:
        text = part.page.read_text(encoding="utf-8")
        wanted = with_part(text, part)
        if wanted != text:
            part.page.write_text(wanted, encoding="utf-8")
            print(f"{part.page.relative_to(ROOT)}: rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
