"""What a headless start tells a person at once: which providers answer, and a key refused at
the start-up model listing, said on stderr the moment it is known (not at the first failed
call). The real program as a child process, against the scripted upstream."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.shell.banner import ANSWERING_WAIT_S
from tests.contract.offline import find_cli
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.transports.gateway.conftest import OPENAI_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LISTING_WAIT_S = 10.0
# Claude Code's `auth status` (a start of its own) before the first look ends, on a loaded machine.
LOGIN_WAIT_S = 40.0
KEY_VARIABLES = ("OPENAI", "ANTHROPIC", "GEMINI", "GOOGLE", "MISTRAL", "GROQ", "XAI", "AZURE")
OPENAI_CATALOGUE = next(spec.models for spec in API_PROVIDERS if spec.id == "openai")


def _one_vendor(home: Path, port: int, upstream: ScriptedUpstream) -> dict[str, str]:
    """A person with an OpenAI key alone (whatever this machine's environment holds)."""
    env = gp.child_env(home, port)
    for name in [n for n in env if n.startswith(KEY_VARIABLES)]:
        del env[name]
    env.update(OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=upstream.base_url + "/v1")
    return env


async def _run(env: dict[str, str], port: int, *, failing: list[str]) -> tuple[str, str]:
    """Start, wait until `/health` names `failing` (the start-up listing is read in the
    background), stop; what it printed."""
    proc = gp.start(["--headless"], env)
    await asyncio.to_thread(gp.wait_ready, proc, port)
    async with asyncio.timeout(LISTING_WAIT_S), aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"http://127.0.0.1:{port}/health") as answer:
                if (await answer.json())["providers"]["failing"] == failing:
                    break
            await asyncio.sleep(0.05)
    code, out, err = await _stop_after_banner(proc)
    assert code == 0, err
    return out, err


