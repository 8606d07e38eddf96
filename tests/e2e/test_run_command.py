"""`llmgw-desktop run TOOL [ARGS...]` as a person types it, the real program as a child process:
it starts the gateway in the background when none runs (and says so), points the tool at it on
a model that answers with this machine's keys (only an OpenAI key here, pointed at the scripted
upstream), makes a key for the run on a locked gateway and revokes it when the tool exits, and
says in one line why it starts nothing when nothing would answer. The tools are the real
Claude Code and Codex CI installs, and `env` to see the variables."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from tests.child_python import run_ours
from tests.contract.offline import CLI_BIN, PY_CLI_BIN, find_cli, private_home
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.transports.gateway.conftest import OPENAI_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The vendors' variables a person may have: none of this machine's reach the children.
KEY_VARIABLES = ("OPENAI", "ANTHROPIC", "GEMINI", "GOOGLE", "MISTRAL", "GROQ", "XAI", "AZURE")
RUN_TIMEOUT_S = 150.0
LOCK_TOKEN = "locked-gateway-token-0123456789-abcdefghij"
OPENAI_CATALOGUE = next(spec.models for spec in API_PROVIDERS if spec.id == "openai")


@dataclass(frozen=True)
class Desk:
    """A person's terminal: their environment, and where the gateway keeps its files."""

    env: dict[str, str]
    home: Path
    port: int

    async def run(self, *args: str) -> tuple[int | None, str, str]:
        """`llmgw-desktop ARGS` in this terminal: exit code, stdout, stderr."""
        code, out, err = await run_ours(*args, env=self.env, cwd=self.home, timeout_s=RUN_TIMEOUT_S)
        return code, out.decode(errors="replace"), err.decode(errors="replace")


def _terminal(home: Path, port: int, **keys: str) -> dict[str, str]:
    """A terminal with no display (the gateway starts headless), the real CLIs on PATH, a
    private home for them, and only the keys given."""
    env = gp.child_env(home, port) | private_home(home / "home")
    for name in [n for n in env if n.startswith(KEY_VARIABLES)]:
        del env[name]
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([str(CLI_BIN), env.get("PATH", "")])
    env["CODEX_HOME"] = str(home / "home" / ".codex")
    (home / "home" / ".codex").mkdir(parents=True, exist_ok=True)
    return env | keys


@pytest.fixture
async def openai_only(tmp_path: Path, upstream: ScriptedUpstream) -> AsyncIterator[Desk]:
    """A terminal with only an OpenAI key; the gateway `run` starts is stopped at the end.
    The upstream lists what OpenAI's own API lists: its built-in models among others."""
    upstream.model_ids["chat"] = [*OPENAI_CATALOGUE, "gpt-5-fake"]
    port = free_port()
    env = _terminal(
        tmp_path, port, OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=upstream.base_url + "/v1"
    )
    desk = Desk(env, tmp_path, port)
    try:
        yield desk
    finally:
        await desk.run("quit")


