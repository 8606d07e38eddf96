"""The first refusal of each kind someone must set up is said on the gateway's stderr and in its
log, once, naming the fix: a person who started it in a terminal sees why Claude Code got
nothing, without --verbose. The real program as a child process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.transports.gateway.conftest import OPENAI_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

KEY_VARIABLES = ("OPENAI", "ANTHROPIC", "GEMINI", "GOOGLE", "MISTRAL", "GROQ", "XAI", "AZURE")
CLAUDE_CODE = {"User-Agent": "claude-cli/2.1.197 (external, cli)"}


async def test_the_first_no_key_refusal_goes_to_stderr_and_the_log_once(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    port = free_port()
    env = gp.child_env(tmp_path, port)
    for name in [n for n in env if n.startswith(KEY_VARIABLES)]:
        del env[name]
    env.update(OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=upstream.base_url + "/v1")
    proc = gp.start(["--headless"], env)
    await asyncio.to_thread(gp.wait_ready, proc, port)
    hello = [{"role": "user", "content": "hi"}]
    claude = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": hello}
    url = f"http://127.0.0.1:{port}/v1/messages"
    try:
        for _ in range(3):
            status, _, _ = await asyncio.to_thread(gp.post_json, url, claude, CLAUDE_CODE)
            assert status == 400
    finally:
        code, _, err = await asyncio.to_thread(gp.stop, proc)
    assert code == 0, err
    said = [line for line in err.splitlines() if "refused claude-code's request" in line]
    assert len(said) == 1, err
    refused = "llmgw-desktop: refused claude-code's request for 'claude-sonnet-4-6'"
    assert said[0].startswith(refused), said
    assert "ANTHROPIC_API_KEY" in said[0] and "llmgw-desktop run claude" in said[0]
    assert gp.read_log(tmp_path).count("refused claude-code's request") == 1
