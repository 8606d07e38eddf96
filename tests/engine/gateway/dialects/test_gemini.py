"""The Gemini generateContent dialect: requests, answers, streams and errors, both ways."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from google.genai import types as genai

from llmgw_desktop.engine.errors import InvalidRequest, ProviderFailure
from llmgw_desktop.engine.gateway.dialects.gemini import GeminiDialect
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    ToolDef,
    ToolResultPart,
)
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.event_streams import decode_stream
from tests.engine.gateway.neutral import assistant as model
from tests.engine.gateway.neutral import user

MODEL = "gemini-2.5-flash"
DIALECT = GeminiDialect()
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def request(*messages: Message, **fields: Any) -> ChatRequest:
    # Gemini streams always carry usage, so every parsed request asks for it.
    return ChatRequest(model=MODEL, messages=messages, stream_usage=True, **fields)


def text_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


# -- parse_request ---------------------------------------------------------------------------

# What google-genai 3.4 puts on the wire (captured from `_GenerateContentParameters_to_mldev`):
# camelCase mostly, but `mime_type` and the thinkingConfig keys in snake_case, types uppercase.
SDK_BODY = {
    "contents": [
        {
            "parts": [
                {"text": "hi"},
                {"inlineData": {"data": "iVBORw==", "mime_type": "image/png"}},
            ],
            "role": "user",
        },
        {
            "parts": [{"functionCall": {"args": {"city": "Oslo"}, "name": "weather"}}],
            "role": "model",
        },
        {
            "parts": [{"functionResponse": {"name": "weather", "response": {"result": "sunny"}}}],
            "role": "user",
        },
    ],
    "systemInstruction": {"parts": [{"text": "be nice"}], "role": "user"},
    "tools": [
        {
            "functionDeclarations": [
                {
                    "description": "Weather now",
                    "name": "weather",
                    "parameters": {
                        "properties": {
                            "city": {"type": "STRING"},
                            "days": {"nullable": True, "type": "INTEGER", "max_items": 3},
                        },
                        "type": "OBJECT",
                        "propertyOrdering": ["city", "days"],
                    },
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": ["weather"], "mode": "ANY"}},
    "generationConfig": {
        "temperature": 0.2,
        "maxOutputTokens": 100,
        "stopSequences": ["X"],
        "thinkingConfig": {"include_thoughts": True, "thinking_budget": 1024},
    },
}

PARSE_CASES = [
    pytest.param(text_body("hello"), request(user("hello")), id="plain-text"),
    pytest.param(
        {
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]},
            "contents": [
                {"parts": [{"text": "Hi"}]},  # no role: a user turn
                {"role": "model", "parts": [{"text": "Hello!"}]},
                {"role": "user", "parts": [{"text": "Bye"}, {"text": ""}]},
            ],
        },
        request(
            user("Hi"),
            model("Hello!"),
            user("Bye"),
            system=(TextPart("Be brief."), TextPart("Be kind.")),
        ),
        id="system-and-multi-turn",
    ),
    pytest.param(
        text_body(system_instruction="Be brief."),
        request(user("hi"), system=(TextPart("Be brief."),)),
        id="snake-case-system-string",
    ),
    pytest.param(
        SDK_BODY,
        request(
            user("hi", ImagePart("image/png", data="iVBORw==")),
            model(ToolCallPart("call_weather_0", "weather", '{"city": "Oslo"}')),
            user(ToolResultPart("call_weather_0", "sunny", name="weather")),
            system=(TextPart("be nice"),),
            tools=(
                ToolDef(
                    "weather",
                    "Weather now",
                    {
                        "properties": {
                            "city": {"type": "string"},
                            "days": {"type": ["integer", "null"], "maxItems": 3},
                        },
                        "type": "object",
                    },
                ),
            ),
            tool_choice="weather",
            max_tokens=100,
            temperature=0.2,
            stop=("X",),
            reasoning_effort="low",
        ),
        id="google-genai-sdk-body",
    ),
    pytest.param(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Oslo and Rome, then time?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}},
                        {"functionCall": {"name": "weather", "args": {"city": "Rome"}}},
                        {"functionCall": {"name": "clock"}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "clock", "response": {"output": "12:00"}}},
                        {"functionResponse": {"name": "weather", "response": {"result": "rain"}}},
                        {"functionResponse": {"name": "weather", "response": {"t": 30}}},
                    ],
                },
            ]
        },
        request(
            user("Weather in Oslo and Rome, then time?"),
            model(
                ToolCallPart("call_weather_0", "weather", '{"city": "Oslo"}'),
                ToolCallPart("call_weather_1", "weather", '{"city": "Rome"}'),
                ToolCallPart("call_clock_2", "clock", "{}"),
            ),
            user(
                ToolResultPart("call_clock_2", "12:00", name="clock"),
                ToolResultPart("call_weather_0", "rain", name="weather"),
                ToolResultPart("call_weather_1", '{"t": 30}', name="weather"),
            ),
        ),
        id="calls-without-ids-matched-by-name-in-order",
    ),
    pytest.param(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "go"}]},
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"id": "a1", "name": "run", "args": {}}},
                        {"functionCall": {"id": "a2", "name": "run", "args": {}}},
                    ],
                },
                {
                    "role": "function",
                    "parts": [
                        {
                            "functionResponse": {
                                "id": "a2",
                                "name": "run",
                                "response": {"error": "boom"},
                            }
                        },
                        {"functionResponse": {"name": "run", "response": {"result": "done"}}},
                    ],
                },
            ]
        },
        request(
            user("go"),
            model(ToolCallPart("a1", "run", "{}"), ToolCallPart("a2", "run", "{}")),
            user(
                ToolResultPart("a2", "boom", is_error=True, name="run"),
                ToolResultPart("a1", "done", name="run"),
            ),
        ),
        id="explicit-ids-and-error-result",
    ),
    pytest.param(
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://b/cat.jpg"}}
                    ],
                },
                {
                    "role": "model",
                    "parts": [
                        {"text": "Let me think.", "thought": True, "thoughtSignature": "U0lHMQ=="},
                        {"text": "A cat.", "thoughtSignature": "U0lHMg=="},
                        {"text": "", "thoughtSignature": "U0lHMw=="},
                    ],
                },
            ]
        },
        request(
            user(ImagePart("image/jpeg", url="gs://b/cat.jpg")),
            model(
                ThinkingPart("Let me think.", "U0lHMQ=="),
                ThinkingPart("", "U0lHMg=="),
                TextPart("A cat."),
                ThinkingPart("", "U0lHMw=="),
            ),
        ),
        id="file-data-thoughts-and-signatures",
    ),
    pytest.param(
        text_body(
            generationConfig={"topP": 0.9, "stopSequences": "END", "candidateCount": 1},
            toolConfig={"functionCallingConfig": {"mode": "NONE"}},
        ),
        request(user("hi"), top_p=0.9, stop=("END",), tool_choice="none"),
        id="top-p-single-stop-string-tool-choice-none",
    ),
    pytest.param(
        text_body(
            tools=[
                {
                    "function_declarations": [
                        {"name": "weather", "parametersJsonSchema": WEATHER_SCHEMA},
                        {"name": "clock"},
                    ]
                }
            ],
            tool_config={
                "function_calling_config": {"mode": "ANY", "allowed_function_names": ["a", "b"]}
            },
        ),
        request(
            user("hi"),
            tools=(ToolDef("weather", parameters=WEATHER_SCHEMA), ToolDef("clock")),
            tool_choice="required",
        ),
        id="json-schema-tools-and-any-of-several",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PARSE_CASES)
def test_parse_request(body: dict[str, Any], expected: ChatRequest) -> None:
    assert DIALECT.parse_request(body, model=MODEL) == expected


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"thinkingBudget": 0}, None),
        ({"thinkingBudget": -1}, "medium"),
        ({"thinkingBudget": 1024}, "low"),
        ({"thinkingBudget": 8192}, "medium"),
        ({"thinkingBudget": 24576}, "high"),
        ({"thinkingLevel": "LOW"}, "low"),
        ({"thinking_level": "high"}, "high"),
        ({"thinkingLevel": "MINIMAL"}, "low"),
        ({"includeThoughts": True}, None),
    ],
)
def test_parse_request_maps_thinking_config_to_effort(
    thinking: dict[str, Any], effort: str | None
) -> None:
    body = text_body(generationConfig={"thinkingConfig": thinking})
    assert DIALECT.parse_request(body, model=MODEL).reasoning_effort == effort


def test_parse_request_takes_model_from_url_and_never_streams_by_body() -> None:
    parsed = DIALECT.parse_request(text_body(stream=True), model="models/gemini-3-pro-preview")
    assert (parsed.model, parsed.stream) == ("gemini-3-pro-preview", False)


PARSE_ERRORS = [
    (text_body(), None, "model: required"),
    ({}, MODEL, "contents: required"),
    ({"contents": {"role": "user"}}, MODEL, "contents: expected a list"),
    ({"contents": []}, MODEL, "contents: must not be empty"),
    ({"contents": ["hi"]}, MODEL, "contents[0]: expected an object"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, MODEL, "contents[0].role"),
    ({"contents": [{"role": "user"}]}, MODEL, "contents[0].parts: required"),
    (
        {"contents": [{"parts": [{"text": 3}]}]},
        MODEL,
        "contents[0].parts[0].text: expected a string",
    ),
    (
        {"contents": [{"parts": [{"text": "a"}, {"videoMetadata": {"fps": 1}}]}]},
        MODEL,
        "contents[0].parts[1]: unsupported part",
    ),
    (
        {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
        MODEL,
        "contents[0].parts[0].inlineData.data: expected a string",
    ),
    (
        {"contents": [{"parts": [{"fileData": {"mimeType": "image/png"}}]}]},
        MODEL,
        "contents[0].parts[0].fileData.fileUri",
    ),
    (
        {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": "{}"}}]}]},
        MODEL,
        "contents[0].parts[0].functionCall.args: expected an object",
    ),
    (
        {"contents": [{"parts": [{"functionCall": {"args": {}}}]}]},
        MODEL,
        "contents[0].parts[0].functionCall.name",
    ),
    (
        {"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "ok"}}]}]},
        MODEL,
        "contents[0].parts[0].functionResponse.response: expected an object",
    ),
    (
        text_body(tools=[{"functionDeclarations": [{"description": "x"}]}]),
        MODEL,
        "functionDeclarations[0].name",
    ),
    (
        text_body(tools=[{"functionDeclarations": [{"name": "f", "parameters": []}]}]),
        MODEL,
        "tools[0].functionDeclarations[0].parameters: expected an object",
    ),
    (
        text_body(toolConfig={"functionCallingConfig": {"mode": "SOMETIMES"}}),
        MODEL,
        "toolConfig.functionCallingConfig.mode",
    ),
    (
        text_body(generationConfig={"maxOutputTokens": "9"}),
        MODEL,
        "generationConfig.maxOutputTokens",
    ),
    (text_body(generationConfig={"temperature": "hot"}), MODEL, "generationConfig.temperature"),
    (
        text_body(generationConfig={"stopSequences": ["a", 1]}),
        MODEL,
        "generationConfig.stopSequences[1]",
    ),
    (text_body(generationConfig={"candidateCount": 2}), MODEL, "generationConfig.candidateCount"),
    (
        text_body(generationConfig={"thinkingConfig": {"thinkingLevel": "huge"}}),
        MODEL,
        "generationConfig.thinkingConfig.thinkingLevel",
    ),
    (
        text_body(systemInstruction={"parts": [{"text": 1}]}),
        MODEL,
        "systemInstruction.parts[0].text",
    ),
]


@pytest.mark.parametrize(("body", "model_name", "message"), PARSE_ERRORS)
def test_parse_request_rejects_bad_fields_by_name(
    body: dict[str, Any], model_name: str | None, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(body, model=model_name)
    assert message in caught.value.message


# -- render_request --------------------------------------------------------------------------

RENDER_CASES = [
    pytest.param(
        request(
            user("Hi"),
            user(ImagePart("image/png", data="AAAA")),
            model("Hello"),
            system=(TextPart("Be brief."),),
            max_tokens=50,
            temperature=0.5,
            top_p=0.8,
            stop=("END",),
        ),
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Hi"},
                        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    ],
                },
                {"role": "model", "parts": [{"text": "Hello"}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {
                "maxOutputTokens": 50,
                "temperature": 0.5,
                "topP": 0.8,
                "stopSequences": ["END"],
            },
        },
        id="system-config-and-merged-user-turns",
    ),
    pytest.param(
        # As an OpenAI client sends it: ids of OpenAI's making, results without names.
        request(
            user("Weather?"),
            model(
                "Checking.",
                ToolCallPart("call_abc", "weather", '{"city":"Oslo"}'),
                ToolCallPart("call_def", "clock", ""),
            ),
            user(ToolResultPart("call_def", "12:00")),
            user(ToolResultPart("call_abc", '{"temp": 20}'), ToolResultPart("call_abc", "x", True)),
            tools=(ToolDef("weather", "Weather now", WEATHER_SCHEMA), ToolDef("clock")),
            tool_choice="auto",
            reasoning_effort="high",
        ),
        {
            "contents": [
                {"role": "user", "parts": [{"text": "Weather?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"text": "Checking."},
                        {
                            "functionCall": {"name": "weather", "args": {"city": "Oslo"}},
                            "thoughtSignature": "skip_thought_signature_validator",
                        },
                        {"functionCall": {"name": "clock", "args": {}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "clock", "response": {"result": "12:00"}}},
                        {"functionResponse": {"name": "weather", "response": {"temp": 20}}},
                        {"functionResponse": {"name": "weather", "response": {"error": "x"}}},
                    ],
                },
            ],
            "generationConfig": {
                "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": True}
            },
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "weather",
                            "parametersJsonSchema": WEATHER_SCHEMA,
                            "description": "Weather now",
                        },
                        {
                            "name": "clock",
                            "parametersJsonSchema": {"type": "object", "properties": {}},
                        },
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        },
        id="foreign-tool-history-names-results-and-skips-signature-check",
    ),
    pytest.param(
        request(
            user(
                ImagePart(url="https://x.test/a.png"),
                ImagePart("image/jpeg", url="gs://b/c.jpg"),
                ImagePart(url="data:image/gif;base64,R0lG"),
            ),
            model(
                ThinkingPart("Hmm.", "U0lHMQ=="),
                ThinkingPart("", "U0lHMg=="),
                ToolCallPart("c1", "run", "{}"),
                ThinkingPart("", "U0lHMw=="),
            ),
            tools=(ToolDef("run"),),
            tool_choice="run",
            reasoning_effort="none",
        ),
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"fileData": {"fileUri": "https://x.test/a.png"}},
                        {"fileData": {"fileUri": "gs://b/c.jpg", "mimeType": "image/jpeg"}},
                        {"inlineData": {"mimeType": "image/gif", "data": "R0lG"}},
                    ],
                },
                {
                    "role": "model",
                    "parts": [
                        {"text": "Hmm.", "thought": True, "thoughtSignature": "U0lHMQ=="},
                        {
                            "functionCall": {"name": "run", "args": {}},
                            "thoughtSignature": "U0lHMg==",
                        },
                        {"text": "", "thoughtSignature": "U0lHMw=="},
                    ],
                },
            ],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": False}},
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "run",
                            "parametersJsonSchema": {"type": "object", "properties": {}},
                        }
                    ]
                }
            ],
            "toolConfig": {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["run"]}
            },
        },
        id="images-signatures-back-on-their-parts-forced-tool",
    ),
    pytest.param(
        request(user("hi"), tool_choice="required", stream=True, user="u1"),
        {
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        },
        id="stream-and-model-stay-out-of-the-body",
    ),
    pytest.param(
        # From an Anthropic client: its signatures are not Gemini's base64 and cannot pass.
        request(
            user("go"),
            model(
                ThinkingPart("plan", "sig-from-anthropic!"), ToolCallPart("toolu_1", "run", "{}")
            ),
            user(ToolResultPart("toolu_1", "done")),
        ),
        {
            "contents": [
                {"role": "user", "parts": [{"text": "go"}]},
                {
                    "role": "model",
                    "parts": [
                        {"text": "plan", "thought": True},
                        {
                            "functionCall": {"name": "run", "args": {}},
                            "thoughtSignature": "skip_thought_signature_validator",
                        },
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "run", "response": {"result": "done"}}}
                    ],
                },
            ],
        },
        id="foreign-signatures-are-dropped",
    ),
]


@pytest.mark.parametrize(("neutral", "body"), RENDER_CASES)
def test_render_request(neutral: ChatRequest, body: dict[str, Any]) -> None:
    rendered = DIALECT.render_request(neutral)
    assert rendered == body
    for content in rendered["contents"]:
        genai.Content.model_validate(content)
    for tool in rendered.get("tools", []):
        genai.Tool.model_validate(tool)
    if "generationConfig" in rendered:
        genai.GenerationConfig.model_validate(rendered["generationConfig"])
    if "toolConfig" in rendered:
        genai.ToolConfig.model_validate(rendered["toolConfig"])


@pytest.mark.parametrize(
    ("neutral", "message"),
    [
        (
            request(user(ToolResultPart("call_x", "1"))),
            "messages[0].parts[0]: tool result 'call_x'",
        ),
        (
            request(model(ToolCallPart("c", "f", "[1]"))),
            "messages[0].parts[0]: tool call arguments",
        ),
        (request(user(ImagePart("image/png"))), "messages[0].parts[0]: image has neither"),
    ],
)
def test_render_request_rejects_what_gemini_cannot_say(neutral: ChatRequest, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.render_request(neutral)
    assert message in caught.value.message


def test_gemini_request_survives_parse_and_render() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "Plan.", "thought": True, "thoughtSignature": "VEhPVUdIVA=="},
                    {
                        "functionCall": {"name": "run", "args": {"n": 1}},
                        "thoughtSignature": "RlVOQw==",
                    },
                ],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "run", "response": {"result": "ok"}}}],
            },
        ],
        "systemInstruction": {"parts": [{"text": "Sys"}]},
        "generationConfig": {
            "maxOutputTokens": 10,
            "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True},
        },
        "tools": [
            {"functionDeclarations": [{"name": "run", "parametersJsonSchema": WEATHER_SCHEMA}]}
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    }
    assert DIALECT.render_request(DIALECT.parse_request(body, model=MODEL)) == body


# -- parse_response / render_response --------------------------------------------------------

RESPONSE_CASES = [
    pytest.param(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "Thinking about it", "thought": True},
                            {"text": "Hello "},
                            {"text": "there."},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 1000,
                "candidatesTokenCount": 50,
                "cachedContentTokenCount": 600,
                "thoughtsTokenCount": 30,
                "totalTokenCount": 1080,
            },
            "modelVersion": "gemini-2.5-flash",
            "responseId": "resp-1",
        },
        ChatResponse(
            "resp-1",
            "gemini-2.5-flash",
            (ThinkingPart("Thinking about it"), TextPart("Hello "), TextPart("there.")),
            "end_turn",
            Usage(input_tokens=400, output_tokens=80, cache_read_tokens=600, reasoning_tokens=30),
        ),
        id="text-thoughts-and-cache-usage",
    ),
    pytest.param(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "functionCall": {"name": "weather", "args": {"city": "Oslo"}},
                                "thoughtSignature": "c2lnbmF0dXJl",
                            },
                            {"functionCall": {"name": "weather", "args": {"city": "Rome"}}},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 20,
                "candidatesTokenCount": 10,
                "totalTokenCount": 30,
            },
            "modelVersion": "gemini-3-pro-preview",
            "responseId": "resp-2",
        },
        ChatResponse(
            "resp-2",
            "gemini-3-pro-preview",
            (
                ThinkingPart("", "c2lnbmF0dXJl"),
                ToolCallPart("call_weather_0", "weather", '{"city": "Oslo"}'),
                ToolCallPart("call_weather_1", "weather", '{"city": "Rome"}'),
            ),
            "tool_use",
            Usage(input_tokens=20, output_tokens=10),
        ),
        id="function-calls-without-ids",
    ),
    pytest.param(
        {
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
            "modelVersion": "gemini-2.5-pro",
            "responseId": "resp-3",
        },
        ChatResponse("resp-3", "gemini-2.5-pro", (), "refusal", Usage(input_tokens=7)),
        id="blocked-prompt",
    ),
    pytest.param(
        {
            "candidates": [{"finishReason": "SAFETY", "index": 0}],
            "usage_metadata": {"prompt_token_count": 5},
            "model_version": "m",
            "response_id": "r",
        },
        ChatResponse("r", "m", (), "refusal", Usage(input_tokens=5)),
        id="blocked-candidate-snake-case",
    ),
]


@pytest.mark.parametrize(("body", "expected"), RESPONSE_CASES)
def test_parse_response(body: dict[str, Any], expected: ChatResponse) -> None:
    assert DIALECT.parse_response(body) == expected


@pytest.mark.parametrize(
    ("reason", "called", "stop"),
    [
        ("STOP", False, "end_turn"),
        ("STOP", True, "tool_use"),
        (None, False, "end_turn"),
        ("MAX_TOKENS", False, "max_tokens"),
        ("SAFETY", False, "refusal"),
        ("RECITATION", False, "refusal"),
        ("BLOCKLIST", False, "refusal"),
        ("PROHIBITED_CONTENT", False, "refusal"),
        ("SPII", False, "refusal"),
        ("MALFORMED_FUNCTION_CALL", False, "error"),
        ("OTHER", False, "error"),
    ],
)
def test_parse_response_maps_finish_reasons(reason: str | None, called: bool, stop: str) -> None:
    parts: list[dict[str, Any]] = [{"text": "x"}]
    if called:
        parts.append({"functionCall": {"name": "f", "args": {}}})
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if reason:
        candidate["finishReason"] = reason
    assert DIALECT.parse_response({"candidates": [candidate]}).stop_reason == stop


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected a JSON object"),
        ({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}, "'bad'"),
        ({"choices": []}, "neither candidates nor promptFeedback"),
        ({"candidates": ["x"]}, "candidates[0] is not an object"),
        (
            {"candidates": [{"content": {"parts": [{"text": 1}]}}]},
            "candidates[0].content.parts[0].text",
        ),
    ],
)
def test_parse_response_rejects_what_is_not_a_gemini_answer(body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        DIALECT.parse_response(body)
    assert message in str(caught.value)


RENDER_RESPONSE_CASES = [
    pytest.param(
        ChatResponse(
            "msg_1",
            "claude-sonnet",
            (ThinkingPart("hmm", "anthropic-sig"), TextPart("Hi")),
            "end_turn",
            Usage(
                input_tokens=10,
                output_tokens=20,
                cache_read_tokens=100,
                cache_write_tokens=50,
                reasoning_tokens=5,
            ),
        ),
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "hmm", "thought": True},
                            {"text": "Hi"},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 160,
                "candidatesTokenCount": 15,
                "totalTokenCount": 180,
                "cachedContentTokenCount": 100,
                "thoughtsTokenCount": 5,
            },
            "modelVersion": "claude-sonnet",
            "responseId": "msg_1",
        },
        id="usage-folds-cache-writes-into-prompt",
    ),
    pytest.param(
        ChatResponse(
            "chatcmpl-1",
            "gpt-5",
            (TextPart("Let me look."), ToolCallPart("call_9", "weather", '{"city": "Oslo"}')),
            "tool_use",
            Usage(input_tokens=3, output_tokens=4),
        ),
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "Let me look."},
                            {
                                "functionCall": {
                                    "name": "weather",
                                    "args": {"city": "Oslo"},
                                    "id": "call_9",
                                }
                            },
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 3,
                "candidatesTokenCount": 4,
                "totalTokenCount": 7,
            },
            "modelVersion": "gpt-5",
            "responseId": "chatcmpl-1",
        },
        id="tool-use-is-stop-with-call-id",
    ),
    pytest.param(
        ChatResponse("r", "m", (), "refusal"),
        {
            "candidates": [{"finishReason": "SAFETY", "index": 0}],
            "usageMetadata": {
                "promptTokenCount": 0,
                "candidatesTokenCount": 0,
                "totalTokenCount": 0,
            },
            "modelVersion": "m",
            "responseId": "r",
        },
        id="refusal-without-content",
    ),
]


@pytest.mark.parametrize(("neutral", "body"), RENDER_RESPONSE_CASES)
def test_render_response(neutral: ChatResponse, body: dict[str, Any]) -> None:
    rendered = DIALECT.render_response(neutral)
    assert rendered == body
    genai.GenerateContentResponse.model_validate(rendered)


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "STOP"),
        ("stop_sequence", "STOP"),
        ("tool_use", "STOP"),
        ("max_tokens", "MAX_TOKENS"),
        ("refusal", "SAFETY"),
        ("error", "OTHER"),
    ],
)
def test_render_response_maps_stop_reasons(stop: Any, finish: str) -> None:
    body = DIALECT.render_response(ChatResponse("r", "m", (TextPart("x"),), stop))
    assert body["candidates"][0]["finishReason"] == finish


@pytest.mark.parametrize("body", [case.values[0] for case in RESPONSE_CASES[:2]])
def test_gemini_response_survives_parse_and_render(body: dict[str, Any]) -> None:
    parsed = DIALECT.parse_response(body)
    assert DIALECT.parse_response(DIALECT.render_response(parsed)) == parsed


# -- streams ---------------------------------------------------------------------------------


def sse(*chunks: dict[str, Any]) -> bytes:
    """Chunks as `?alt=sse` sends them (Gemini writes CRLF line ends)."""
    return b"".join(f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks)


def chunk(
    parts: list[dict[str, Any]], usage: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r-9",
    }


# In the style of a captured gemini-2.5-flash stream with includeThoughts, an explicit cache
# and a tool call; the early chunks carry only the prompt counts.
EARLY_USAGE = {"promptTokenCount": 2000, "cachedContentTokenCount": 1500, "totalTokenCount": 2000}
CAPTURED_STREAM = sse(
    chunk([{"text": "**Planning** the", "thought": True}], EARLY_USAGE),
    chunk([{"text": " lookup.", "thought": True}], EARLY_USAGE),
    chunk([{"text": "I'll check"}], EARLY_USAGE),
    chunk([{"text": " the weather."}], EARLY_USAGE),
    chunk(
        [
            {
                "functionCall": {"name": "weather", "args": {"city": "Oslo", "days": 2}},
                "thoughtSignature": "CiQB",
            }
        ],
        {
            "promptTokenCount": 2000,
            "candidatesTokenCount": 25,
            "thoughtsTokenCount": 90,
            "totalTokenCount": 2115,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2000}],
        },
        finish="STOP",
    ),
)


def test_decoder_reads_a_captured_stream() -> None:
    assert decode_stream(DIALECT, CAPTURED_STREAM) == [
        MessageStart("r-9", "gemini-2.5-flash", Usage(input_tokens=500, cache_read_tokens=1500)),
        ThinkingDelta(0, "**Planning** the"),
        ThinkingDelta(0, " lookup."),
        TextDelta(1, "I'll check"),
        TextDelta(1, " the weather."),
        ToolCallStart(2, "call_weather_0", "weather"),
        ToolCallDelta(2, '{"city": "Oslo", "days": 2}'),
        # The last chunk left cachedContentTokenCount out; the earlier count still stands.
        MessageEnd(
            "tool_use",
            Usage(input_tokens=500, output_tokens=115, cache_read_tokens=1500, reasoning_tokens=90),
        ),
    ]


@pytest.mark.parametrize(
    ("raw", "events"),
    [
        pytest.param(
            sse(
                {
                    "promptFeedback": {"blockReason": "SAFETY"},
                    "usageMetadata": {"promptTokenCount": 4},
                    "responseId": "b",
                }
            ),
            [
                MessageStart("b", "", Usage(input_tokens=4)),
                MessageEnd("refusal", Usage(input_tokens=4)),
            ],
            id="blocked-prompt",
        ),
        pytest.param(
            sse(
                chunk([{"text": "Once"}], {"promptTokenCount": 3}),
                chunk(
                    [{"text": " upon"}],
                    {"promptTokenCount": 3, "candidatesTokenCount": 9},
                    "MAX_TOKENS",
                ),
            ),
            [
                MessageStart("r-9", "gemini-2.5-flash", Usage(input_tokens=3)),
                TextDelta(0, "Once"),
                TextDelta(0, " upon"),
                MessageEnd("max_tokens", Usage(input_tokens=3, output_tokens=9)),
            ],
            id="max-tokens",
        ),
        pytest.param(
            sse(
                chunk(
                    [{"text": "a"}, {"functionCall": {"id": "x1", "name": "f"}}, {"text": "b"}], {}
                ),
                chunk([{"text": "", "thoughtSignature": "Wg=="}], {"promptTokenCount": 1}, "STOP"),
            ),
            [
                MessageStart("r-9", "gemini-2.5-flash"),
                TextDelta(0, "a"),
                ToolCallStart(1, "x1", "f"),
                ToolCallDelta(1, "{}"),
                TextDelta(2, "b"),
                MessageEnd("tool_use", Usage(input_tokens=1)),
            ],
            id="text-after-a-call-opens-a-new-block",
        ),
    ],
)
def test_decoder_streams(raw: bytes, events: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, raw) == events


def test_decoder_raises_an_in_stream_error_as_provider_failure() -> None:
    decoder = DIALECT.stream_decoder()
    decoder.feed((None, json.dumps(chunk([{"text": "a"}], {}))))
    error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(ProviderFailure) as caught:
        decoder.feed((None, json.dumps(error)))
    assert (caught.value.code, caught.value.retryable) == ("rate_limited", True)
    assert "Quota exceeded" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "before its first chunk"),
        (sse(chunk([{"text": "cut"}], {})), "without a finishReason"),
        (b"data: {not json\n\n", "not JSON"),
        (b"data: [1]\n\n", "not a JSON object"),
    ],
)
def test_decoder_rejects_streams_that_end_early_or_are_not_gemini(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        decode_stream(DIALECT, raw)
    assert message in str(caught.value)


ENCODE_EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_7", "claude-sonnet", Usage(input_tokens=10, cache_read_tokens=90, cache_write_tokens=5)
    ),
    ThinkingDelta(0, "Weather needs a tool."),
    TextDelta(1, "Let me "),
    TextDelta(1, "check."),
    ToolCallStart(2, "toolu_1", "weather"),
    ToolCallDelta(2, '{"ci'),
    ToolCallDelta(2, 'ty": "Os'),
    ToolCallDelta(2, 'lo"}'),
    ToolCallStart(3, "toolu_2", "clock"),
    ToolCallDelta(3, ""),
    MessageEnd(
        "tool_use",
        Usage(
            input_tokens=10,
            output_tokens=40,
            cache_read_tokens=90,
            cache_write_tokens=5,
            reasoning_tokens=12,
        ),
    ),
]


def encode(events: list[StreamEvent]) -> list[bytes]:
    encoder = DIALECT.stream_encoder(request(user("hi")))
    return [encoder.encode(e) for e in events] + [encoder.close()]


def test_encoder_writes_gemini_chunks() -> None:
    out = encode(ENCODE_EVENTS)
    early = {"promptTokenCount": 105, "totalTokenCount": 105, "cachedContentTokenCount": 90}
    head = {"modelVersion": "claude-sonnet", "responseId": "msg_7"}

    def expected(
        parts: list[dict[str, Any]], usage: dict[str, Any], finish: str | None = None
    ) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        body = {"candidates": [candidate | {"index": 0}], "usageMetadata": usage, **head}
        return f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()

    assert out == [
        b"",
        expected([{"text": "Weather needs a tool.", "thought": True}], early),
        expected([{"text": "Let me "}], early),
        expected([{"text": "check."}], early),
        b"",
        b"",
        b"",
        b"",
        # The weather call is whole once the next block starts; the clock call at the end.
        expected(
            [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}, "id": "toolu_1"}}],
            early,
        ),
        b"",
        expected(
            [{"functionCall": {"name": "clock", "args": {}, "id": "toolu_2"}}],
            {
                "promptTokenCount": 105,
                "candidatesTokenCount": 28,
                "totalTokenCount": 145,
                "cachedContentTokenCount": 90,
                "thoughtsTokenCount": 12,
            },
            "STOP",
        ),
        b"",  # no [DONE]
    ]
    for frame in SseParser().feed(b"".join(out)):
        genai.GenerateContentResponse.model_validate(json.loads(frame[1]))


def merged(events: list[StreamEvent]) -> list[Any]:
    """Events with ids dropped and each tool call's argument fragments joined as parsed JSON."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, ToolCallDelta) and isinstance(out[-1], ToolCallDelta):
            out[-1] = ToolCallDelta(event.index, out[-1].arguments + event.arguments)
        elif isinstance(event, MessageStart | ToolCallStart):
            out.append(replace(event, id=""))
        else:
            out.append(event)
    return [json.loads(e.arguments or "{}") if isinstance(e, ToolCallDelta) else e for e in out]


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(ENCODE_EVENTS, id="thinking-text-and-tools"),
        pytest.param(
            [
                MessageStart("x", "m", Usage(input_tokens=4)),
                TextDelta(0, "Short"),
                MessageEnd("max_tokens", Usage(input_tokens=4, output_tokens=1)),
            ],
            id="max-tokens",
        ),
        pytest.param(
            [MessageStart("x", "m"), MessageEnd("end_turn")],
            id="empty-answer",
        ),
    ],
)
def test_encoder_output_decodes_to_the_same_events(events: list[StreamEvent]) -> None:
    decoded = decode_stream(DIALECT, b"".join(encode(events)))
    expected = list(events)
    # Gemini has no slot for cache writes: they come back as uncached prompt tokens.
    for i, event in enumerate(expected):
        if isinstance(event, MessageStart | MessageEnd) and event.usage.cache_write_tokens:
            usage = event.usage
            folded = replace(
                usage,
                input_tokens=usage.input_tokens + usage.cache_write_tokens,
                cache_write_tokens=0,
            )
            expected[i] = replace(event, usage=folded)
    assert merged(decoded) == merged(expected)