def _variables(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def test_run_env_starts_the_gateway_and_hands_every_sdk_its_variables(
    openai_only: Desk,
) -> None:
    assert gp.health(openai_only.port) is None  # nothing serves yet
    code, out, err = await openai_only.run("run", "env")
    assert code == 0, err
    assert "started the gateway in the background (headless" in err, err
    assert gp.health(openai_only.port) is not None  # it keeps serving after the command
    seen = _variables(out)
    base = f"http://127.0.0.1:{openai_only.port}"
    assert seen["OPENAI_BASE_URL"] == base + "/v1"
    assert seen["ANTHROPIC_BASE_URL"] == seen["GOOGLE_GEMINI_BASE_URL"] == base
    assert seen["OLLAMA_HOST"] == base
    assert seen["OPENAI_API_KEY"] == seen["ANTHROPIC_API_KEY"] == seen["LLMGW_API_KEY"]
    assert OPENAI_KEY not in out  # the vendor's key stays with the gateway
    assert seen["LLMGW_MODEL"] == "gpt-5.1"  # the first model that answers here
    # The gateway was already running the second time: nothing said about starting it.
    code, _, again = await openai_only.run("run", "env")
    assert code == 0 and "started the gateway" not in again


async def test_run_says_in_one_line_why_nothing_starts_without_any_key(tmp_path: Path) -> None:
    port = free_port()
    desk = Desk(_terminal(tmp_path, port), tmp_path, port)
    try:
        code, out, err = await desk.run("run", "env")
    finally:
        await desk.run("quit")
    assert code == 1, err
    assert out == ""  # `env` never ran
    [why] = [line for line in err.splitlines() if "started the gateway" not in line]
    assert why.startswith("llmgw-desktop run: no provider can answer a call")
    assert "OPENAI_API_KEY" in why and "vault" in why


async def test_run_says_who_holds_the_port_and_how_to_choose_another(tmp_path: Path) -> None:
    """Another program listens on the gateway's port: the start `run` made fails, and its
    one line says so and how to run on another port, as a start in the terminal says it."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = int(holder.getsockname()[1])
        desk = Desk(_terminal(tmp_path, port, OPENAI_API_KEY=OPENAI_KEY), tmp_path, port)
        code, out, err = await desk.run("run", "env")
    assert code != 0 and out == "", err
    [why] = [line for line in err.splitlines() if line.startswith("llmgw-desktop run:")]
    assert f"cannot listen on 127.0.0.1:{port}: the port is used by another program" in why
    assert "LLM_GATEWAY_HTTP_PORT" in why


async def test_run_names_the_install_command_of_a_tool_not_installed(
    tmp_path: Path, path_without_vendor_clis: str
) -> None:
    port = free_port()
    # This machine's PATH without a vendor CLI a developer installed (tests/conftest.py).
    env = _terminal(tmp_path, port, OPENAI_API_KEY=OPENAI_KEY) | {"PATH": path_without_vendor_clis}
    code, _, err = await Desk(env, tmp_path, port).run("run", "claude", "-p", "hi")
    assert code == 1
    assert err.strip() == (
        "llmgw-desktop run: Claude Code is not installed (claude is not on PATH): "
        "npm install -g @anthropic-ai/claude-code"
    )
    assert gp.health(port) is None  # nothing was started for it


async def test_run_claude_answers_on_the_model_that_answers_with_an_openai_key(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    code, out, err = await openai_only.run("run", "claude", "-p", "say hello")
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert "Claude Code asks for anthropic models" in err and "runs on gpt-5.1" in err
    sent = {(r.path, r.body.get("model")) for r in upstream.llm_requests}
    assert sent == {("/v1/chat/completions", "gpt-5.1")}, sent


async def test_run_claude_on_a_server_set_by_openai_base_url_runs_on_a_model_it_lists(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    """`OPENAI_BASE_URL` at a compatible server serving one model of its own: the run waits
    for the gateway's first look and sets Claude Code up on that model, not on the built-in
    gpt-5.1 the server does not serve (a review saw it offered as what "answers instead")."""
    find_cli("claude")
    upstream.model_ids["chat"] = ["qwen3-coder"]
    code, out, err = await openai_only.run("run", "claude", "-p", "say hello")
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert "runs on qwen3-coder" in err, err
    sent = {(r.path, r.body.get("model")) for r in upstream.llm_requests}
    assert sent == {("/v1/chat/completions", "qwen3-coder")}, sent


async def test_run_codex_answers_through_the_gateway_with_its_config_left_alone(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    find_cli("codex")
    code, out, err = await openai_only.run(
        "run", "codex", "exec", "--skip-git-repo-check", "say hello"
    )
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert {r.path for r in upstream.llm_requests} == {"/v1/responses"}
    assert not (openai_only.home / "home" / ".codex" / "config.toml").exists()


async def test_run_codex_on_a_server_set_by_openai_base_url_asks_for_a_model_it_lists(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    """Codex's own default model is none a compatible server serves: the run names the
    server's model (Codex was told nothing, and asked for its default)."""
    find_cli("codex")
    upstream.model_ids["chat"] = ["qwen3-coder"]
    code, out, err = await openai_only.run(
        "run", "codex", "exec", "--skip-git-repo-check", "say hello"
    )
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert "lists none of openai's models: it runs on qwen3-coder" in err, err
    sent = {(r.path, r.body.get("model")) for r in upstream.llm_requests}
    assert sent == {("/v1/responses", "qwen3-coder")}, sent


async def test_on_a_locked_gateway_a_run_has_its_own_key_revoked_when_it_ends(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    (openai_only.home / "config.toml").write_text(
        f'[http]\nauth_token = "{LOCK_TOKEN}"\n', encoding="utf-8"
    )
    code, out, err = await openai_only.run("run", "env")
    assert code == 0, err
    key = _variables(out)["ANTHROPIC_API_KEY"]
    assert key != LOCK_TOKEN and "made the gateway key key:run-env" in err, err
    _, listed, _ = await openai_only.run("keys", "list", "--json")
    [made] = json.loads(listed)
    assert (made["name"], made["state"]) == ("run-env", "revoked"), made
    assert made["expiresAt"] is not None  # had it not been revoked, it would end by itself
    # Claude Code itself, through the lock, on its own key; the next run is the same holder.
    code, out, err = await openai_only.run("run", "claude", "-p", "say hello")
    assert code == 0 and "FAKE-OK" in out, out + err
    assert "key:run-claude" in err
    code, _, err = await openai_only.run("run", "claude", "-p", "say hello")
    assert code == 0 and "key:run-claude " in err, err


async def test_the_tools_exit_code_is_runs_own(openai_only: Desk) -> None:
    code, _, err = await openai_only.run("run", "sh", "-c", "exit 7")
    assert code == 7, err
    assert gp.health(openai_only.port) is not None  # the gateway kept serving


async def test_run_gemini_answers_on_the_model_that_answers_with_an_openai_key(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    """The Gemini CLI reads no settings file under a folder others may write to, as /tmp is:
    the gateway keeps its files in the home folder here, as it does by default."""
    find_cli("gemini")
    data = Path(tempfile.mkdtemp(prefix=".llmgw-run-test-", dir=Path.home()))
    openai_only.env["LLM_GATEWAY_DATA_DIR"] = str(data)
    # Headless in a folder it never saw, and no login chosen before (a newcomer's): `run`
    # chooses the API-key one.
    openai_only.env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"
    try:
        code, out, err = await openai_only.run("run", "gemini", "-p", "say hello")
    finally:
        await openai_only.run("quit")
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert {r.body.get("model") for r in upstream.llm_requests} == {"gpt-5.1"}


async def test_run_grok_answers_through_the_gateway(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    """xAI's Grok CLI, pointed by its models base URL: its turn is a chat completion through
    the gateway, on the model that answers here (no xAI key)."""
    find_cli("grok")
    env = openai_only.env | {"PATH": os.pathsep.join([str(PY_CLI_BIN), openai_only.env["PATH"]])}
    desk = Desk(env, openai_only.home, openai_only.port)
    code, out, err = await desk.run("run", "grok", "--single=say hello")
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert "Grok asks for xai models" in err and "runs on gpt-5.1" in err
    assert ("/v1/chat/completions", "gpt-5.1") in {
        (r.path, r.body.get("model")) for r in upstream.llm_requests
    }


async def test_run_opencode_answers_through_the_gateway(
    openai_only: Desk, upstream: ScriptedUpstream
) -> None:
    find_cli("opencode")
    openai_only.env.update(OPENCODE_DISABLE_AUTOUPDATE="1", OPENCODE_DISABLE_MODELS_FETCH="1")
    code, out, err = await openai_only.run("run", "opencode", "run", "say hello")
    assert code == 0, err
    assert "FAKE-OK" in out, out + err
    assert {r.body.get("model") for r in upstream.llm_requests} == {"gpt-5.1"}


async def test_a_sigterm_sent_to_run_reaches_the_tool_whose_exit_code_comes_back(
    openai_only: Desk,
) -> None:
    script = "trap 'exit 9' TERM; echo ready; while :; do sleep 0.1; done"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "llmgw_desktop", "run", "sh", "-c", script),
        env=openai_only.env,
        cwd=openai_only.home,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            assert await process.stdout.readline() == b"ready\n"
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 9
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_sigterm_that_comes_before_the_tool_exists_is_sent_on_once_it_does() -> None:
    """The race CI met: a SIGTERM between the tool's start and the handlers' ended `run` and
    left the tool orphaned, holding the terminal. The handlers now come first; a signal that
    arrives before the tool exists is kept and sent on when it starts."""
    from llmgw_desktop.shell.tool_runs import _passed_on

    with _passed_on() as started:
        os.kill(os.getpid(), signal.SIGTERM)  # handled here: this test process lives on
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        started(process)
        assert process.wait(timeout=20) == -signal.SIGTERM
