"""Finding 20 (issue 26, item 8): the operator's own secrets, shown because they have no shape.

The redactor masked API keys and bearer tokens by their shape, but the vault's master key is
plain base64: a CLI steered into printing its environment put the key in its answer, the job
store kept it and both doors returned it, while the keys beside it were masked. The HTTP
gateway did not mask answers at all. Now the process's own secrets (master key, static bearer
token, registration secret, the store's password) are masked by exact value wherever the
redactor runs, and in every answer either door returns (see SECURITY.md, "what each door
masks").

A model (the scripted upstream, which quotes the prompt back) repeats the master key: through
the HTTP gateway's dialects, and through an MCP tool that runs Mistral Vibe's stand-in CLI as a
job. The answer around the key, and an API-key-shaped text the caller sent itself, come back.
"""

from __future__ import annotations

import secrets
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.vault.master_key import encode_key
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._operator_support import mcp_client
from tests.transports.gateway.completions.test_fim import providers as fim_providers
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
MASTER_KEY = encode_key(secrets.token_bytes(32))
# A caller's own text, which is the caller's business: relayed as sent.
OWN_TEXT = "my-build-" + secrets.token_hex(6)

WHOLE = {
    "/v1/chat/completions": {"model": "gpt-4o", "messages": [{"role": "user", "content": ""}]},
    "/v1/messages": {
        "model": "claude-sonnet-4-6",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": ""}],
    },
    "/v1beta/models/gemini-2.5-flash:generateContent": {
        "contents": [{"role": "user", "parts": [{"text": ""}]}]
    },
}


def with_prompt(body: dict[str, Any], prompt: str) -> dict[str, Any]:
    if "contents" in body:
        return {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    return body | {"messages": [{"role": "user", "content": prompt}]}


async def post(gateway: GatewayRuntime, path: str, body: dict[str, Any]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + path, json=body) as answer,
    ):
        return answer.status, await answer.text()


@pytest.fixture
def master_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("LLMGW_TEST_PYTHON", sys.executable)
    monkeypatch.setenv("VIBE_HOME", str(tmp_path / "vibe"))


async def test_master_key_in_an_answer_is_masked_on_both_doors(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    master_key_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
    gateway: GatewayRuntime = await start_gateway({"providers.cli_path": [str(FAKE_BIN)]})
    prompt = f"env says LLM_GATEWAY_MASTER_KEY={MASTER_KEY} and {OWN_TEXT}"

    for path, body in WHOLE.items():
        status, text = await post(gateway, path, with_prompt(body, prompt))
        assert status == 200, text
        assert MASTER_KEY not in text, f"{path}: {text}"
        assert "[REDACTED]" in text and OWN_TEXT in text, f"{path}: {text}"

    async with mcp_client(gateway, {}) as client:
        ran = await client.call_tool("mistral_request", {"prompt": prompt})
    assert not ran.is_error, ran.structured_content
    answer = str(ran.structured_content)
    assert MASTER_KEY not in answer, answer
    assert "[REDACTED]" in answer and OWN_TEXT in answer, answer

    # Nor is it kept: the job store and the database file hold no copy.
    database = gateway.settings.database_file
    stored = b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )
    assert MASTER_KEY.encode() not in stored
    with sqlite3.connect(database) as db:
        outputs = [row[0] or "" for row in db.execute("SELECT output FROM jobs")]
    assert outputs and OWN_TEXT in "".join(outputs)


# Each wire a text completion is asked in (issue 63): Codestral's FIM endpoint (the Chat
# Completions shape), an OpenAI-compatible `/completions`, and Ollama's newline-delimited JSON.
COMPLETION_MODELS = ("codestral-latest", "deepseek/deepseek-chat", "ollama/qwen2.5-coder")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", COMPLETION_MODELS)
async def test_master_key_in_a_completion_is_masked_as_in_a_chat(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    master_key_env: None,
    model: str,
    stream: bool,
) -> None:
    gateway: GatewayRuntime = await start_gateway(fim_providers(upstream))
    # Long after the key, so a stream sent in two halves carries it whole in the first.
    upstream.script(Reply.ok(f"{MASTER_KEY} {OWN_TEXT} {'y' * 120}", verbatim=True))
    body = {"model": model, "prompt": "def f():", "suffix": "\n", "stream": stream}
    status, text = await post(gateway, "/v1/completions", body)
    assert status == 200, text
    assert MASTER_KEY not in text, text
    assert "[REDACTED]" in text and OWN_TEXT in text, text
