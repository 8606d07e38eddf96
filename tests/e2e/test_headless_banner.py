"""What a headless start tells a person at once: which providers answer, and a key refused at
the start-up model listing, said on stderr the moment it is known (not at the first failed
call). The real program as a child process, against the scripted upstream."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import OPENAI_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LISTING_WAIT_S = 10.0
KEY_VARIABLES = ("OPENAI", "ANTHROPIC", "GEMINI", "GOOGLE", "MISTRAL", "GROQ", "XAI", "AZURE")


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
    code, out, err = await asyncio.to_thread(gp.stop, proc)
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
