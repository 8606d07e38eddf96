"""mcp-llm-bridge's Quick Start, as its README writes it, against a fresh gateway.

The seed the native API was specified from (mcp-llm-bridge's README) starts with two curl
commands: store an Anthropic key, then generate with no model named. They run here word for
word in a shell, with the real curl, against a gateway that starts with no key at all: the key
the first command stores is the only one it has. Only where they connect differs: the seed's
gateway listens on 3456, which another program on this machine may hold, so `curl` is given
`--connect-to` to reach this test's gateway on the port the OS picked (the URL, method,
headers and body are the seed's). The scripted upstream stands in for Anthropic's API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.gateways import gateway_starter

# The Quick Start's two commands, as mcp-llm-bridge's README prints them.
QUICK_START = """\
# Store an Anthropic API key
curl -X POST http://localhost:3456/v1/credentials \\
-H 'Content-Type: application/json' \\
-d '{"provider": "anthropic", "apiKey": "sk-ant-..."}'
# Generate text
curl -X POST http://localhost:3456/v1/generate \\
-H 'Content-Type: application/json' \\
-d '{"prompt": "Explain quicksort in one paragraph"}'
"""
# Each command's output on a line of its own, then the HTTP status.
_CURL = 'curl() {{ command curl -sS --connect-to localhost:3456:127.0.0.1:{port} "$@"; echo; }}'
TIMEOUT_S = 30.0


@pytest.fixture
def only_anthropic_upstream(upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anthropic's API is the scripted upstream; no provider has a key in the environment."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)


async def run_as_written(script: str, port: int) -> list[dict[str, object]]:
    """`script` run by sh with curl reaching the gateway on `port`; each answer, parsed."""
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        _CURL.format(port=port) + "\n" + script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(shell.communicate(), TIMEOUT_S)
    assert shell.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_quick_start_runs_as_written_on_a_fresh_gateway(
    loaded: LoadedSettings,
    only_anthropic_upstream: None,
    upstream: ScriptedUpstream,
) -> None:
    async with gateway_starter(loaded) as start:
        gateway = await start()
        stored, generated = await run_as_written(QUICK_START, gateway.http.port)
    assert stored["provider"] == "anthropic" and stored["project"] == "_global", stored
    # No model named and gateway.default_model empty: the first provider that answers.
    assert generated["resolvedProvider"] == "anthropic", generated
    assert str(generated["text"]).startswith(DEFAULT_ANSWER), generated
    assert generated["requestedModel"] is None and generated["fallbackUsed"] is False
    # The one key there is, the one the first command stored, went to the upstream.
    [sent] = upstream.llm_requests
    assert sent.secrets["x-api-key"] == hashlib.sha256(b"sk-ant-...").hexdigest()[:16]
    assert "quicksort" in json.dumps(sent.body)
