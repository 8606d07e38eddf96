"""The README's "Connect your first tool", run as written by a person with one vendor's key (an
OpenAI key), with the real Claude Code and Codex, the official OpenAI SDK and the `connect`
command, against a gateway whose providers are the scripted upstream.

What differs from the page, and why: the port (the README's 3333 is replaced by this test's
gateway's own, so tests never collide), each CLI's private home, and a prompt added where the
README starts an interactive session (`-p "say hello"`). Commands run in the repository's root,
where the README's install put `.venv`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import CLI_TIMEOUT_S, client_environment, run_program
from tests.clients.terminal import Terminal
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = [pytest.mark.contract, pytest.mark.skipif(sys.platform == "win32", reason="bash")]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV_SCRIPT = ROOT / ".venv" / "bin" / "llmgw-desktop"


def _shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.strip().splitlines()]


def _readme_line(starts: str, port_url: str, *, containing: str = "") -> str:
    """The README's shell line that starts with `starts` (and holds `containing`), on the
    test's gateway."""
    [line] = [
        line for line in _shell_lines(README) if line.startswith(starts) and containing in line
    ]
    return line.replace("http://127.0.0.1:3333", port_url)


@pytest.fixture
async def openai_only(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> GatewayRuntime:
    """A gateway that has an OpenAI key and no other."""
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    if not VENV_SCRIPT.exists():
        pytest.skip(f"the README's install makes {VENV_SCRIPT}")
    gateway: GatewayRuntime = await start_gateway()
    return gateway


def _environment(home: Path, gateway: GatewayRuntime) -> dict[str, str]:
    """A person's shell: a private home, the CLIs on PATH, the gateway's own settings (its
    data folder, so `connect` finds the running gateway), no client variables set yet."""
    import os

    env = client_environment(home, gateway.base_url)
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        env.pop(name, None)
    env |= {k: v for k, v in os.environ.items() if k.startswith("LLM_GATEWAY_")}
    return env


async def _bash(line: str, env: dict[str, str], answer: str = "") -> tuple[int, str, str]:
    """Run `line` in bash from the repository's root; `answer`: what the person types."""
    script = f"echo {answer} | {{ {line} ; }}" if answer else line
    return await run_program(("bash", "-c", script), env=env, cwd=ROOT, timeout_s=CLI_TIMEOUT_S)


async def test_claude_code_with_only_an_openai_key_as_the_readme_says(
    openai_only: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    gateway = openai_only
    env = _environment(tmp_path / "home", gateway)

    code, out, err = await _bash(
        _readme_line(".venv/bin/llmgw-desktop connect claude-code", gateway.base_url), env
    )
    assert code == 0, err
    openai_line = _readme_line("ANTHROPIC_BASE_URL=", gateway.base_url, containing="MODEL")
    assert openai_line in out.splitlines()  # what connect says is what the README shows

    code, out, err = await _bash(openai_line + ' -p "say hello"', env)
    assert code == 0, err + out
    assert "FAKE-OK" in out
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}


async def test_claude_code_started_as_the_readme_says_answers_in_its_window(
    openai_only: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """The README's line as written, `claude` on a terminal as a person starts it: past the
    folder's trust question, Claude Code asks nothing more (a key in `ANTHROPIC_API_KEY` it
    would first offer to trust, "No" preselected, and then say "Not logged in") and answers.

    Its very first start also has the person pick a look and checks that api.anthropic.com
    answers, which no test can reach: the private home says that was done before."""
    home = tmp_path / "home"
    env = _environment(home, openai_only) | {"TERM": "xterm-256color"}
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))
    line = _readme_line("ANTHROPIC_BASE_URL=", openai_only.base_url, containing="MODEL")
    async with Terminal(("bash", "-c", line), env=env, cwd=tmp_path / "work") as claude:
        await claude.shows("Yes, I trust this folder")
        claude.type("\r")
        await claude.shows("? for shortcuts")
        assert not claude.has_shown("Do you want to use this API key"), claude.screen
        claude.type("say hello")
        await claude.shows("say hello")
        claude.type("\r")
        await claude.shows(DEFAULT_ANSWER)
    assert not claude.has_shown("Not logged in"), claude.screen
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}


