"""Bedrock's Converse dialect: what a neutral request becomes, and its answers and streams
parsed back (usage with the cache apart whichever way a model counts it)."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.gateway.dialects.base import StreamCut, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.bedrock_converse import ConverseDialect
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    Message,
    MessageEnd,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import TargetModel, Untranslatable
from llmgw_desktop.engine.tokens.usage import Usage

CONVERSE = ConverseDialect()
CLAUDE = TargetModel("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock-converse")
NOVA = TargetModel("bedrock", "amazon.nova-pro-v1:0", "bedrock-converse", reasoning=False)


def request(*messages: Message, **fields: object) -> ChatRequest:
    return ChatRequest(model="m", messages=messages, **fields)  # type: ignore[arg-type]


def test_turns_alternate_and_a_mid_conversation_system_message_joins_the_system() -> None:
    notes: list[str] = []
    body = CONVERSE.render_request(
        request(
            Message("user", (TextPart("a"),)),
            Message("system", (TextPart("be brief"),)),
            Message("user", (TextPart("b", cache=True),)),
            system=(TextPart("sys"),),
        ),
        target=NOVA,
        notes=notes,
    )
    assert body["system"] == [{"text": "sys"}, {"text": "be brief"}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"text": "a"}, {"text": "b"}, {"cachePoint": {"type": "default"}}],
        }
    ]
    assert any("system message" in n for n in notes)


def test_a_tool_conversation_and_the_tool_choice() -> None:
    body = CONVERSE.render_request(
        request(
            Message("user", (TextPart("weather?"),)),
            Message("assistant", (ToolCallPart("call.1", "get_weather", '{"city":"Paris"}'),)),
            Message("user", (ToolResultPart("call.1", "sunny", is_error=True),)),
            tools=(ToolDef("get_weather", "w", {"type": "object"}),),
            tool_choice="required",
        ),
        target=NOVA,
    )
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "w",
                    "inputSchema": {"json": {"type": "object"}},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    use = body["messages"][1]["content"][0]["toolUse"]
    assert use == {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
    result = body["messages"][2]["content"][0]["toolResult"]
    assert result == {"toolUseId": "call_1", "content": [{"text": "sunny"}], "status": "error"}


def test_claude_gets_a_thinking_budget_and_its_signed_thinking_back() -> None:
    body = CONVERSE.render_request(
        request(
            Message("user", (TextPart("q"),)),
            Message("assistant", (ThinkingPart("hmm", "sig"), TextPart("a"))),
            Message("user", (TextPart("q2"),)),
            reasoning_effort="low",
            max_tokens=100,
            temperature=0.3,
        ),
        target=CLAUDE,
    )
    assert body["additionalModelRequestFields"]["thinking"] == {
        "type": "enabled",
        "budget_tokens": 2048,
    }
    assert (
        body["inferenceConfig"]["maxTokens"] == 2148
        and "temperature" not in body["inferenceConfig"]
    )
    assert body["messages"][1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}
    }
    # Another vendor's model gets neither.
    other = CONVERSE.render_request(
        request(Message("user", (TextPart("q"),)), reasoning_effort="low"), target=NOVA
    )
    assert "additionalModelRequestFields" not in other


def test_an_image_by_url_is_refused_naming_why() -> None:
    with pytest.raises(Untranslatable, match="by URL"):
        CONVERSE.render_request(
            request(Message("user", (ImagePart(url="https://x/y.png"),))), target=NOVA
        )


@pytest.mark.parametrize(
    ("raw", "usage"),
    [
        # Claude on Bedrock: input without the cache; the total adds everything.
        (
            {
                "inputTokens": 10,
                "outputTokens": 5,
                "totalTokens": 315,
                "cacheReadInputTokens": 200,
                "cacheWriteInputTokens": 100,
            },
            Usage(10, 5, 200, 100),
        ),
        # A model that counts the cache inside its input: taken out, not counted twice.
        (
            {
                "inputTokens": 310,
                "outputTokens": 5,
                "totalTokens": 315,
                "cacheReadInputTokens": 300,
            },
            Usage(10, 5, 300, 0),
        ),
        ({"inputTokens": 7, "outputTokens": 1, "totalTokens": 8}, Usage(7, 1)),
    ],
)
def test_usage_keeps_the_cache_apart(raw: dict[str, int], usage: Usage) -> None:
    assert parse_usage(raw) == usage


def test_a_stream_ends_at_its_metadata_and_an_exception_is_an_upstream_finding() -> None:
    decoder = CONVERSE.stream_decoder()
    assert decoder.feed(("messageStart", '{"role":"assistant"}'))
    events = decoder.feed(
        ("contentBlockDelta", '{"delta":{"reasoningContent":{"text":"x"}},"contentBlockIndex":0}')
    )
    assert events == [ThinkingDelta(0, "x")]
    assert decoder.feed(("messageStop", '{"stopReason":"guardrail_intervened"}')) == []
    (end,) = decoder.feed(
        ("metadata", '{"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}')
    )
    assert end == MessageEnd("refusal", Usage(3, 1))
    broken = CONVERSE.stream_decoder()
    with pytest.raises(UpstreamMalformed, match="throttlingException: slow"):
        broken.feed(("exception:throttlingException", '{"message":"slow"}'))
    unfinished = CONVERSE.stream_decoder()
    unfinished.feed(("messageStart", "{}"))
    with pytest.raises(UpstreamMalformed):
        unfinished.close()


def test_a_stream_closed_after_message_stop_without_its_metadata_was_cut() -> None:
    # The usage comes with the metadata: an answer taken as whole without it counted 0 tokens.
    decoder = CONVERSE.stream_decoder()
    decoder.feed(("messageStart", '{"role":"assistant"}'))
    assert decoder.feed(("messageStop", '{"stopReason":"end_turn"}')) == []
    with pytest.raises(StreamCut, match="before its metadata") as caught:
        decoder.close()
    assert caught.value.usage == Usage()
