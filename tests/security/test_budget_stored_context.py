"""Red-team review of issue 37: a Responses call continuing a stored response holds the input
the vendor will read from it.

`previous_response_id` makes the vendor read the whole earlier exchange again as input, billed
in full, while the request carries only the new turn. A remote caller may continue its own
responses (finding 17) where the operator allowed it `store`. A key with a $1.00 hard budget
built one exchange of about 100,000 tokens ($0.10), then sent twenty short calls at once, each
continuing it: each was held at its few tokens, all twenty were admitted, and the vendor billed
$2.10. The gateway now remembers, with each response it relays to a remote caller, the tokens
the vendor will read again from it (its input and output), and a call continuing it is held for
them too.

The upstream is a small real HTTP server on loopback answering like OpenAI's Responses API and
billing as it does: a continued response's input is the earlier exchange plus the new turn.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import openai
from aiohttp import web

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.sdk_clients import openai_client
from tests.security._budget_support import openai_served_by, status_of
from tests.security.keys.conftest import provider_env, start_gateway  # noqa: F401
from tests.transports.gateway.conftest import GatewayFactory

MODEL = "gpt-4o-mini"
# Input at $1 a million, output free: a call's cost is the input the vendor reads.
PRICE = {"input": 1.0, "output": 0.0, "cache_read": 1.0}
BUDGET = 1.0
AT_ONCE = 20
# About 100,000 tokens of input, four bytes a token: $0.10 each time the vendor reads it.
LONG = "word " * 80_000


class _Responses(LoopbackApp):
    """Responses with stored state: a continued response reads its whole chain again."""

    client_max_size = 16 * 1024 * 1024

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/responses", self.handle)

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._context: dict[str, int] = {}
        self.billed: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        turn = len(json.dumps(body.get("input"))) // 4
        previous = body.get("previous_response_id")
        input_tokens = self._context.get(previous, 0) + turn if previous else turn
        await asyncio.sleep(0.5)  # so that calls sent together are in flight together
        response_id = f"resp_{next(self._ids)}"
        self._context[response_id] = input_tokens + 5
        self.billed.append(input_tokens)
        return web.json_response(
            {
                "id": response_id,
                "object": "response",
                "status": "completed",
                "model": MODEL,
                "output": [
                    {
                        "type": "message",
                        "id": f"msg_{response_id}",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": "ok", "annotations": []}],
                    }
                ],
                "usage": {
                    "input_tokens": input_tokens,
                    "output_tokens": 5,
                    "total_tokens": input_tokens + 5,
                },
            }
        )


# The fixture: the fake, the gateway's OpenAI provider pointed at it.
responses = openai_served_by(_Responses)


async def _continue(client: openai.AsyncOpenAI, previous: str) -> int:
    return await status_of(
        client.responses.create(
            model=MODEL, input="and then?", previous_response_id=previous, max_output_tokens=16
        )
    )


async def test_calls_continuing_a_stored_response_hold_what_the_vendor_reads_again(
    start_gateway: GatewayFactory,  # noqa: F811
    responses: _Responses,
) -> None:
    fake = responses
    gateway: GatewayRuntime = await start_gateway(
        {
            "gateway.prices": {MODEL: PRICE},
            "gateway.remote_passthrough.principals": {"key:chainer": ["store"]},
        }
    )
    made = await gateway.engine.keys.create(
        OPERATOR,
        KeySpec(name="chainer", scope=KeyScope.of(models=[MODEL]), budget_usd=BUDGET),
    )
    client = openai_client(gateway, made.secret)
    first: Any = await client.responses.create(
        model=MODEL, input=LONG, store=True, max_output_tokens=16
    )
    statuses = await asyncio.gather(*(_continue(client, first.id) for _ in range(AT_ONCE)))
    assert set(statuses) <= {200, 402}, statuses
    # The first exchange ($0.10) and at most nine continuations of it ($0.10 each) fit.
    assert 1 <= statuses.count(200) <= 9, statuses
    billed = sum(fake.billed) * PRICE["input"] / 1_000_000
    assert billed <= BUDGET + 1e-9, (billed, statuses)

    # The legitimate path: a call that continues nothing is held at its own few tokens and
    # served while the budget has room for it, and the operator's own chain is not held up.
    local = openai_client(gateway, "x")
    mine: Any = await local.responses.create(model=MODEL, input="hello", store=True)
    assert await _continue(local, mine.id) == 200