async def test_claude_code_started_by_run_as_the_readme_says(
    openai_only: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """`llmgw-desktop run claude` with only an OpenAI key: the running gateway is used, and
    Claude Code is told the model that answers."""
    env = _environment(tmp_path / "home", openai_only)
    line = _readme_line(".venv/bin/llmgw-desktop run claude", openai_only.base_url)
    code, out, err = await _bash(line + ' -p "say hello"', env)
    assert code == 0, err + out
    assert "FAKE-OK" in out and "started the gateway" not in err
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}


@pytest.mark.parametrize("way", ["--transport http", "-- "])
async def test_claude_code_adds_the_gateway_s_tools_as_the_readme_says(
    openai_only: GatewayRuntime, tmp_path: Path, way: str
) -> None:
    """Either README line (over HTTP, or the stdio relay by the path the README gives), then
    `claude mcp list`, which starts the server and says whether it connected."""
    env = _environment(tmp_path / "home", openai_only)
    code, _, err = await _bash(
        _readme_line("claude mcp add", openai_only.base_url, containing=way), env
    )
    assert code == 0, err
    code, out, err = await _bash("claude mcp list", env)
    assert code == 0, err
    [listed] = [line for line in out.splitlines() if line.startswith("llmgw-desktop:")]
    assert "Connected" in listed, out
    if way == "-- ":
        assert str(VENV_SCRIPT) in listed


async def test_codex_as_the_readme_says(
    openai_only: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    gateway = openai_only
    home = tmp_path / "home"
    env = _environment(home, gateway)
    lines = [
        _readme_line(".venv/bin/llmgw-desktop connect codex", gateway.base_url),
        _readme_line("export LLMGW_API_KEY", gateway.base_url),
        _readme_line("codex mcp add", gateway.base_url),
    ]
    code, out, err = await _bash(" && ".join(lines), env)
    assert code == 0, err + out
    config = (home / ".codex" / "config.toml").read_text()
    assert 'model_provider = "llmgw"' in config and gateway.base_url in config
    # The line connect printed says the same run as the README's.
    assert [line for line in out.splitlines() if line.startswith("codex exec")]
    # The README's run, in the same shell as its export.
    run = _readme_line("codex exec", gateway.base_url)
    code, out, err = await _bash(f"{lines[1]} && {run}", env)
    assert code == 0, err + out
    assert "FAKE-OK" in out
    assert {r.path for r in upstream.llm_requests} == {"/v1/responses"}


async def test_the_sdk_script_as_the_readme_says(
    openai_only: GatewayRuntime, tmp_path: Path
) -> None:
    [script] = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    path = tmp_path / "hello.py"
    path.write_text(script.replace("http://127.0.0.1:3333", openai_only.base_url))
    code, out, err = await run_program(
        (sys.executable, str(path)),
        env=_environment(tmp_path / "home", openai_only),
        cwd=tmp_path,
        timeout_s=CLI_TIMEOUT_S,
    )
    assert code == 0, err
    assert "FAKE-OK" in out


async def test_the_editors_entries_as_the_readme_says(
    openai_only: GatewayRuntime, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = _environment(home, openai_only)
    for editor, file in (
        ("zed", ".config/zed/settings.json"),
        ("jetbrains", ".jetbrains/acp.json"),
    ):
        line = _readme_line(
            ".venv/bin/llmgw-desktop connect", openai_only.base_url, containing=editor
        )
        code, out, err = await _bash(line, env, answer="y")
        assert code == 0, err + out
        written = (home / file).read_text()
        assert f'"command": "{VENV_SCRIPT}"' in written
        assert '"gpt-5.1"' in written  # a model that answers with an OpenAI key
    code, out, err = await _bash(
        _readme_line(".venv/bin/llmgw-desktop connect neovim", openai_only.base_url), env
    )
    assert code == 0, err
    assert f'"{VENV_SCRIPT}", "acp", "--model", "gpt-5.1"' in out
