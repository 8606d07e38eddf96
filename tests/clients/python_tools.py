"""Python tools that talk to the gateway as an OpenAI-compatible endpoint, run as their users
run them: `llm` (Simon Willison's), DSPy and aider, each from its own venv under `.py-clients/`
(their pins would fight ours; `.ci/run` installs those of `.ci/python-clients`).

Each runs one prompt against `base_url`, in its default configuration or with the name docs/
connect/sdks.md tells its users to give it (`named`): `llm`'s `headers` in
`extra-openai-models.yaml`, DSPy's `extra_headers`, aider's `extra_params.extra_headers` in
`.aider.model.settings.yml`, each sending `X-Caller`.

    python -m tests.clients.python_tools     # re-record what each sends, as fixtures
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clients.capture import FIXTURES, Scenario, normalised
from tests.clients.harness import CliRun, run_program
from tests.contract.offline import REQUIRE_CLIS, ROOT
from tests.fakes.upstream import Reply, ScriptedUpstream

__all__ = [
    "TOOLS",
    "PythonTool",
    "capture_tool",
    "load_tool_fixture",
    "package_venv",
    "run_tool",
    "write_tool_fixture",
]

TOOLS_ROOT = ROOT / ".py-clients"
TOOL_FIXTURES = FIXTURES / "tools"
PROMPT = "Say hello"
MODEL = "gpt-4o-mini"
TIMEOUT_S = 180.0
# Headers that name a client, kept in its fixture beside the user agent.
_NAMING_HEADERS = ("x-caller", "x-title", "x-openrouter-title", "http-referer")


@dataclass(frozen=True)
class PythonTool:
    """One tool: the package in `.ci/python-clients`, how it is run, what it is called."""

    name: str  # the name docs/connect/sdks.md gives it (its `X-Caller`)
    package: str  # its venv's folder under `.py-clients/`
    unnamed: str  # the caller the gateway records for it left as it is
    argv: Callable[[Path, str, Path], tuple[str, ...]]  # (venv, base URL, home) -> argv
    prepare: Callable[[Path, str, bool], None]  # (home, base URL, named): its config files
    # base URL -> the variables its documentation has its users set (OLLAMA_API_BASE ...).
    environ: Callable[[str], dict[str, str]] = lambda _base_url: {}


def _llm_argv(venv: Path, base_url: str, home: Path) -> tuple[str, ...]:
    return (str(venv / "bin" / "llm"), "-m", "gateway", "--no-stream", PROMPT)


def _llm_config(home: Path, base_url: str, named: bool) -> None:
    headers = "  headers:\n    X-Caller: llm\n" if named else ""
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: gateway\n  model_name: {MODEL}\n  api_base: {base_url}/v1\n"
        f"  api_key_name: gateway\n{headers}",
        encoding="utf-8",
    )
    (home / "keys.json").write_text(json.dumps({"gateway": "sk-unused"}), encoding="utf-8")


def _dspy_argv(venv: Path, base_url: str, home: Path) -> tuple[str, ...]:
    return (str(venv / "bin" / "python"), str(home / "ask.py"))


def _dspy_config(home: Path, base_url: str, named: bool) -> None:
    extra = ", extra_headers={'X-Caller': 'dspy'}" if named else ""
    (home / "ask.py").write_text(
        "import dspy\n"
        f"lm = dspy.LM('openai/{MODEL}', api_base='{base_url}/v1', api_key='sk-unused', "
        f"cache=False{extra})\n"
        f"print(lm('{PROMPT}'))\n",
        encoding="utf-8",
    )


def _aider_argv(venv: Path, base_url: str, home: Path) -> tuple[str, ...]:
    return (
        str(venv / "bin" / "aider"),
        *("--message", PROMPT, "--model", f"openai/{MODEL}"),
        *("--openai-api-base", f"{base_url}/v1", "--openai-api-key", "sk-unused"),
        *("--yes-always", "--no-git", "--no-stream", "--no-check-update"),
        *("--analytics-disable", "--no-show-model-warnings"),
    )


def _aider_config(home: Path, base_url: str, named: bool) -> None:
    if named:
        (home / ".aider.model.settings.yml").write_text(
            f"- name: openai/{MODEL}\n  extra_params:\n    extra_headers:\n      X-Caller: aider\n",
            encoding="utf-8",
        )


TOOLS = (
    PythonTool("llm", "llm", "openai-python", _llm_argv, _llm_config),
    PythonTool("dspy", "dspy", "lm15", _dspy_argv, _dspy_config),
    PythonTool("aider", "aider-chat", "openai-python", _aider_argv, _aider_config),
)


def tool_venv(tool: PythonTool) -> Path:
    """The tool's venv, or the test is skipped (failed where CI must have installed it)."""
    return package_venv(tool.package)


