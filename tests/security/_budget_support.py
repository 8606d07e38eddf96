"""What the budget attack tests share: a locked gateway under one hard global dollar budget,
mallory's OpenAI client of it, the status each attempt was answered with, the stored records of
the attempts, and a hand-written OpenAI upstream's plumbing.

tests/security has no conftest on purpose (see `_edge_support.py`): a test module imports what
it uses from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anthropic
import openai
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.sdk_clients import openai_client
from tests.transports.auth.conftest import TOKEN, USER_HEADER, Start
from tests.transports.gateway.conftest import OPENAI_KEY

__all__ = [
    "HeldChat",
    "chat_completion",
    "mallory_openai",
    "openai_served_by",
    "point_openai_at",
    "start_under_a_hard_budget",
    "status_of",
    "stored_records",
]


async def start_under_a_hard_budget(start: Start, hard_usd: float) -> GatewayRuntime:
    """A gateway locked with `TOKEN`, trusting `USER_HEADER` to name the caller, with one hard
    global daily budget of `hard_usd` dollars."""
    gateway: GatewayRuntime = await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "budgets": [{"scope": "global", "unit": "usd", "period": "daily", "hard": hard_usd}],
        },
    )
    return gateway


def mallory_openai(gateway: GatewayRuntime) -> openai.AsyncOpenAI:
    """An OpenAI client of the locked gateway that the trusted header names as mallory."""
    return openai_client(gateway, TOKEN, headers={USER_HEADER: "mallory"})


def point_openai_at(fake: LoopbackApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway's OpenAI provider (its test key) on a hand-written upstream (set before the
    gateway starts: its engine reads them)."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url + "/v1")


class HeldChat(LoopbackApp):
    """OpenAI Chat Completions on loopback whose answers may wait for `release`, which is set
    as the fake stops (no handler outlives it); a subclass answers in `handle`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await super().__aexit__(*exc)


def chat_completion(
    model: str, content: str, usage: dict[str, int] | None = None
) -> dict[str, Any]:
    """A whole Chat Completions answer: one choice saying `content`, and `usage` where given
    (none at all where not)."""
    answer: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    return answer if usage is None else answer | {"usage": usage}


Fake = TypeVar("Fake", bound=LoopbackApp)


def openai_served_by(make: Callable[[], Fake]) -> Callable[..., AsyncIterator[Fake]]:
    """A fixture: the fake `make` builds, serving on loopback, with the gateway's OpenAI
    provider pointed at it after `provider_env` has pointed the others at the scripted upstream
    (the test module imports `provider_env`)."""

    @pytest.fixture
    async def served(provider_env: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fake]:
        async with make() as fake:
            point_openai_at(fake, monkeypatch)
            yield fake

    return served


async def status_of(call: Awaitable[object]) -> int:
    """200 when the call was answered, else the status the gateway answered it with."""
    try:
        await call
    except (openai.APIStatusError, anthropic.APIStatusError) as refused:
        return refused.status_code
    return 200


async def stored_records(
    gateway: GatewayRuntime, keep: Callable[[dict[str, Any]], bool] = lambda row: True
) -> list[dict[str, Any]]:
    """The whole stored records (cost source included) of the recent rows `keep` picks, once
    the recorder has written what it holds."""
    await gateway.engine.recorder.flush()
    rows = [row for row in await gateway.engine.recorder.recent(limit=200) if keep(row)]
    details = [await gateway.engine.recorder_query.detail(row["id"]) for row in rows]
    return [detail.record for detail in details if detail is not None]
