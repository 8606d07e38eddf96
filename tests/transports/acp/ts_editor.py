"""The editor of `acp_steps.mjs` (the official TypeScript ACP SDK, `client().connectWith`), run
on a plan of steps against `llmgw-desktop acp ARGS`; what it saw, step by step."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.clients.harness import run_program
from tests.clients.node import find_node
from tests.transports.acp.test_acp_typescript_sdk import _sdk

__all__ = ["chunks", "run_steps"]

SCRIPT = Path(__file__).with_name("acp_steps.mjs")


async def run_steps(
    plan: Sequence[Mapping[str, Any]],
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """Run `plan` with the TypeScript editor against `llmgw-desktop acp ARGS` in `cwd`: its
    report (`initialize`, `steps`); the test fails when the script itself failed."""
    sdk = _sdk()
    node = find_node("zod")
    code, stdout, stderr = await run_program(
        (node, str(SCRIPT), sys.executable, sdk, json.dumps(list(plan)), *args),
        env=dict(os.environ if env is None else env),
        cwd=cwd,
        timeout_s=timeout_s,
    )
    assert code == 0, f"{stdout}\n{stderr}"
    out: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    return out


def chunks(step: Mapping[str, Any], kind: str = "agent_message_chunk") -> str:
    """The text of a step's updates of `kind`, joined."""
    return "".join(
        u["content"].get("text", "")
        for u in step["updates"]
        if u.get("sessionUpdate") == kind and isinstance(u.get("content"), dict)
    )
