"""A copy of a checkout with the request path compiled by mypyc, to count against the source.

Usage: python bench/compile_tree.py DIR [--tree CHECKOUT] [--modules FILE]

Copies the checkout's committed files (`git archive HEAD`) to DIR and compiles the modules
listed in `compiled_modules.txt` (one path under `llmgw_desktop/` a line; `#` starts a comment)
into one mypyc group, so calls between them are native calls. The copy is then counted like any
other checkout: `python bench/request_instructions.py --routes --baseline DIR`. Nothing in the
product is built this way (docs/PERFORMANCE.md says what shipping it would take); this measures
what it would buy.

mypyc builds with setuptools in the copy's directory. The venv's setuptools rejects the
project's PEP 639 `license = "MIT"` that pip's isolated builds accept, so the copy's
pyproject.toml is set aside during the build, and mypy reads a minimal mypy.ini instead (its
types, not its strictness, are what code generation uses). One core, about six minutes here.
Needs a C compiler and the interpreter's headers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = Path(__file__).resolve().parent / "compiled_modules.txt"
_MYPY_INI = "[mypy]\npython_version = 3.11\nignore_missing_imports = True\n"


def listed(modules: Path) -> list[str]:
    """The module paths `modules` lists, under `llmgw_desktop/`."""
    paths = []
    for line in modules.read_text(encoding="utf-8").splitlines():
        path = line.partition("#")[0].strip()
        if path:
            paths.append(f"llmgw_desktop/{path}")
    return paths


def compile_tree(target: Path, tree: Path, modules: list[str]) -> None:
    """`tree`'s committed files at `target`, with `modules` compiled as one mypyc group."""
    if target.exists() and any(target.iterdir()):
        sys.exit(f"{target} is not empty: give a new directory")
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(tree), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    missing = [m for m in modules if not (target / m).is_file()]
    if missing:
        sys.exit(f"listed but not in the checkout: {', '.join(missing)}")
    project = target / "pyproject.toml"
    aside = target / "pyproject.toml.aside"
    project.rename(aside)
    (target / "mypy.ini").write_text(_MYPY_INI, encoding="ascii")
    started = time.monotonic()
    try:
        build = subprocess.run(
            [sys.executable, "-m", "mypyc", *modules],
            cwd=target,
            capture_output=True,
            text=True,
        )
    finally:
        aside.rename(project)
        (target / "mypy.ini").unlink()
    if build.returncode != 0:
        errors = [line for line in build.stdout.splitlines() if "error" in line.lower()]
        sys.exit("mypyc failed:\n" + "\n".join(errors[:20] or build.stdout.splitlines()[-20:]))
    compiled = sorted(p.name for p in target.rglob("*.so"))
    print(
        f"{len(modules)} modules compiled at {target} in {time.monotonic() - started:.0f} s "
        f"({len(compiled)} extension files)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="a new directory for the compiled copy")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to copy")
    parser.add_argument("--modules", type=Path, default=MODULES, help="the modules to compile")
    args = parser.parse_args()
    compile_tree(args.target.resolve(), args.tree.resolve(), listed(args.modules))


if __name__ == "__main__":
    main()
