"""Red team 2 (SECURITY 20): a call's budget hold ignores how many answers it asks for.

A hard budget holds each running call's estimate: its input and its output limit
(`max_tokens`). OpenAI Chat's `n` (and Gemini's `candidateCount`) asks the vendor for that many
answers, each up to the limit, and the vendor bills them all; the estimate counts one. So ten
parallel calls with `max_tokens: 16, n: 100` each hold about 50 tokens and are all admitted
under a 2,000-token budget, then spend 1,600 output tokens each: eight times the budget, where
SECURITY.md promises parallel calls stop within one call's estimate of it.

The upstream here is a small OpenAI Chat server written for this test (the shared scripted
fake reports the same usage whatever `n` is): it answers `n` choices and reports usage the way
the vendor does, `n` times the output limit, and holds its answers until every call it will get
has arrived (at most a few seconds), so they are all in flight together. The caller is a user
the trusted proxy names, through the official `openai` SDK; a plain call (n = 1) beside it is
served and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web
from openai.types.chat import ChatCompletionMessageParam

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.sdk_clients import openai_client
from tests.security._edge_support import Launch, _launch  # noqa: F401 - fixtures

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
USER_HEADER = "X-Remote-User"
PARALLEL = 10
CHOICES = 100
MAX_TOKENS = 16
PROMPT_TOKENS = 8
HARD_TOKENS = 2000
HOLD_S = 3.0  # longest an answer waits for the other calls to arrive


class ChoicesUpstream(LoopbackApp):
    """OpenAI Chat that bills `n` answers as the vendor does."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.expected = 1
        self._arrived = asyncio.Event()

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if len(self.bodies) >= self.expected:
            self._arrived.set()
        # Fewer calls may come than might have: then those that did are answered.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), HOLD_S)
        n = int(float(body.get("n") or 1))  # as a vendor reading `8.0` or `"8"` as 8 does
        limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or 16)
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": "x " * limit, "refusal": None},
                "finish_reason": "length",
                "logprobs": None,
            }
            for i in range(n)
        ]
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "gpt-4o"),
                "choices": choices,
                "usage": {
                    "prompt_tokens": PROMPT_TOKENS,
                    "completion_tokens": n * limit,
                    "total_tokens": PROMPT_TOKENS + n * limit,
                },
            }
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)


@pytest.fixture
async def choices_upstream(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ChoicesUpstream]:
    async with ChoicesUpstream() as up:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-key-for-tests-0123456789")
        monkeypatch.setenv("OPENAI_BASE_URL", up.base_url + "/v1")
        yield up


async def test_parallel_calls_asking_for_many_choices_stay_within_a_hard_budget(
    launch: Launch,
    choices_upstream: ChoicesUpstream,
) -> None:
    gateway: GatewayRuntime = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "budgets": [
                {"scope": "principal=*", "unit": "tokens", "period": "daily", "hard": HARD_TOKENS}
            ],
        },
    )
    hello: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

    def client(user: str) -> openai.AsyncOpenAI:
        return openai_client(gateway, TOKEN, headers={USER_HEADER: user})

    # The legitimate path: alice's plain call is served and counted.
    async with client("alice") as alice:
        plain = await alice.chat.completions.create(
            model="gpt-4o", messages=hello, max_tokens=MAX_TOKENS
        )
    assert len(plain.choices) == 1

    # The attack: mallory's parallel calls, each asking for CHOICES answers.
    choices_upstream.expected = 1 + PARALLEL
    async with client("mallory") as mallory, asyncio.timeout(60):
        results = await asyncio.gather(
            *(
                mallory.chat.completions.create(
                    model="gpt-4o", messages=hello, max_tokens=MAX_TOKENS, n=CHOICES
                )
                for _ in range(PARALLEL)
            ),
            return_exceptions=True,
        )
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, openai.APIStatusError)]
    assert len(served) + len(refused) == PARALLEL, results
    spent = sum(
        r.usage.total_tokens for r in served if r.usage is not None
    )  # what the vendor billed mallory's calls
    one_call = PROMPT_TOKENS + CHOICES * MAX_TOKENS  # the most one of these calls can cost
    assert spent <= HARD_TOKENS + one_call, (
        f"{len(served)} of {PARALLEL} calls admitted under a {HARD_TOKENS}-token hard budget "
        f"spent {spent} tokens ({spent / HARD_TOKENS:.1f}x the budget)"
    )


async def test_more_answers_than_a_hold_counts_are_refused_under_a_hard_budget(
    launch: Launch,
    choices_upstream: ChoicesUpstream,
) -> None:
    """Red-team review of issue 37: the hold counts at most 128 answers (OpenAI's own cap), but
    the request went as it came, and a compatible server that allows more bills them all: one
    call with `n: 1000` under a 20,000-token budget was held at 128 x 16 tokens and billed
    16,000. Under a hard budget a call asking for more answers than a hold counts is refused;
    one asking for fewer is served."""
    gateway: GatewayRuntime = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "budgets": [
                {"scope": "principal=*", "unit": "tokens", "period": "daily", "hard": 20_000}
            ],
        },
    )
    hello: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
    async with openai_client(gateway, TOKEN, headers={USER_HEADER: "mallory"}) as mallory:
        with pytest.raises(openai.BadRequestError) as refused:
            await mallory.chat.completions.create(
                model="gpt-4o", messages=hello, max_tokens=MAX_TOKENS, n=1000
            )
        assert "128" in str(refused.value.body), refused.value.body
        assert choices_upstream.bodies == []  # nothing was sent
        served = await mallory.chat.completions.create(
            model="gpt-4o", messages=hello, max_tokens=MAX_TOKENS, n=4
        )
    assert len(served.choices) == 4


@pytest.mark.parametrize("written", ["100", 100.0], ids=["string", "float"])
async def test_a_count_written_as_a_string_or_a_float_is_held_as_that_many(
    launch: Launch,
    choices_upstream: ChoicesUpstream,
    written: object,
) -> None:
    """Red team, 2026-11-29: the hold read only a JSON integer, so `"n": "100"` (or `100.0`,
    and Gemini's `candidateCount` as protobuf's JSON mapping takes it, `"8"`) was held as one
    answer while the vendor billed a hundred: one Gemini call of $0.32 under a $0.05 budget.
    Held as the count it is, the parallel calls stop within one call's cost of the budget."""
    gateway: GatewayRuntime = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "budgets": [
                {"scope": "principal=*", "unit": "tokens", "period": "daily", "hard": HARD_TOKENS}
            ],
        },
    )
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": MAX_TOKENS,
        "n": written,
    }
    headers = {"Authorization": f"Bearer {TOKEN}", USER_HEADER: "mallory"}
    choices_upstream.expected = PARALLEL
    url = gateway.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):

        async def ask() -> tuple[int, dict[str, Any]]:
            async with http.post(url, json=body, headers=headers) as answer:
                return answer.status, await answer.json()

        results = await asyncio.gather(*(ask() for _ in range(PARALLEL)))
    served = [answer for status, answer in results if status == 200]
    assert served and {status for status, _ in results} <= {200, 402}, results
    spent = sum(answer["usage"]["total_tokens"] for answer in served)
    one_call = PROMPT_TOKENS + CHOICES * MAX_TOKENS
    assert spent <= HARD_TOKENS + one_call, (len(served), spent)