async def test_the_banner_names_the_provider_that_answers(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    port = free_port()
    out, err = await _run(_one_vendor(tmp_path, port, upstream), port, failing=[])
    [answering] = [line for line in out.splitlines() if "answering:" in line]
    assert "openai (" in answering and "GET /v1/models lists them" in answering
    assert "llmgw-desktop quit" in out  # every way to stop it
    assert "refused the key" not in err


async def test_a_key_refused_at_start_is_said_on_stderr_naming_its_source(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(OPENAI_KEY)
    port = free_port()
    out, err = await _run(_one_vendor(tmp_path, port, upstream), port, failing=["openai"])
    [said] = [line for line in err.splitlines() if "refused the key" in line]
    assert "openai refused the key env:OPENAI_API_KEY (401)" in said
    assert OPENAI_KEY not in out + err


def _no_provider(home: Path, port: int, **extra: str) -> dict[str, str]:
    """A person with no key, no coding CLI on PATH and no local model server."""
    env = gp.child_env(home, port, LLM_GATEWAY_DETECT_LOCAL="false", **extra)
    for name in [n for n in env if n.startswith(KEY_VARIABLES)]:
        del env[name]
    empty = home / "empty-bin"
    empty.mkdir(exist_ok=True)
    env["PATH"] = str(empty)
    return env


def _answering(out: str) -> str:
    [answering] = [line for line in out.splitlines() if "answering:" in line]
    return answering


async def test_the_banner_counts_the_models_v1_models_lists(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    """The banner waits for the providers' own lists (held here for a moment): it counted the
    six built-in OpenAI models where `/v1/models` listed those OpenAI answered with."""
    # OpenAI's own API lists its built-in models among others.
    upstream.model_ids["chat"] = [*OPENAI_CATALOGUE, "gpt-5-fake"]
    upstream.models_gate = gate = asyncio.Event()
    asyncio.get_running_loop().call_later(1.0, gate.set)
    port = free_port()
    proc = gp.start(["--headless"], _one_vendor(tmp_path, port, upstream))
    await asyncio.to_thread(gp.wait_ready, proc, port)
    async with asyncio.timeout(LISTING_WAIT_S), aiohttp.ClientSession() as session:
        await gate.wait()
        while True:
            async with session.get(f"http://127.0.0.1:{port}/v1/models") as answer:
                listed = (await answer.json())["data"]
            if any(row["id"] not in OPENAI_CATALOGUE for row in listed):
                break
            await asyncio.sleep(0.05)
    code, out, err = await _stop_after_banner(proc)
    assert code == 0, err
    counted = [int(n) for n in re.findall(r"\((\d+) models?\)", _answering(out))]
    assert sum(counted) == len(listed) > len(OPENAI_CATALOGUE), (out, listed)


async def test_a_stop_asked_while_the_banner_waits_is_not_held_by_it(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    """The banner waits for the first look at the providers, and reads the store, before it
    prints. A SIGTERM meanwhile stops at once: it waited for the banner, and with PostgreSQL
    frozen for good, since the store cuts a COMMIT's wait only once the stop has begun."""
    upstream.models_gate = asyncio.Event()  # never opened: the first look goes on waiting
    port = free_port()
    proc = gp.start(["--headless"], _one_vendor(tmp_path, port, upstream))
    await asyncio.to_thread(gp.wait_ready, proc, port)
    asked = time.monotonic()
    code, out, err = await asyncio.to_thread(gp.stop, proc)
    took = time.monotonic() - asked
    assert code == 0, err
    assert "Traceback" not in err, err
    # Well inside the banner's wait, with room for a loaded machine's ordinary stop.
    assert took < ANSWERING_WAIT_S - 1.5, f"the stop took {took:.1f} s, held by the banner"
    # Printed all the same, with what answered when the stop came.
    assert f"API base URL: http://127.0.0.1:{port}/v1" in out, out
    assert "model lists are still being read" in _answering(out), out


async def test_with_nothing_to_answer_the_banner_health_and_models_say_none(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _no_provider(tmp_path, port)
    proc = gp.start(["--headless"], env)
    await asyncio.to_thread(gp.wait_ready, proc, port)
    async with asyncio.timeout(LISTING_WAIT_S), aiohttp.ClientSession() as session:
        while True:  # the first look at the providers ends a moment after the door opens
            async with session.get(f"http://127.0.0.1:{port}/health") as answer:
                if (await answer.json())["providers"]["state"] == "none":
                    break
            await asyncio.sleep(0.05)
    code, out, err = await _stop_after_banner(proc)
    assert code == 0, err
    answering = _answering(out)
    assert "no provider can answer yet" in answering
    # A key stored in the vault is used at once; one in a variable needs a new start.
    assert "in the vault" in answering and "no restart needed" in answering


async def test_a_refused_key_is_not_followed_by_set_a_vendors_key(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(OPENAI_KEY)
    port = free_port()
    out, err = await _run(_one_vendor(tmp_path, port, upstream), port, failing=["openai"])
    answering = _answering(out)
    assert "openai refused the key" in answering, answering
    assert "set a vendor's key" not in answering
    assert "store a working one in the vault" in answering and "OPENAI_API_KEY" in answering
    [said] = [line for line in err.splitlines() if "refused the key" in line]
    assert "no restart needed" in said


async def test_the_desktop_app_prints_the_banner_on_its_terminal_too(tmp_path: Path) -> None:
    port = free_port()
    env = _no_provider(tmp_path, port, QT_QPA_PLATFORM="offscreen")
    proc = gp.start(["--hidden"], env)
    await asyncio.to_thread(gp.wait_ready, proc, port)
    try:
        printed = await asyncio.wait_for(asyncio.to_thread(_lines_until, proc, "Stop it"), 30)
    finally:
        code, _out, err = await asyncio.to_thread(gp.stop, proc)
    assert code == 0, err
    assert f"API base URL: http://127.0.0.1:{port}/v1" in printed, (printed, err)
    assert printed.startswith("llmgw-desktop ") and " running" in printed.splitlines()[0]
    assert "no provider can answer yet" in _answering(printed)


async def _stop_after_banner(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Stop the child once it has printed its banner (printed beside the wait for a stop, so a
    stop asked sooner gets it at once, with what answered then); what `gp.stop` returns, the
    banner leading `out`."""
    try:
        printed = await asyncio.wait_for(asyncio.to_thread(_lines_until, proc, "Stop it"), 30)
    finally:
        code, out, err = await asyncio.to_thread(gp.stop, proc)
    return code, printed + out, err


def _lines_until(proc: subprocess.Popen[str], last: str) -> str:
    """What the child printed on stdout up to the line that starts with `last` (bounded by
    the caller's timeout)."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(last):
            break
    return "".join(lines)


async def test_a_logged_out_claude_code_is_not_answering_and_the_banner_says_what_to_do(
    tmp_path: Path,
) -> None:
    """The real Claude Code on PATH, in a home with no login: it was counted as answering
    ("claude-cli (3 models)") until its first call failed. It says itself that it is logged
    out, before the banner is printed."""
    port = free_port()
    env = _no_provider(tmp_path, port)
    (tmp_path / "empty-bin" / "claude").symlink_to(find_cli("claude"))
    home = tmp_path / "home"
    home.mkdir()
    env["HOME"] = str(home)
    proc = gp.start(["--headless"], env)
    await asyncio.to_thread(gp.wait_ready, proc, port)
    async with asyncio.timeout(LOGIN_WAIT_S), aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"http://127.0.0.1:{port}/health") as answer:
                if (await answer.json())["providers"]["state"] == "none":
                    break
            await asyncio.sleep(0.05)
        async with session.get(f"http://127.0.0.1:{port}/v1/models") as answer:
            assert (await answer.json())["data"] == []
    code, out, err = await _stop_after_banner(proc)
    assert code == 0, err
    answering = _answering(out)
    assert "no provider can answer: Claude Code is not logged in" in answering, answering
    assert "/login" in answering and "claude-cli" not in answering
    assert "refused the key" not in answering
