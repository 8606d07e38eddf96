"""Finding 111: request bodies held at once had no bound.

`http.max_body_bytes` bounded one body (16 MiB) and `http.max_connections_per_address` one
address's connections (256), but not their product: one caller holding 256 connections, each
sending a body near the cap, made the gateway read 4 GiB into memory (more once parsed), and
behind a trusted proxy the per-address cap does not apply. Now each request's body takes room
at the edge before its handler reads a byte (`transports/body_room.py`,
`http.max_body_bytes_in_flight`), and a body that finds none is refused at once with a wait.

"Before a byte is read" is tested without measuring memory: the holders' bodies are left
unfinished, so a gateway that read a refused body would never answer it. The legitimate path
sits beside the attack: a small request still fits, an official SDK retries a refusal by
itself and is answered once the room frees, and the room comes back when the holders leave.
The same refusal at every door is in `test_door_matrix.py`.
"""

from __future__ import annotations

import asyncio
import gzip
import json

import openai

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.sdk_clients import ANY_KEY, openai_client
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
    held_body,
    parse_answer,
    raw_request,
)
from tests.waiting import until

CAP = 256 * 1024
ROOM = 600 * 1024  # two bodies at the cap fit, a third does not
ANSWER_TIMEOUT_S = 10.0
CHAT = "/v1/chat/completions"
JSON = ("Content-Type", "application/json")


def chat_body(size: int) -> bytes:
    """A chat request of `size` bytes."""
    head = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "'
    tail = b'"}]}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


async def answer_of(reader: asyncio.StreamReader) -> bytes:
    """One whole answer with a Content-Length, read off an open connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = parse_answer(head).header("Content-Length")
    assert length is not None, head
    return head + await reader.readexactly(int(length))


async def held(gateway: GatewayRuntime, count: int) -> list[asyncio.StreamWriter]:
    """`count` holders, each once its handler is reading (one waits for the one before, so a
    refusal below is for want of room, not of a holder still arriving)."""
    writers = []
    for _ in range(count):
        writers.append((await held_body(gateway, CHAT, chat_body(CAP), [JSON]))[1])
        await until(lambda: gateway.connections.in_flight(lambda _: False) >= len(writers))
    return writers


async def test_a_body_past_the_room_is_refused_at_once_and_a_small_one_still_fits(
    launch: Launch,
    provider_keys: None,
    scripted_upstream: ScriptedUpstream,
) -> None:
    gateway = await launch({"http.max_body_bytes": CAP, "http.max_body_bytes_in_flight": ROOM})
    holders = await held(gateway, 2)
    # The third body at the cap: refused before it is read (only half of it is ever sent).
    body = chat_body(CAP)
    reader, writer = await held_body(gateway, CHAT, body, [JSON])
    # Answered at once, its body never sent whole (the gateway then reads what still comes
    # and drops it, so the answer is not lost to a reset, and closes the connection).
    received = await asyncio.wait_for(answer_of(reader), ANSWER_TIMEOUT_S)
    writer.close()
    refused = parse_answer(received)
    assert refused.status == 429, received[:300]
    error = refused.json()["error"]
    assert error["code"] == "saturated"
    assert "http.max_body_bytes_in_flight" in error["message"]
    assert refused.header("Retry-After") == "1"
    # A small request fits beside the holders, through the official SDK.
    async with openai_client(gateway) as client:
        answer = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "small"}]
        )
    assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
    # The holders leave: their room comes back, and a body at the cap is answered.
    for holder in holders:
        holder.close()
    await until(lambda: gateway.connections.in_flight(lambda _: False) == 0)
    whole = await raw_request(gateway, "POST", CHAT, [("Content-Type", "application/json")], body)
    assert whole.status == 200, whole.body[:300]
    assert json.loads(whole.body)["choices"][0]["message"]["content"].startswith(DEFAULT_ANSWER)


async def test_a_compressed_body_takes_the_room_it_inflates_to(
    launch: Launch,
    provider_keys: None,
    scripted_upstream: ScriptedUpstream,
) -> None:
    """A gzip body is inflated before its handler reads it: by its declared length, forty
    connections each sending 4 KiB of a body of 4 MiB once whole took 289 MiB of a 9 MiB room
    (red team, 2026-11-29). Room for the cap each: the third is refused as a plain one is."""
    gateway = await launch({"http.max_body_bytes": CAP, "http.max_body_bytes_in_flight": ROOM})
    packed = gzip.compress(chat_body(CAP - 1024))
    gzipped = [JSON, ("Content-Encoding", "gzip")]
    holders = []
    for _ in range(2):
        holders.append((await held_body(gateway, CHAT, packed, gzipped))[1])
        await until(lambda: gateway.connections.in_flight(lambda _: False) >= len(holders))
    reader, writer = await held_body(gateway, CHAT, packed, gzipped)
    received = await asyncio.wait_for(answer_of(reader), ANSWER_TIMEOUT_S)
    writer.close()
    assert parse_answer(received).status == 429, received[:300]
    # Beside it, a compressed request whole, once the room frees: inflated and answered.
    for holder in holders:
        holder.close()
    await until(lambda: gateway.connections.in_flight(lambda _: False) == 0)
    whole = await raw_request(gateway, "POST", CHAT, gzipped, gzip.compress(chat_body(4096)))
    assert whole.status == 200, whole.body[:300]


async def test_an_sdk_refused_for_want_of_room_retries_and_is_answered_once_it_frees(
    launch: Launch,
    provider_keys: None,
    scripted_upstream: ScriptedUpstream,
) -> None:
    gateway = await launch({"http.max_body_bytes": CAP, "http.max_body_bytes_in_flight": CAP})
    (holder,) = await held(gateway, 1)  # the room is full: any body is refused

    def refusals() -> int:
        return gateway.engine.refusals.by_code["429 saturated"]

    async def let_go() -> None:
        await until(refusals, "the SDK's first try refused")
        holder.close()

    freeing = asyncio.create_task(let_go())
    # The SDK as it comes (its default retries): it tries a 429 again after its Retry-After.
    async with openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key=ANY_KEY) as client:
        answer = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "waits its turn"}]
        )
    await freeing
    assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
    assert refusals() >= 1
