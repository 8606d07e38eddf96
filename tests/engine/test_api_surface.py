"""The engine's public surface (`engine/api.py`) is the only way in for the front doors and the
desk: they use only the Engine's listed services, one level deep. That they import nothing else
from the engine is the `engine-api` contract in pyproject.toml (tests/test_import_contracts.py).
These checks fail the moment anything reaches past it."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmgw_desktop
from llmgw_desktop.engine import api

PACKAGE = Path(llmgw_desktop.__file__).parent


def _front_modules() -> Iterator[Path]:
    """Everything in front of the engine: not the engine, and not `config/` below it."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] not in ("engine", "config"):
            yield path


def _is_engine_ref(node: ast.expr) -> bool:
    """`engine`, `_engine`, `self.engine`, `bridge.engine`, `runtime.engine` ..., and
    `request.app[ENGINE]` (a module-level route handler's engine, `transports/app_keys.py`)."""
    if isinstance(node, ast.Name):
        return node.id in ("engine", "_engine")
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Name) and node.slice.id == "ENGINE"
    return isinstance(node, ast.Attribute) and node.attr in ("engine", "_engine")


def test_the_lazy_table_is_what_python_reads_in_the_stub() -> None:
    # api.py reads api.pyi with a regular expression; Python's own parser must agree, so a
    # line written in a form the expression misses fails here, not as a missing name later.
    stub = ast.parse((PACKAGE / "engine" / "api.pyi").read_text(encoding="utf-8"))
    imported = {}
    for node in stub.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module is not None and node.level == 0, ast.unparse(node)
            for alias in node.names:
                # `X as X` is what makes a stub's import a re-export for type checkers
                assert alias.asname == alias.name, f"write `{alias.name} as {alias.name}`"
                imported[alias.name] = node.module
    assert imported == api._HOMES
    assert len(api._HOMES) > 100  # the guard is not passing on an empty read
    assert api.__all__ == ["ENGINE_SERVICES", *api._HOMES]


def test_the_stub_ships_with_the_package() -> None:
    # api.py reads the stub at import, so the wheel and the PyInstaller bundle must carry it.
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "api.pyi" in package_data["llmgw_desktop.engine"]
    spec = (PACKAGE.parent / "build.spec").read_text(encoding="utf-8")
    assert '"engine" / "api.pyi"), "llmgw_desktop/engine")' in spec


def test_a_missing_stub_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"api\.pyi is missing"):
        api._read_homes(tmp_path / "api.pyi")


def test_every_public_name_resolves() -> None:
    missing = [name for name in api.__all__ if getattr(api, name, None) is None]
    assert missing == []


def test_a_light_name_does_not_load_the_engine() -> None:
    # The command line and the stdio relay need a few names; they must not pay for the engine.
    code = (
        "import sys\n"
        "from llmgw_desktop.engine.api import hash_password\n"
        "print('llmgw_desktop.engine.engine' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_a_handlers_engine_from_its_app_is_an_engine_reference() -> None:
    handler = ast.parse("request.app[ENGINE].store.path").body[0]
    assert isinstance(handler, ast.Expr) and isinstance(handler.value, ast.Attribute)
    assert isinstance(handler.value.value, ast.Attribute)
    assert _is_engine_ref(handler.value.value.value)


def test_front_doors_use_only_the_engines_services_one_level_deep() -> None:
    offenders = []
    for path in _front_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # engine.<service>
            if (
                isinstance(node, ast.Attribute)
                and _is_engine_ref(node.value)
                and node.attr not in api.ENGINE_SERVICES
            ):
                offenders.append(
                    f"{path.relative_to(PACKAGE)}:{node.lineno} uses engine.{node.attr}"
                )
            # engine.<service>.<member>.<deeper>
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Attribute)
                and _is_engine_ref(node.value.value.value)
                and node.value.value.attr != "settings"  # plain values, read only
            ):
                service, member = node.value.value.attr, node.value.attr
                offenders.append(
                    f"{path.relative_to(PACKAGE)}:{node.lineno} reaches through "
                    f"engine.{service}.{member}.{node.attr}"
                )
    assert offenders == [], "add what is needed to a service instead of reaching past it"
