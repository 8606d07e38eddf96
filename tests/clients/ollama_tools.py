"""Tools that reach the gateway through Ollama's API, run as their users run them: LiteLLM's
`ollama/` and `ollama_chat/` providers, and aider with `--model ollama_chat/...` and
`OLLAMA_API_BASE` (its documented Ollama setup, which runs LiteLLM's provider), each from its
own venv under `.py-clients/` (`.ci/python-clients`; aider's is local only, as in
`python_tools.py`).

Both send `POST /api/chat` and `/api/generate` with a JSON body and no `Content-Type` (their
fixtures, `tests/fixtures/clients/tools/`, recorded against `RecordingOllama`, an Ollama of our
own on loopback that keeps what it is sent).

    python -m tests.clients.ollama_tools     # re-record what each sends, as fixtures
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.clients.capture import Scenario, normalised
from tests.clients.python_tools import PythonTool, run_tool, write_tool_fixture
from tests.fakes.loopback import LoopbackApp
from tests.fakes.upstream import RecordedRequest

__all__ = ["LITELLM", "OLLAMA_TOOLS", "RecordingOllama", "capture"]

# A model the gateway routes (to Anthropic's API) that LiteLLM's Ollama providers take as it
# is: aider's LiteLLM (1.81) mistakes an `ollama_chat/gpt-...` name for OpenAI's.
MODEL = "claude-sonnet-4-5"
ANSWER = "Hello there"
# Every way LiteLLM's users call an Ollama server: both providers, whole and streamed.
_LITELLM_SCRIPT = """\
import litellm
for provider in ("ollama", "ollama_chat"):
    for stream in (False, True):
        answer = litellm.completion(
            model=f"{provider}/MODEL",
            api_base="BASE_URL",
            messages=[{"role": "user", "content": "Say hello"}],
            stream=stream,
        )
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in answer)
        else:
            text = answer.choices[0].message.content
        print(provider, "stream" if stream else "whole", text)
"""


def _litellm_argv(venv: Path, base_url: str, home: Path) -> tuple[str, ...]:
    return (str(venv / "bin" / "python"), str(home / "ask.py"))


def _litellm_script(home: Path, base_url: str, named: bool) -> None:
    script = _LITELLM_SCRIPT.replace("MODEL", MODEL).replace("BASE_URL", base_url)
    (home / "ask.py").write_text(script, encoding="utf-8")


def _aider_argv(venv: Path, base_url: str, home: Path) -> tuple[str, ...]:
    return (
        str(venv / "bin" / "aider"),
        *("--message", "Say hello", "--model", f"ollama_chat/{MODEL}"),
        *("--yes-always", "--no-git", "--no-stream", "--no-check-update"),
        *("--analytics-disable", "--no-show-model-warnings"),
    )


def _nothing_to_write(home: Path, base_url: str, named: bool) -> None:
    """aider's Ollama setup is its one variable (`OLLAMA_API_BASE`)."""


LITELLM = PythonTool("litellm", "litellm", "litellm", _litellm_argv, _litellm_script)
AIDER = PythonTool(
    "aider-ollama",
    "aider-chat",
    "litellm",
    _aider_argv,
    _nothing_to_write,
    environ=lambda base_url: {"OLLAMA_API_BASE": base_url},
)
OLLAMA_TOOLS = (LITELLM, AIDER)


class RecordingOllama(LoopbackApp):
    """Ollama's API as these tools use it, answering `ANSWER`, keeping each request."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat", self._answer)
        app.router.add_post("/api/generate", self._answer)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/api/tags", self._tags)

    async def _keep(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.query),
                {name.lower(): value for name, value in request.headers.items()},
                body,
                raw,
                None,
                request.path.rpartition("/")[2],
                0.0,
            )
        )
        return body if isinstance(body, dict) else {}

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await self._keep(request)
        chat = request.path == "/api/chat"
        done = {"done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 2}
        head = {"model": body.get("model"), "created_at": "2026-11-26T00:00:00Z"}
        said: dict[str, Any] = {"response": ANSWER}
        if chat:
            said = {"message": {"role": "assistant", "content": ANSWER}}
        if body.get("stream") is False:
            return web.json_response(head | said | done)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await response.write(json.dumps(head | said | {"done": False}).encode() + b"\n")
        empty = {"message": {"role": "assistant", "content": ""}} if chat else {"response": ""}
        await response.write(json.dumps(head | empty | done).encode() + b"\n")
        await response.write_eof()
        return response

    async def _show(self, request: web.Request) -> web.Response:
        await self._keep(request)
        return web.json_response({"details": {"family": "test"}, "model_info": {}})

    async def _tags(self, request: web.Request) -> web.Response:
        await self._keep(request)
        return web.json_response({"models": [{"name": MODEL, "model": MODEL}]})


async def capture(tool: PythonTool) -> list[dict[str, Any]]:
    """What `tool` sends an Ollama server, as fixture entries."""
    scenario = Scenario(tool.name, "default", "ollama", ())
    async with RecordingOllama() as ollama:
        with tempfile.TemporaryDirectory() as home:
            run = await run_tool(tool, ollama.base_url, named=False, home=Path(home))
        assert run.returncode == 0, run.explain()
        assert ANSWER in run.stdout, run.explain()
        recorded = [normalised(request, scenario) for request in ollama.requests]
    for entry, request in zip(recorded, ollama.requests, strict=True):
        # What decides whether a browser could have sent it: kept, present or not.
        entry["headers"]["origin"] = request.headers.get("origin")
        entry["headers"]["content-type"] = request.headers.get("content-type")
    return recorded


async def _record_all() -> None:
    for tool in OLLAMA_TOOLS:
        write_tool_fixture(tool, await capture(tool))


if __name__ == "__main__":
    asyncio.run(_record_all())
