"""Record what the pinned vendor CLIs actually send, as fixtures.

    python -m tests.clients.capture          # re-record every CLI's fixtures

Each CLI runs in its default configuration against the scripted upstream, directly (no gateway
in between), and every request it makes is kept under `tests/fixtures/clients/<cli>/`: method,
path, the headers that are not secret or volatile, and the body with long strings cut short
(their shape is what matters; whole system prompts would only bloat the repository).

`test_client_fixtures.py` runs the same capture in CI and compares the *shape* of what the CLIs
send (every JSON path with its type, and every `type`/`role` value) with these files, so a CLI
upgrade that adds a field, a tool kind or a role fails a test here before it fails a user; and
it drives every fixture through every dialect pair.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.clients.harness import (
    CliRun,
    codex_config,
    opencode_config,
    run_cli,
    write_codex_config,
    write_opencode_config,
)
from tests.contract.offline import prepare_offline_home
from tests.fakes.upstream import RecordedRequest, ScriptedUpstream

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
ECHO_MCP = Path(__file__).resolve().parent / "echo_mcp.py"
# Strings longer than this keep their start and their length only.
MAX_TEXT = 120
KEPT_TEXT = 60
# Headers worth keeping: what identifies the client and its protocol choices.
_KEPT_HEADERS = (
    "anthropic-beta",
    "anthropic-version",
    "openai-beta",
    "originator",
    "x-app",
    "accept",
    "content-type",
)


@dataclass(frozen=True)
class Scenario:
    """One way a user runs a CLI; `prepare` writes its config under the CLI's home."""

    cli: str
    name: str
    dialect: str
    args: tuple[str, ...]
    prepare: Callable[[Path, str], None] | None = None


def _codex(model: str) -> Callable[[Path, str], None]:
    def prepare(home: Path, base_url: str) -> None:
        text = codex_config(base_url, model=model).replace(
            'env_key = "GATEWAY_API_KEY"', 'env_key = "OPENAI_API_KEY"'
        )
        # Required: an optional server that misses Codex's one second is left out of the
        # request, which would change its recorded shape.
        text += (
            f'\n[mcp_servers.echo]\ncommand = "{sys.executable}"\nargs = ["{ECHO_MCP}"]\n'
            "required = true\n"
        )
        write_codex_config(home, text)

    return prepare


def _opencode(home: Path, base_url: str) -> None:
    write_opencode_config(home, opencode_config(base_url, "gpt-4.1"))


SCENARIOS = (
    Scenario("claude", "plain", "anthropic", ("-p", "say hello")),
    Scenario(
        "codex",
        "gpt-with-mcp",
        "openai-responses",
        ("exec", "--skip-git-repo-check", "say hello"),
        _codex("gpt-5.5"),
    ),
    Scenario(
        "codex",
        "other-model-with-mcp",
        "openai-responses",
        ("exec", "--skip-git-repo-check", "say hello"),
        _codex("claude-sonnet-4-6"),
    ),
    Scenario("gemini", "plain", "gemini", ("-p", "say hello")),
    Scenario("opencode", "compatible-provider", "openai-chat", ("run", "say hello"), _opencode),
)


async def capture(scenario: Scenario, workdir: Path) -> tuple[CliRun, list[dict[str, Any]]]:
    """Run one scenario against a fresh scripted upstream; its requests, normalised."""
    async with ScriptedUpstream() as upstream:
        home = workdir / scenario.cli / scenario.name / "home"
        env = {**os.environ, **prepare_offline_home(home, upstream.base_url)}
        env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"
        if scenario.prepare is not None:
            scenario.prepare(home, upstream.base_url)
        run = await run_cli(scenario.cli, *scenario.args, env=env, cwd=home / "work")
        return run, [normalised(r, scenario) for r in upstream.requests]


def normalised(request: RecordedRequest, scenario: Scenario) -> dict[str, Any]:
    """A request as a fixture: stable, small, and free of secrets and machine paths."""
    headers = {k: v for k, v in request.headers.items() if k in _KEPT_HEADERS}
    agent = request.headers.get("user-agent", "")
    return {
        "cli": scenario.cli,
        "scenario": scenario.name,
        "dialect": scenario.dialect if request.dialect else None,
        "userAgent": agent.split(" ")[0],
        "method": request.method,
        "path": request.path,
        "query": {k: v for k, v in request.query.items() if k != "key"},
        "headers": headers,
        "body": _shorten(request.body),
    }


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:KEPT_TEXT]}…[{len(value)} chars]"
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    return value


def shape(value: Any, path: str = "$") -> set[str]:
    """Every JSON path in `value` with its type; list items share `[*]`, and the values of
    `type`, `role` and `object` keys are part of the shape (a new tool kind is a new shape)."""
    if isinstance(value, dict):
        out = {f"{path}:object"}
        for key, item in value.items():
            if key in ("type", "role", "object") and isinstance(item, str):
                out.add(f"{path}.{key}={item}")
            out |= shape(item, f"{path}.{key}")
        return out
    if isinstance(value, list):
        out = {f"{path}:array"}
        for item in value:
            out |= shape(item, f"{path}[*]")
        return out
    kind = "null" if value is None else type(value).__name__
    return {f"{path}:{kind}"}


def fixture_path(scenario: Scenario) -> Path:
    return FIXTURES / scenario.cli / f"{scenario.name}.json"


def load_fixture(scenario: Scenario) -> list[dict[str, Any]]:
    return list(json.loads(fixture_path(scenario).read_text(encoding="utf-8")))


def llm_bodies(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fixture's LLM calls (those with a dialect and a body)."""
    return [r for r in requests if r["dialect"] and isinstance(r["body"], dict)]


async def _record_all(run_one: Callable[[Scenario, Path], Awaitable[Any]]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for scenario in SCENARIOS:
            run, requests = await run_one(scenario, Path(workdir))
            if run.returncode != 0:
                raise SystemExit(run.explain())
            path = fixture_path(scenario)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(requests, indent=1, ensure_ascii=False) + "\n", "utf-8")
            print(f"{path.relative_to(FIXTURES.parents[1])}: {len(requests)} requests")


if __name__ == "__main__":
    asyncio.run(_record_all(capture))
