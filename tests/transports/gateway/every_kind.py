"""Every kind of call an API provider answers through the gateway, as a client sends it: a chat
in each of the four client dialects, embeddings, and text completions, each with the provider
and model that serve it on the scripted upstream.

The tests of the one attempt loop (`test_every_kind.py`) run over `KINDS`; `test_kinds_cover`
there checks `KINDS` against the engine's own lists (the recorder's request kinds, the client
dialects), so a kind the engine gains and this list lacks fails the suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.waiting import until

__all__ = ["KINDS", "Answer", "Kind", "rows_settled", "said", "sent_key"]


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """One kind of call: its front door, the model asked and the provider that serves it."""

    name: str
    recorded: str  # the recorder's kind (`engine/recorder/kinds.py`)
    dialect: str | None  # a chat's client dialect; None for the kinds that are not chats
    provider: str  # the gateway's provider id
    model: str  # as the client names it
    operation: str  # the attempt span's `gen_ai.operation.name`
    # The body's fields that ask for several answers, each billed (none: one answer a call).
    many: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """The route target that names this kind's provider and model."""
        bare = self.model.split("/", 1)[-1]
        return f"{self.provider}/{bare}"

    def path(self, *, stream: bool = False) -> str:
        if self.dialect == "gemini":
            action = "streamGenerateContent?alt=sse" if stream else "generateContent"
            return f"/v1beta/models/{self.model}:{action}"
        return {
            "openai-chat": "/v1/chat/completions",
            "openai-responses": "/v1/responses",
            "anthropic": "/v1/messages",
            None: "/v1/embeddings" if self.recorded == "embedding" else "/v1/completions",
        }[self.dialect]

    def body(
        self,
        text: str,
        *,
        model: str | None = None,
        stream: bool = False,
        answers: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """What a client sends asking about `text` (`model`: another name, a route's;
        `answers`: one of `many` and the answers it asks for)."""
        body = self._body(text, model=model, stream=stream)
        if answers is not None:
            name, count = answers
            if self.dialect == "gemini":
                body["generationConfig"] = {name: count}
            else:
                body[name] = count
        return body

    def _body(self, text: str, *, model: str | None, stream: bool) -> dict[str, Any]:
        name = model or self.model
        said: dict[str, Any] = {"stream": True} if stream else {}
        if self.dialect == "gemini":
            return {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        if self.dialect == "openai-responses":
            return {"model": name, "input": text, **said}
        if self.dialect == "anthropic":
            messages = [{"role": "user", "content": text}]
            return {"model": name, "max_tokens": 50, "messages": messages, **said}
        if self.dialect == "openai-chat":
            return {"model": name, "messages": [{"role": "user", "content": text}], **said}
        if self.recorded == "embedding":
            return {"model": name, "input": text}
        return {"model": name, "prompt": text, "suffix": "\n", **said}

    async def ask(
        self,
        gateway: GatewayRuntime,
        text: str = "hi",
        *,
        model: str | None = None,
        stream: bool = False,
        answers: tuple[str, int] | None = None,
        timeout_s: float = 30.0,
    ) -> Answer:
        """The gateway's answer to this kind's request, read whole (a stream to its end)."""
        path = self.path(stream=stream)
        if model is not None and self.dialect == "gemini":
            path = path.replace(self.model, model)
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.post(
                gateway.base_url + path,
                json=self.body(text, model=model, stream=stream, answers=answers),
            ) as answer,
        ):
            return Answer(answer.status, await answer.text(), dict(answer.headers))


KINDS = (
    Kind("openai-chat", "chat", "openai-chat", "openai", "gpt-4o", "chat", ("n",)),
    Kind("openai-responses", "chat", "openai-responses", "openai", "gpt-4o", "chat"),
    Kind("anthropic", "chat", "anthropic", "anthropic", "claude-sonnet-4-6", "chat"),
    Kind("gemini", "chat", "gemini", "google", "gemini-2.5-flash", "chat", ("candidateCount",)),
    Kind("embeddings", "embedding", None, "openai", "text-embedding-3-small", "embeddings"),
    Kind(
        "completions",
        "completion",
        None,
        "deepseek",
        "deepseek/deepseek-chat",
        "text_completion",
        ("best_of",),  # `n` above one is refused: one completion is answered a request
    ),
)


def providers(base_url: str, kind: Kind, *, keys: int = 1) -> dict[str, Any]:
    """The settings that give `kind`'s provider `keys` keys (the first the environment's, where
    it has one) on the scripted upstream at `base_url`."""
    table: dict[str, Any] = {}
    if kind.provider == "deepseek":
        table = {"base_url": base_url, "models": ["deepseek-chat"]}
    if keys > 1 or kind.provider == "deepseek":
        table["api_keys"] = [f"sk-{kind.provider}-key-{n}-{'x' * (8 + n)}" for n in range(keys)]
    return {"gateway.providers": {kind.provider: table}} if table else {}


def sent_key(kind: Kind) -> str:
    """The key `kind`'s provider is sent with one key (`providers(keys=1)`): the environment's
    (`conftest.point_providers_at`), or the table's own."""
    from tests.transports.gateway.conftest import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY

    env = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY, "google": GEMINI_KEY}
    return env.get(kind.provider) or f"sk-{kind.provider}-key-0-{'x' * 8}"


async def rows_settled(gateway: GatewayRuntime, count: int) -> list[dict[str, Any]]:
    """The newest `count` recorder rows once each has ended, newest first."""

    async def ended() -> list[dict[str, Any]] | None:
        rows = await gateway.engine.recorder.recent(limit=count)
        settled = len(rows) == count and all(r["state"] != "started" for r in rows)
        return rows if settled else None

    found: list[dict[str, Any]] = await until(ended, f"{count} rows ended", step_s=0.05)
    return found


def said(kind: Kind, answer: Answer, *, stream: bool = False) -> str:
    """The answer's text as its client's decoder reads it: a whole answer's text, or the text
    deltas of a stream joined (each event's JSON decoded, escapes and all)."""
    if not stream:
        return "".join(_texts(kind, json.loads(answer.text), stream=False))
    events = [
        json.loads(line[5:])
        for line in answer.text.splitlines()
        if line.startswith("data:") and line[5:].strip().startswith("{")
    ]
    return "".join(piece for event in events for piece in _texts(kind, event, stream=True))


def _texts(kind: Kind, body: dict[str, Any], *, stream: bool) -> list[str]:
    """The text of one whole answer, or of one event of a stream, in `kind`'s dialect."""
    if kind.dialect == "openai-chat":
        part = "delta" if stream else "message"
        return [c[part].get("content") or "" for c in body.get("choices", [])]
    if kind.dialect == "openai-responses":
        if stream:
            return [body["delta"]] if body.get("type") == "response.output_text.delta" else []
        return [c["text"] for item in body["output"] for c in item.get("content", [])]
    if kind.dialect == "anthropic":
        if stream:
            wanted = body.get("type") == "content_block_delta"
            return [body["delta"].get("text", "")] if wanted else []
        return [block.get("text", "") for block in body["content"]]
    if kind.dialect == "gemini":
        parts = [p for c in body.get("candidates", []) for p in c["content"].get("parts", [])]
        return [part.get("text", "") for part in parts]
    return [choice.get("text") or "" for choice in body.get("choices", [])]
