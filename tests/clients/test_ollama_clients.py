"""llm-ollama (the `llm` plugin for Ollama's API), unmodified from its own venv, with
`OLLAMA_HOST` = the gateway: it registers a chat model for each model `/api/show` says
`completion` of, and an embedding model for each it says `embedding` of. Before, every model
said `completion` and the gateway's embedding models were not listed, so none registered."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import run_program
from tests.clients.python_tools import package_venv

pytestmark = pytest.mark.contract

TIMEOUT_S = 120.0


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
