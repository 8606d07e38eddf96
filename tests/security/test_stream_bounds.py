"""Finding 15 (issue 26, item 7): an upstream's endless server-sent event line.

The SSE parser appended each chunk to one buffer and searched it again from its start, so a
48 MiB line without a line end cost 17 s of CPU (quadratic) and stalled the event loop; it was
held whole in memory, however large. Now a line is searched once as it arrives and an event is
capped (`gateway.max_sse_event_bytes`): the client gets a 502 naming the setting, the loop
keeps turning, and an ordinary stream beside it is untouched.

The upstream is a stand-in (`HostileUpstream`) writing the bytes a hostile or broken API would;
the client is the official `openai` SDK against the real gateway over a socket.
"""

from __future__ import annotations

import time

import openai
import pytest
from openai import AsyncOpenAI

from tests.security._edge_support import Launch, _launch  # noqa: F401 - fixtures
from tests.security._stream_support import LoopLag, _hostile, sse  # noqa: F401 - fixtures
from tests.transports.gateway.hostile_upstream import HostileUpstream, streamed

# Over the default cap (16 MiB); quadratic parsing made a line this long cost seconds of CPU.
OVERSIZED = 24 * 1024 * 1024
CAP_SETTING = "gateway.max_sse_event_bytes"
# Generous bounds (a busy two-core machine): linear work on 16 MiB takes well under a second
# of CPU, the quadratic one took many; the loop must never stall for long.
MAX_CPU_S = 6.0
MAX_LOOP_LAG_S = 1.0
ANSWER_TIMEOUT_S = 60.0
MESSAGES = [{"role": "user", "content": "hi"}]

CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
GOOD_STREAM = (
    sse(None, CHUNK | {"choices": [{"index": 0, "delta": {"content": "hi"}}]}),
    sse(None, CHUNK | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    sse(
        None,
        CHUNK
        | {
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        },
    ),
    sse(None, "[DONE]"),
)


def client(gateway_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=gateway_url + "/v1", api_key="unused", max_retries=0, timeout=ANSWER_TIMEOUT_S
    )


async def streamed_text(sdk: AsyncOpenAI) -> str:
    stream = await sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return "".join(parts)


async def test_endless_sse_line_is_cut_at_the_cap(launch: Launch, hostile: HostileUpstream) -> None:
    gateway = await launch()
    sdk = client(gateway.base_url)
    # The legitimate path first: an ordinary stream is relayed.
    hostile.answer = streamed(*GOOD_STREAM)
    assert await streamed_text(sdk) == "hi"

    line = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * OVERSIZED
    hostile.answer = streamed(line)
    cpu_before = time.process_time()
    async with LoopLag() as lag:
        with pytest.raises(openai.APIStatusError) as refused:
            await streamed_text(sdk)
    cpu_s = time.process_time() - cpu_before

    assert refused.value.status_code == 502
    assert CAP_SETTING in refused.value.message, refused.value.message
    assert cpu_s < MAX_CPU_S, f"{cpu_s:.1f} s of CPU for one {OVERSIZED >> 20} MiB line"
    assert lag.worst_s < MAX_LOOP_LAG_S, f"the event loop stalled {lag.worst_s:.2f} s"

    # The gateway serves on, and the next ordinary stream is whole.
    hostile.answer = streamed(*GOOD_STREAM)
    assert await streamed_text(sdk) == "hi"


async def test_oversized_event_mid_stream_ends_it_with_an_error(
    launch: Launch, hostile: HostileUpstream
) -> None:
    cap = 1024 * 1024
    gateway = await launch({"gateway.max_sse_event_bytes": cap})
    sdk = client(gateway.base_url)
    # Many data lines, each small, adding up to more than the cap: the event is counted whole.
    lines = b"".join(b"data: " + b"y" * 1000 + b"\n" for _ in range(2 * cap // 1000))
    hostile.answer = streamed(GOOD_STREAM[0], lines)
    with pytest.raises(openai.APIError) as broken:
        await streamed_text(sdk)
    assert CAP_SETTING in str(broken.value), str(broken.value)
