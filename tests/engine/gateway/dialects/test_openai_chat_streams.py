"""The OpenAI Chat Completions dialect's streams, both directions: the neutral events its
decoder makes of the chunks (and when a stream without `[DONE]` is whole, when cut), a broken
stream refused, the chunks its encoder sends for neutral events, which decode back to the same
events, and an error sent in the stream."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.event_streams import cut_stream, decode_stream, frames
from tests.engine.gateway.neutral import user

DIALECT = OpenAIChatDialect()


# -- stream decoding -------------------------------------------------------------------------


def sse(*payloads: dict[str, Any] | str) -> bytes:
    return b"".join(
        f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads
    )


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "created": 1727000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": choices,
    } | extra


STREAM_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 40,
    "total_tokens": 1240,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
TOOL_STREAM: list[dict[str, Any] | str] = [
    chunk({"role": "assistant", "content": "", "refusal": None}, usage=None),
    chunk({"content": "Let me"}, usage=None),
    chunk({"content": " check."}, usage=None),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        usage=None,
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}, usage=None),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Paris"}'}}]}, usage=None),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ]
        },
        usage=None,
    ),
    chunk({}, "tool_calls", usage=None),
    chunk(usage=STREAM_USAGE),
    "[DONE]",
]
TOOL_EVENTS: list[StreamEvent] = [
    MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"),
    TextDelta(0, "Let me"),
    TextDelta(0, " check."),
    ToolCallStart(1, "call_a", "get_weather"),
    ToolCallDelta(1, '{"ci'),
    ToolCallDelta(1, 'ty":"Paris"}'),
    ToolCallStart(2, "call_b", "get_time"),
    ToolCallDelta(2, "{}"),
    MessageEnd("tool_use", Usage(176, 40, cache_read_tokens=1024)),
]

USAGE_9_4 = {"prompt_tokens": 9, "completion_tokens": 4}

DECODE_CASES = [
    pytest.param(sse(*TOOL_STREAM), TOOL_EVENTS, id="text-then-tools-usage-after-finish"),
    pytest.param(
        sse(
            chunk(usage=None, choices=[], prompt_filter_results=[]),  # Azure's opening chunk
            chunk({"role": "assistant"}),
            chunk({"reasoning_content": "Hmm"}),
            chunk({"reasoning_content": "..."}),
            chunk({"content": "Done"}),
            chunk(
                {},
                "length",
                usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
            ),
            "[DONE]",
        ),
        [
            MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"),
            ThinkingDelta(0, "Hmm"),
            ThinkingDelta(0, "..."),
            TextDelta(1, "Done"),
            MessageEnd("max_tokens", Usage(9, 4)),
        ],
        id="reasoning-then-text-usage-on-finish-chunk",
    ),
    pytest.param(
        sse(
            chunk(
                {"role": "assistant", "content": "Hi"},
                usage={"prompt_tokens": 50, "prompt_tokens_details": {"cached_tokens": 40}},
            ),
            chunk({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
            chunk({"content": "after"}),
            chunk({}, "stop", usage={"prompt_tokens": 0, "completion_tokens": 7}),
            "[DONE]",
        ),
        [
            MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06", Usage(10, 0, cache_read_tokens=40)),
            TextDelta(0, "Hi"),
            ToolCallStart(1, "c1", "f"),
            ToolCallDelta(1, "{}"),
            TextDelta(2, "after"),
            MessageEnd("tool_use", Usage(10, 7, cache_read_tokens=40)),
        ],
        id="start-usage-kept-index-less-tool-call-stop-after-tools",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), DECODE_CASES)
def test_stream_decode(raw: bytes, expected: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, raw) == expected


def test_a_stream_closed_after_its_finish_chunk_without_done_or_usage_was_cut() -> None:
    # A body delimited by the connection's close ends as cleanly when it is cut: without
    # `[DONE]`, and without the usage chunk it was asked for, the answer is not taken as
    # complete (no MessageEnd): what was lost is its count.
    events, cut = cut_stream(
        DIALECT, sse(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"))
    )
    assert events == [MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"), TextDelta(0, "Hi")]
    assert cut.usage == Usage() and "before [DONE]" in str(cut)


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param(
            [chunk({}, "stop", usage={"prompt_tokens": 9, "completion_tokens": 4})],
            id="usage-on-the-finish-chunk",  # some servers send it there
        ),
        pytest.param(
            [chunk({}, "stop"), {**chunk({}), "choices": [], "usage": USAGE_9_4}],
            id="usage-chunk-after-the-finish",
        ),
    ],
)
def test_a_stream_whose_usage_came_after_its_finish_is_whole_without_done(
    ending: list[dict[str, Any]],
) -> None:
    # Only `[DONE]` is missing (a server that leaves it out, or a cut just before it): the
    # answer and its count are whole.
    events = decode_stream(DIALECT, sse(chunk({"role": "assistant", "content": "Hi"}), *ending))
    assert events[-1] == MessageEnd("end_turn", Usage(9, 4))


def test_a_stream_that_ends_with_done_without_usage_is_complete() -> None:
    # Servers that ignore `stream_options.include_usage` send no usage chunk: not a cut.
    raw = sse(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), "[DONE]")
    assert decode_stream(DIALECT, raw)[-1] == MessageEnd("end_turn")


def test_decoder_ignores_frames_after_done_and_close_owes_nothing() -> None:
    decoder = DIALECT.stream_decoder()
    for payload in TOOL_STREAM:
        decoder.feed((None, payload if isinstance(payload, str) else json.dumps(payload)))
    assert decoder.feed((None, json.dumps(chunk({"content": "late"})))) == []
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (sse(chunk({"role": "assistant", "content": "Hi"})), "finish_reason"),
        (b"", "before any chunk"),
        (sse("[DONE]"), "before any chunk"),
        (sse("not json"), "not a chat completion chunk"),
        (
            sse(
                chunk({"content": "Hi"}),
                {"error": {"message": "overloaded", "type": "server_error", "code": None}},
            ),
            "overloaded",
        ),
    ],
)
def test_stream_decode_failures(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_stream(DIALECT, raw)


# -- stream encoding -------------------------------------------------------------------------


def encode(events: list[StreamEvent], request: ChatRequest) -> bytes:
    encoder = DIALECT.stream_encoder(request)
    return b"".join(encoder.encode(e) for e in events) + encoder.close() + encoder.close()


def frames_of(raw: bytes) -> list[str]:
    return [data for _, data in frames(raw)]


STREAMED = ChatRequest(model="gpt-4o", messages=(user("Hi"),), stream=True, stream_usage=True)
ENCODE_EVENTS: list[StreamEvent] = [
    MessageStart("chatcmpl-X", "gpt-4o"),
    ThinkingDelta(0, "Plan."),
    TextDelta(1, "Let me"),
    TextDelta(1, " check."),
    ToolCallStart(2, "call_a", "get_weather"),
    ToolCallDelta(2, '{"city":'),
    ToolCallDelta(2, '"Paris"}'),
    ToolCallStart(3, "call_b", "get_time"),
    ToolCallDelta(3, "{}"),
    MessageEnd("tool_use", Usage(176, 40, cache_read_tokens=1024, cache_write_tokens=5)),
]


def test_stream_encode_sends_openai_chunks_in_order() -> None:
    frames = frames_of(encode(ENCODE_EVENTS, STREAMED))
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    for c in chunks:
        ChatCompletionChunk.model_validate(c)
        assert (c["id"], c["object"], c["model"]) == (
            "chatcmpl-X",
            "chat.completion.chunk",
            "gpt-4o",
        )
    deltas = [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks[:-1]]
    assert deltas == [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        ({"reasoning_content": "Plan."}, None),
        ({"content": "Let me"}, None),
        ({"content": " check."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, None),
        ({}, "tool_calls"),
    ]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 1205,
        "completion_tokens": 40,
        "total_tokens": 1245,
        "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_stream_encode_without_include_usage_has_no_usage_chunk() -> None:
    request = dataclasses.replace(STREAMED, stream_usage=False)
    chunks = [json.loads(f) for f in frames_of(encode(ENCODE_EVENTS, request))[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(ENCODE_EVENTS, id="thinking-text-tools"),
        pytest.param(TOOL_EVENTS, id="captured-stream"),
        pytest.param(
            [MessageStart("chatcmpl-Y", "m"), TextDelta(0, "Hi"), MessageEnd("max_tokens")],
            id="text-only",
        ),
    ],
)
def test_encoded_stream_decodes_back_to_the_same_events(events: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, encode(events, STREAMED)) == events


def test_encoder_refuses_events_out_of_order() -> None:
    encoder = DIALECT.stream_encoder(STREAMED)
    with pytest.raises(ValueError, match="before MessageStart"):
        encoder.encode(TextDelta(0, "x"))
    encoder.encode(MessageStart("id", "m"))
    with pytest.raises(ValueError, match="no ToolCallStart"):
        encoder.encode(ToolCallDelta(4, "{}"))


# -- errors ----------------------------------------------------------------------------------
def test_in_stream_error_is_a_data_frame_the_decoder_reports() -> None:
    encoder = DIALECT.stream_encoder(STREAMED)
    raw = encoder.encode(MessageStart("id", "m")) + encoder.error(502, "provider_error", "died")
    error = json.loads(frames_of(raw)[-1])
    assert error == {
        "error": {"message": "died", "type": "api_error", "param": None, "code": "provider_error"}
    }
    with pytest.raises(ValueError, match="died"):
        decode_stream(DIALECT, raw)
