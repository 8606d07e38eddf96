"""What the budget attack tests share: a locked gateway under one hard global dollar budget,
mallory's OpenAI client of it, the status each attempt was answered with, the stored records of
the attempts, and a hand-written OpenAI upstream's plumbing.

tests/security has no conftest on purpose (see `_edge_support.py`): a test module imports what
it uses from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.sdk_clients import openai_client
from tests.transports.auth.conftest import TOKEN, USER_HEADER, Start
from tests.transports.gateway.conftest import OPENAI_KEY

__all__ = [
    "mallory_openai",
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
