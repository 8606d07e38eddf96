"""Tools that speak Ollama's API, unmodified from their own venvs, against the gateway.

llm-ollama (the `llm` plugin for Ollama's API), with `OLLAMA_HOST` = the gateway: it registers
a chat model for each model `/api/show` says `completion` of, and an embedding model for each it
says `embedding` of. Before, every model said `completion` and the gateway's embedding models
were not listed, so none registered.

LiteLLM's `ollama/` and `ollama_chat/` providers, and aider's Ollama setup: both send their JSON
bodies with no `Content-Type` (and no `Origin`: they are no browser), which the gateway refused
with 415 until finding 104 (`tests/security/test_bodies_without_media_type.py` keeps every web
page's drive-by refused beside it). What each sends matches its recorded fixture
(`tests/fixtures/clients/tools/`), so an upgrade that changes it fails here first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.capture import shape
from tests.clients.harness import run_program
from tests.clients.ollama_tools import ANSWER, OLLAMA_TOOLS, capture
from tests.clients.python_tools import PythonTool, load_tool_fixture, package_venv, run_tool
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract

TIMEOUT_S = 120.0
RERECORD = "re-record with `python -m tests.clients.ollama_tools` and review the diff"


async def _llm(venv: Path, home: Path, gateway: GatewayRuntime, *args: str) -> str:
    """`llm ARGS` run with the gateway as its Ollama host: what it printed."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "LLM_USER_PATH": str(home),  # its capability cache too, so no run reads another's
        "OLLAMA_HOST": gateway.base_url,
        "NO_COLOR": "1",
    }
    argv = (str(venv / "bin" / "llm"), *args)
    code, out, err = await run_program(argv, env=env, cwd=home, timeout_s=TIMEOUT_S)
    assert code == 0, f"{argv} exited {code}\n{out}\n{err}"
    return out


async def test_llm_ollama_registers_the_gateways_embedding_and_chat_models(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    venv = package_venv("llm-ollama")
    embedding = await _llm(venv, tmp_path, gateway, "embed-models")
    assert "ollama/text-embedding-3-small" in embedding, embedding
    assert "ollama/gpt-4o" not in embedding, embedding
    chat = await _llm(venv, tmp_path, gateway, "models")
    assert "ollama/gpt-4o" in chat, chat
    assert "ollama/text-embedding-3-small" not in chat, chat
    vector = await _llm(
        venv, tmp_path, gateway, "embed", "-m", "ollama/text-embedding-3-small", "-c", "hi"
    )
    assert vector.startswith("[") and "," in vector, vector


@pytest.mark.parametrize("tool", OLLAMA_TOOLS, ids=lambda t: t.name)
async def test_an_ollama_client_is_answered_over_the_ollama_api(
    tool: PythonTool, gateway: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    fixture = load_tool_fixture(tool)
    upstream.script(*[Reply.ok(ANSWER, verbatim=True)] * len(fixture))
    run = await run_tool(tool, gateway.base_url, named=False, home=tmp_path / "home")
    assert run.returncode == 0, run.explain()
    assert "415" not in run.stdout + run.stderr, run.explain()
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=len(fixture) + 4)
    answered = sorted((r["tool"], r["state"]) for r in rows)
    expected = sorted((e["path"], "completed") for e in fixture if e["path"] != "/api/show")
    assert answered == expected, (answered, run.explain())
    said = [line for line in run.stdout.splitlines() if ANSWER in line]
    assert said, run.explain()


@pytest.mark.parametrize("tool", OLLAMA_TOOLS, ids=lambda t: t.name)
async def test_an_ollama_client_sends_what_its_fixture_says(tool: PythonTool) -> None:
    sent = await capture(tool)
    recorded = load_tool_fixture(tool)
    assert [(e["method"], e["path"]) for e in sent] == [
        (e["method"], e["path"]) for e in recorded
    ], RERECORD
    for now, then in zip(sent, recorded, strict=True):
        assert now["userAgent"].split("/")[0] == then["userAgent"].split("/")[0], RERECORD
        assert now["headers"] == then["headers"], RERECORD
        assert shape(now["body"]) == shape(then["body"]), RERECORD
    # The reason the gateway must read them as it does: a body with neither header.
    chats = [e for e in recorded if e["path"] in ("/api/chat", "/api/generate")]
    assert chats and all(e["headers"]["content-type"] is None for e in chats)
    assert all(e["headers"]["origin"] is None for e in recorded)
