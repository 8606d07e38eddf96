"""`RequestRecords` (`engine/gateway/records/recording.py`) is the only writer of a gateway
request's
recorder row: a second writer elsewhere on the request's path is how a row's story and the
client's came apart before, so the rule is checked on the code itself."""

from __future__ import annotations

import ast
from pathlib import Path

import llmgw_desktop.engine.gateway as gateway

GATEWAY = Path(gateway.__file__).parent
WRITES = {"start", "finish", "finish_row", "update", "first_token", "update_many"}


def _recorder_writes(module: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(module.read_text("utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if name.lstrip("_").endswith("recorder") and node.func.attr in WRITES:
            found.append(f"{module.relative_to(GATEWAY)}:{node.lineno} {name}.{node.func.attr}")
    return found


def test_only_request_records_writes_a_gateway_row() -> None:
    writers = [
        write
        for module in sorted(GATEWAY.rglob("*.py"))
        if module.name != "recording.py"
        for write in _recorder_writes(module)
    ]
    assert writers == [], "write the row through RequestRecords (recording.py)"


def test_the_check_sees_the_writes_recording_makes() -> None:
    assert _recorder_writes(GATEWAY / "records" / "recording.py"), "it would pass on nothing"