def package_venv(package: str) -> Path:
    """The venv `.ci/run` installs `package` into (`.ci/python-clients`), or the test is
    skipped (failed where CI must have installed it)."""
    venv = TOOLS_ROOT / package
    if not (venv / "bin" / "python").exists():
        listed = (ROOT / ".ci" / "python-clients").read_text(encoding="utf-8")
        message = f"{package} is not installed in {venv} (see .ci/python-clients)"
        required = any(line.startswith(f"{package}=") for line in listed.splitlines())
        if REQUIRE_CLIS and required:
            pytest.fail(message)
        pytest.skip(message)
    return venv


async def run_tool(tool: PythonTool, base_url: str, *, named: bool, home: Path) -> CliRun:
    """One prompt of `tool` against `base_url` (the gateway, or the scripted upstream)."""
    venv = tool_venv(tool)
    home.mkdir(parents=True, exist_ok=True)
    tool.prepare(home, base_url, named)
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "LLM_USER_PATH": str(home),
        # LiteLLM (DSPy's and aider's) fetches its price table from GitHub first: offline here.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "NO_COLOR": "1",
        **tool.environ(base_url),
    }
    argv = tool.argv(venv, base_url, home)
    code, stdout, stderr = await run_program(argv, env=env, cwd=home, timeout_s=TIMEOUT_S)
    return CliRun(argv, code, stdout, stderr)


async def capture_tool(tool: PythonTool, *, named: bool) -> list[dict[str, Any]]:
    """What `tool` sends, directly against the scripted upstream, as fixture entries."""
    scenario = Scenario(tool.name, "named" if named else "default", "chat", ())
    async with ScriptedUpstream() as upstream:
        upstream.script(*[Reply.ok("Hello", verbatim=True)] * 5)
        with tempfile.TemporaryDirectory() as home:
            run = await run_tool(tool, upstream.base_url, named=named, home=Path(home))
        assert run.returncode == 0, run.explain()
        recorded = []
        for request in upstream.llm_requests:
            entry = normalised(request, scenario)
            entry["headers"] |= {
                k: v for k, v in request.headers.items() if k.lower() in _NAMING_HEADERS
            }
            recorded.append(entry)
        return recorded


def load_tool_fixture(tool: PythonTool) -> list[dict[str, Any]]:
    path = TOOL_FIXTURES / f"{tool.name}.json"
    return list(json.loads(path.read_text(encoding="utf-8")))


def write_tool_fixture(tool: PythonTool, requests: list[dict[str, Any]]) -> None:
    """Keep what `tool` sent as its fixture (and say where, with how many requests)."""
    TOOL_FIXTURES.mkdir(parents=True, exist_ok=True)
    path = TOOL_FIXTURES / f"{tool.name}.json"
    path.write_text(json.dumps(requests, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"{path.relative_to(ROOT)}: {len(requests)} requests", file=sys.stderr)


async def _record_all() -> None:
    for tool in TOOLS:
        requests = [*await capture_tool(tool, named=False), *await capture_tool(tool, named=True)]
        write_tool_fixture(tool, requests)


if __name__ == "__main__":
    asyncio.run(_record_all())