def test_encoder_keeps_cache_counts_announced_at_start() -> None:
    events: list[StreamEvent] = [
        MessageStart("x", "m", Usage(input_tokens=10, cache_read_tokens=90)),
        TextDelta(0, "hi"),
        MessageEnd("end_turn", Usage(output_tokens=3)),
    ]
    final = json.loads(SseParser().feed(encode(events)[-2])[0][1])
    assert final["usageMetadata"] == {
        "promptTokenCount": 100,
        "candidatesTokenCount": 3,
        "totalTokenCount": 103,
        "cachedContentTokenCount": 90,
    }


def test_encoder_error_is_a_google_error_frame() -> None:
    encoder = DIALECT.stream_encoder(request(user("hi")))
    assert encoder.error(503, "provider_unavailable", "Upstream down") == (
        b'data: {"error":{"code":503,"message":"Upstream down","status":"UNAVAILABLE"}}\n\n'
    )


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (422, "INVALID_ARGUMENT"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (502, "UNAVAILABLE"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
    ],
)
def test_render_error_uses_googles_envelope(status: int, name: str) -> None:
    assert DIALECT.render_error(status, "some_code", "Nope") == {
        "error": {
            "code": status,
            "message": "Nope",
            "status": name,
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "some_code",
                    "domain": "llmgw-desktop",
                }
            ],
        }
    }


def test_dialect_is_named_gemini() -> None:
    assert DIALECT.name == "gemini"
