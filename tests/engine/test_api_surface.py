"""The engine's public surface (`engine/api.py`) is the only way in for the front doors and the
desk: they use only the Engine's listed services, one level deep. That they import nothing else
from the engine is the `engine-api` contract in pyproject.toml (tests/test_import_contracts.py).
These checks fail the moment anything reaches past it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import llmgw_desktop
from llmgw_desktop.engine import api

PACKAGE = Path(llmgw_desktop.__file__).parent


def _front_modules() -> Iterator[Path]:
    """Everything in front of the engine: not the engine, and not `config/` below it."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] not in ("engine", "config"):
            yield path


def _is_engine_ref(node: ast.expr) -> bool:
    """`engine`, `_engine`, `self.engine`, `bridge.engine`, `runtime.engine` ..."""
    if isinstance(node, ast.Name):
        return node.id in ("engine", "_engine")
    return isinstance(node, ast.Attribute) and node.attr in ("engine", "_engine")


def test_the_stub_lists_exactly_the_lazy_names() -> None:
    stub = ast.parse((PACKAGE / "engine" / "api.pyi").read_text(encoding="utf-8"))
    imported = {
        alias.name: node.module
        for node in stub.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == api._HOMES
    [stub_all] = [
        node.value
        for node in stub.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert sorted(ast.literal_eval(stub_all)) == sorted(api.__all__)


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
