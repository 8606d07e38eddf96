"""An upstream's stream against the same-dialect passthrough: a stream that never answers is a
502 with a failed row; an error event or a cut mid-stream reaches the client as an error and
fails the row, not a hang-up; a huge frame is relayed whole; and when the client leaves, a
never-ending stream is let go and a row still waiting for its answer is ended.

The gateway, the hostile upstream and the clients are in passthrough_attack_support.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.hostile_upstream import (
    HostileUpstream,
    RawRequest,
    response_head,
    streamed,
)
from tests.transports.gateway.passthrough_attack_support import (
    ANSWER_TIMEOUT_S,
    CHAT,
    CLAUDE,
    MESSAGE_START,
    TEXT_DELTA,
    TOKEN,
    _gateway,  # noqa: F401 - fixture
    last_row,
    remote_post,
    sse,
)
from tests.waiting import until

OVERLOADED = sse(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)


async def stream_claude(gateway: GatewayRuntime) -> tuple[int, bytes]:
    status, _, raw = await remote_post(gateway, "/v1/messages", CLAUDE | {"stream": True})
    return status, raw


@pytest.mark.parametrize(
    "pieces",
    [
        [b"this is not an event stream"],
        [b"<html>\n\n<body>bad gateway</body>\n\n</html>\n"],
        [b": just a comment\n\n"],
        [],
        [OVERLOADED],
        [MESSAGE_START + TEXT_DELTA + OVERLOADED],
    ],
    ids=["garbage", "html", "comment", "nothing", "error-first", "error-in-first-read"],
)
async def test_a_stream_that_never_answers_is_a_502_with_a_failed_row(
    gateway: GatewayRuntime, hostile: HostileUpstream, pieces: list[bytes]
) -> None:
    hostile.answer = streamed(*pieces)
    status, raw = await stream_claude(gateway)
    assert status == 502, raw
    assert json.loads(raw)["error"]["message"]
    row = await last_row(gateway)
    # The row ends as the client saw it (issue 24); the route log keeps the attempt's outcome.
    code = json.loads(raw)["error"].get("code") or "all_routes_failed"
    assert (row["state"], row["error_code"], row["http_status"]) == ("failed", code, 502)
    assert [a["outcome"] for a in row["route"]["attempts"]] == ["stream_start"]


async def test_an_error_event_mid_stream_reaches_the_client_and_fails_the_row(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = streamed(MESSAGE_START, TEXT_DELTA, OVERLOADED, gap_s=0.2)
    status, raw = await stream_claude(gateway)
    assert status == 200
    assert raw == MESSAGE_START + TEXT_DELTA + OVERLOADED  # the upstream's own words
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] == 50


async def test_a_stream_cut_before_its_last_frame_ends_with_an_error_not_a_hang_up(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # A body delimited by the connection's close ends "cleanly" when the upstream is cut
    # off: the client saw a stream just stop, and the recorder blamed the client.
    hostile.answer = streamed(MESSAGE_START, TEXT_DELTA, gap_s=0.2)
    status, raw = await stream_claude(gateway)
    assert status == 200
    assert raw.startswith(MESSAGE_START + TEXT_DELTA)
    assert b"event: error" in raw[len(MESSAGE_START + TEXT_DELTA) :]
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")


async def test_a_huge_frame_is_relayed_whole(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    text = "x" * (8 * 1024 * 1024)
    chunk = {"id": "c", "object": "chat.completion.chunk"}
    hostile.answer = streamed(
        sse(None, chunk | {"choices": [{"index": 0, "delta": {"content": text}}]}),
        sse(None, chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse(None, "[DONE]"),
    )
    started = time.perf_counter()
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT | {"stream": True})
    assert status == 200
    assert raw.count(text.encode()) == 1 and raw.rstrip().endswith(b"data: [DONE]")
    assert time.perf_counter() - started < ANSWER_TIMEOUT_S
    row = await last_row(gateway)
    assert row["state"] == "completed"


async def test_a_never_ending_stream_is_let_go_when_the_client_leaves(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    upstream_done = asyncio.Event()
    max_frames = 20_000

    async def endless(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, [("Content-Type", "text/event-stream")]) + MESSAGE_START)
        try:
            for _ in range(max_frames):  # bounded: 20 000 frames, 10 ms apart
                writer.write(TEXT_DELTA)
                await writer.drain()
                await asyncio.sleep(0.01)
        finally:
            upstream_done.set()

    hostile.answer = endless
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            gateway.base_url + "/v1/messages",
            json=CLAUDE | {"stream": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            first = await response.content.readany()
        assert first.startswith(b"event: message_start")
        response.close()
    # The gateway lets the upstream go: its writes fail within a few seconds, not 200 s.
    async with asyncio.timeout(10):
        await upstream_done.wait()
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
    assert row["input_tokens"] == 50


async def test_a_client_that_leaves_before_the_answer_begins_ends_its_row(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # The row was started, then the handler was cancelled while waiting for the upstream:
    # it stayed "started" for good, and its bookkeeping in memory with it.
    release = asyncio.Event()
    asked: list[bool] = []

    async def silent(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        asked.append(True)
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            await release.wait()

    hostile.answer = silent
    for body in (CLAUDE | {"stream": True}, CLAUDE):
        before = len(asked)
        async with aiohttp.ClientSession() as session:
            posting = asyncio.ensure_future(
                session.post(
                    gateway.base_url + "/v1/messages",
                    json=body,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
            )
            # The client leaves once the upstream is asked, not after a fixed half second,
            # which a loaded gateway can spend before it has started the row.
            await until(
                lambda before=before, posting=posting: len(asked) > before or posting.done(),
                "the upstream asked",
            )
            assert not posting.done(), posting.result()
            posting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await posting
        row = await last_row(gateway)
        assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
    release.set()
