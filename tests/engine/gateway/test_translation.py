"""Each decision of the translation table (docs/TRANSLATION.md), one test each: what maps,
what is left out with a notice, and what is refused with a 400 naming the feature."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.capabilities import accepts_reasoning, target_model
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import (
    ChatResponse,
    MessageEnd,
    MessageStart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
)
from llmgw_desktop.engine.gateway.same_dialect.passthrough import (
    forwardable_headers,
    passthrough_body,
    splice_members,
)
from llmgw_desktop.engine.gateway.translation import TargetModel, Untranslatable

TARGETS = {
    "anthropic": target_model("anthropic", "claude-sonnet-4-6", "anthropic"),
    "openai-chat": target_model("openai", "gpt-4.1", "openai-chat"),
    "openai-responses": target_model("openai", "gpt-5.1", "openai-responses"),
    "gemini": target_model("google", "gemini-2.5-flash", "gemini"),
}


def translate(
    client: str, body: dict[str, Any], target: str, *, url_model: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The body `target` is sent for a client's `body`, and the notes of what was left out."""
    neutral = ClientRequest(client, body, url_model=url_model).neutral()
    notes = list(neutral.left_out)
    model = TARGETS[target]
    rendered = DIALECTS[target].render_request(
        dataclasses.replace(neutral, model=model.model), target=model, notes=notes
    )
    return rendered, notes


def claude(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 100, "messages": list(messages)} | fields


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


MID_SYSTEM = claude(
    user("hi"),
    {"role": "assistant", "content": "hello"},
    {"role": "system", "content": "Agents available: explore."},
    user("go"),
)


# -- mid-conversation system messages ----------------------------------------------------


def test_a_mid_conversation_system_message_keeps_its_place_in_openai_chat() -> None:
    body, notes = translate("anthropic", MID_SYSTEM, "openai-chat")
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "system", "user"]
    assert body["messages"][2]["content"] == "Agents available: explore."
    assert notes == []


def test_a_mid_conversation_system_message_is_a_developer_item_in_responses() -> None:
    body, _ = translate("anthropic", MID_SYSTEM, "openai-responses")
    assert [(i.get("role"), i["type"]) for i in body["input"]][2] == ("developer", "message")


def test_a_mid_conversation_system_message_stays_a_system_message_for_anthropic() -> None:
    chat = {
        "model": "gpt-x",
        "messages": [
            user("hi"),
            {"role": "assistant", "content": "yo"},
            {"role": "developer", "content": "Be terse."},
            user("go"),
        ],
    }
    body, _ = translate("openai-chat", chat, "anthropic")
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "system", "user"]


def test_gemini_gets_a_mid_conversation_system_message_as_user_text_and_says_so() -> None:
    body, notes = translate("anthropic", MID_SYSTEM, "gemini")
    texts = [p["text"] for c in body["contents"] for p in c["parts"]]
    assert "[system] Agents available: explore." in texts
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert any("mid-conversation system message" in n for n in notes)


# -- tools -------------------------------------------------------------------------------

CODEX_TOOLS = {
    "model": "gpt-5.5",
    "input": [
        {"type": "message", "role": "user", "content": "go"},
        {
            "type": "function_call",
            "namespace": "mcp__echo",
            "name": "echo",
            "call_id": "c1",
            "arguments": '{"text":"x"}',
        },
        {"type": "function_call_output", "call_id": "c1", "output": "x"},
        {"type": "custom_tool_call", "name": "apply_patch", "call_id": "c2", "input": "*** Begin"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"},
    ],
    "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
        {
            "type": "namespace",
            "name": "mcp__echo",
            "description": "Echo server",
            "tools": [{"type": "function", "name": "echo", "parameters": {"type": "object"}}],
        },
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Edit files.",
            "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"},
        },
        {"type": "web_search", "external_web_access": False},
        {"type": "tool_search", "execution": "client", "parameters": {}},
    ],
    "store": False,
    "include": ["reasoning.encrypted_content"],
}


def test_codex_namespaced_custom_and_hosted_tools_for_anthropic() -> None:
    body, notes = translate("openai-responses", CODEX_TOOLS, "anthropic")
    tools = {t["name"]: t for t in body["tools"]}
    assert set(tools) == {"exec_command", "mcp__echo__echo", "apply_patch"}
    # A freeform tool becomes a one-string function whose description carries the grammar.
    assert tools["apply_patch"]["input_schema"]["required"] == ["input"]
    assert "start: x" in tools["apply_patch"]["description"]
    # History: the namespaced and the freeform calls become ordinary tool_use blocks.
    calls = [b for m in body["messages"] for b in m["content"] if b["type"] == "tool_use"]
    assert [(c["name"], c["input"]) for c in calls] == [
        ("mcp__echo__echo", {"text": "x"}),
        ("apply_patch", {"input": "*** Begin"}),
    ]
    assert any("web_search tool" in n for n in notes)
    assert any("tool_search tool" in n for n in notes)
    # `store: false` says nothing to another provider; `include` asks for OpenAI's state.
    assert not any(n.startswith("store") for n in notes)
    assert any(n.startswith("include") for n in notes)


def test_calls_of_namespaced_and_freeform_tools_go_back_to_codex_in_its_own_form() -> None:
    request = ClientRequest("openai-responses", CODEX_TOOLS).neutral()
    answer = ChatResponse(
        "r1",
        "claude-sonnet-4-6",
        (
            ToolCallPart("t1", "mcp__echo__echo", '{"text":"hi"}'),
            ToolCallPart("t2", "apply_patch", '{"input":"*** Begin Patch"}'),
        ),
        "tool_use",
    )
    output = DIALECTS["openai-responses"].render_response(answer, request)["output"]
    assert output[0] | {"id": ""} == {
        "id": "",
        "type": "function_call",
        "status": "completed",
        "call_id": "t1",
        "name": "echo",
        "namespace": "mcp__echo",
        "arguments": '{"text":"hi"}',
    }
    assert output[1]["type"] == "custom_tool_call"
    assert (output[1]["name"], output[1]["input"]) == ("apply_patch", "*** Begin Patch")


def test_a_streamed_freeform_call_reaches_codex_as_custom_tool_call_events() -> None:
    request = ClientRequest("openai-responses", CODEX_TOOLS | {"stream": True}).neutral()
    encoder = DIALECTS["openai-responses"].stream_encoder(request)
    events = [
        MessageStart("m1", "claude-sonnet-4-6"),
        ToolCallStart(0, "t2", "apply_patch"),
        ToolCallDelta(0, '{"input":"*** Begin'),
        ToolCallDelta(0, ' Patch"}'),
        MessageEnd("tool_use"),
    ]
    raw = b"".join(encoder.encode(e) for e in events)
    frames = [json.loads(data) for _, data in SseParser().feed(raw)]
    kinds = [f["type"] for f in frames]
    assert "response.function_call_arguments.delta" not in kinds
    done = next(f for f in frames if f["type"] == "response.custom_tool_call_input.done")
    assert done["input"] == "*** Begin Patch"
    final = frames[-1]["response"]["output"][0]
    assert (final["type"], final["input"]) == ("custom_tool_call", "*** Begin Patch")


def test_a_chat_custom_tool_call_goes_back_in_chat_custom_form() -> None:
    chat = {
        "model": "gpt-5",
        "messages": [user("patch it")],
        "tools": [{"type": "custom", "custom": {"name": "apply_patch", "description": "Edit."}}],
    }
    request = ClientRequest("openai-chat", chat).neutral()
    answer = ChatResponse("r", "m", (ToolCallPart("t", "apply_patch", '{"input":"diff"}'),))
    call = DIALECTS["openai-chat"].render_response(answer, request)["choices"][0]["message"]
    assert call["tool_calls"] == [
        {"id": "t", "type": "custom", "custom": {"name": "apply_patch", "input": "diff"}}
    ]


def test_anthropic_client_tools_are_written_out_and_server_tools_left_out() -> None:
    body = claude(
        user("fix it"),
        tools=[
            {"type": "bash_20250124", "name": "bash"},
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            {"name": "mine", "input_schema": {"type": "object"}, "cache_control": {"type": "x"}},
        ],
    )
    rendered, notes = translate("anthropic", body, "openai-chat")
    functions = {t["function"]["name"]: t["function"] for t in rendered["tools"]}
    assert set(functions) == {"bash", "str_replace_based_edit_tool", "mine"}
    assert "command" in functions["bash"]["parameters"]["properties"]
    assert (
        "str_replace"
        in functions["str_replace_based_edit_tool"]["parameters"]["properties"]["command"]["enum"]
    )
    assert any("web_search_20250305 tool" in n for n in notes)
    assert any(n.startswith("cache_control") for n in notes)


def test_gemini_built_in_tools_are_left_out_with_a_notice() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "search"}]}],
        "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "f"}]}],
    }
    rendered, notes = translate("gemini", body, "anthropic", url_model="gemini-2.5-flash")
    assert [t["name"] for t in rendered["tools"]] == ["f"]
    assert "googleSearch tool (Gemini's)" in notes


# -- refused: state kept by one vendor, several answers, audio ----------------------------


@pytest.mark.parametrize(
    ("client", "body", "feature"),
    [
        (
            "openai-responses",
            {"model": "m", "input": "x", "previous_response_id": "resp_1"},
            "previous_response_id",
        ),
        (
            "openai-responses",
            {"model": "m", "input": [{"type": "item_reference", "id": "i"}]},
            "input item type 'item_reference'",
        ),
        (
            "openai-responses",
            {"model": "m", "input": [{"type": "compaction", "encrypted_content": "x"}]},
            "input item type 'compaction'",
        ),
        ("openai-chat", {"model": "m", "messages": [user("x")], "n": 3}, "n > 1"),
        (
            "openai-chat",
            {"model": "m", "messages": [user("x")], "modalities": ["text", "audio"]},
            "audio output",
        ),
        (
            "anthropic",
            claude(
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                }
            ),
            "an image by file_id",
        ),
    ],
)
def test_what_no_other_dialect_can_carry_is_refused_naming_it(
    client: str, body: dict[str, Any], feature: str
) -> None:
    with pytest.raises(Untranslatable) as caught:
        ClientRequest(client, body).neutral()
    refusal = caught.value.for_target(TARGETS["anthropic"], client)
    assert refusal.http_status == 400
    assert refusal.message.startswith(f"{feature} cannot be carried from an ")
    assert "anthropic/claude-sonnet-4-6 (Anthropic Messages)" in refusal.message


def test_a_document_by_url_is_refused_for_openai_chat_only() -> None:
    body = claude(
        {
            "role": "user",
            "content": [
                {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
                {"type": "text", "text": "summarise"},
            ],
        }
    )
    with pytest.raises(Untranslatable, match="a document by URL"):
        translate("anthropic", body, "openai-chat")
    rendered, _ = translate("anthropic", body, "openai-responses")
    assert rendered["input"][0]["content"][0] == {
        "type": "input_file",
        "file_url": "https://x/a.pdf",
    }
    rendered, _ = translate("anthropic", body, "gemini")
    assert rendered["contents"][0]["parts"][0]["fileData"]["fileUri"] == "https://x/a.pdf"


def test_an_inline_pdf_reaches_every_dialect() -> None:
    body = claude(
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "title": "spec.pdf",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                },
                {"type": "text", "text": "summarise"},
            ],
        }
    )
    chat, _ = translate("anthropic", body, "openai-chat")
    assert chat["messages"][0]["content"][0] == {
        "type": "file",
        "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBE"},
    }
    gemini, _ = translate("anthropic", body, "gemini")
    assert gemini["contents"][0]["parts"][0] == {
        "inlineData": {"mimeType": "application/pdf", "data": "JVBE"}
    }
    back, _ = translate("openai-chat", {"model": "m", "messages": chat["messages"]}, "anthropic")
    assert back["messages"][0]["content"][0]["source"] == {
        "type": "base64",
        "media_type": "application/pdf",
        "data": "JVBE",
    }


# -- structured output --------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def test_a_json_schema_maps_between_all_four_dialects() -> None:
    chat = {
        "model": "m",
        "messages": [user("title?")],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "title", "schema": SCHEMA, "strict": True},
        },
    }
    anthropic, _ = translate("openai-chat", chat, "anthropic")
    assert anthropic["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    responses, _ = translate("openai-chat", chat, "openai-responses")
    assert responses["text"] == {
        "format": {"type": "json_schema", "name": "title", "schema": SCHEMA, "strict": True}
    }
    gemini, _ = translate("openai-chat", chat, "gemini")
    assert gemini["generationConfig"]["responseMimeType"] == "application/json"
    assert gemini["generationConfig"]["responseJsonSchema"] == SCHEMA
    # And back: each of them parses into the same structured-output request.
    for client, body, url in (
        ("anthropic", anthropic, None),
        ("openai-responses", responses, None),
        ("gemini", gemini, "gemini-2.5-flash"),
    ):
        fmt = ClientRequest(client, body, url_model=url).neutral().response_format
        assert fmt is not None and fmt.schema == SCHEMA, client


def test_gemini_openapi_response_schema_becomes_json_schema() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
        },
    }
    chat, _ = translate("gemini", body, "openai-chat", url_model="gemini-2.5-flash")
    schema = chat["response_format"]["json_schema"]["schema"]
    assert schema == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_any_json_object_is_asked_of_anthropic_in_words_and_said_so() -> None:
    chat = {"model": "m", "messages": [user("x")], "response_format": {"type": "json_object"}}
    body, notes = translate("openai-chat", chat, "anthropic")
    assert body["system"][-1]["text"] == "Answer with one JSON object and nothing else."
    assert "response_format json_object (asked for in the system prompt)" in notes


# -- reasoning only where the model reasons -----------------------------------------------


def test_claude_codes_adaptive_thinking_reaches_a_reasoning_model_only() -> None:
    body = claude(user("x"), thinking={"type": "adaptive"}, output_config={"effort": "high"})
    reasoning, notes = translate("anthropic", body, "openai-responses")
    assert reasoning["reasoning"] == {"effort": "high"}
    assert notes == []
    plain, notes = translate("anthropic", body, "openai-chat")
    assert "reasoning_effort" not in plain
    assert notes == ["reasoning effort high (the model does not reason)"]


def test_the_reasoning_table() -> None:
    assert accepts_reasoning("openai", "gpt-5.1") and accepts_reasoning("openai", "o3-mini")
    assert not accepts_reasoning("openai", "gpt-4o")
    assert not accepts_reasoning("openai", "gpt-5-chat-latest")
    assert accepts_reasoning("anthropic", "claude-opus-4-8")
    assert not accepts_reasoning("anthropic", "claude-3-5-haiku-latest")
    assert accepts_reasoning("google", "gemini-2.5-flash")
    assert not accepts_reasoning("google", "gemini-2.0-flash")
    assert not accepts_reasoning("ollama", "llama3")


def test_anthropic_gets_no_thinking_it_did_not_sign() -> None:
    gemini = {
        "contents": [
            {"role": "user", "parts": [{"text": "ls"}]},
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {"name": "ls", "args": {}},
                        "thoughtSignature": "skip_thought_signature_validator",
                    }
                ],
            },
            {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {}}}]},
        ],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 8192}},
    }
    body, notes = translate("gemini", gemini, "anthropic", url_model="gemini-2.5-flash")
    assert all(b["type"] != "thinking" for m in body["messages"] for b in m["content"])
    # Thinking on with a last tool call Claude did not think about is refused by Anthropic.
    assert "thinking" not in body
    assert any(n.startswith("thinking (the last tool call") for n in notes)


# -- what the gateway does not know ------------------------------------------------------


def test_fields_nobody_knows_are_named_never_dropped_silently() -> None:
    body = claude(user("x"), brand_new_option={"on": True}, context_management={})
    _, notes = translate("anthropic", body, "openai-chat")
    assert notes == ["brand_new_option"]  # an empty context_management says nothing
    body = claude(user("x"), context_management={"edits": [{"type": "clear"}]})
    _, notes = translate("anthropic", body, "gemini")
    assert notes == ["context_management (context editing is Anthropic's)"]


def test_a_content_block_nobody_knows_is_refused_naming_it() -> None:
    body = claude({"role": "user", "content": [{"type": "hologram", "data": "x"}]})
    with pytest.raises(Untranslatable) as caught:
        translate("anthropic", body, "openai-chat")
    assert caught.value.feature == "content block type 'hologram'"


def test_target_models_say_whether_they_reason() -> None:
    assert target_model("openai", "gpt-4.1", "openai-chat") == TargetModel(
        "openai", "gpt-4.1", "openai-chat", reasoning=False
    )


# -- same dialect ---------------------------------------------------------------------------


def test_a_held_output_limit_is_appended_to_the_clients_bytes_unless_the_member_is_there() -> None:
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
    body = jsonio.loads(raw)
    limit = {"max_completion_tokens": 512}
    sent = passthrough_body(
        "openai-chat", body, raw, "gpt-4o", stream=True, stream_usage=False, sent_with=limit
    )
    assert sent.data.startswith(raw[:-1])  # the client's own bytes, two members appended
    assert jsonio.loads(sent.data) == body | limit | {"stream_options": {"include_usage": True}}
    # A member the client sent, even null, is set in a body written again: never a duplicate.
    for held in ({"max_completion_tokens": None}, {"max_completion_tokens": 9000}):
        raw_held = jsonio.dumps(body | held)
        sent = passthrough_body(
            "openai-chat",
            jsonio.loads(raw_held),
            raw_held,
            "gpt-4o",
            stream=False,
            stream_usage=False,
            sent_with=limit,
        )
        assert sent.data.count(b"max_completion_tokens") == 1
        assert jsonio.loads(sent.data)["max_completion_tokens"] == 512
    # Bytes that do not end the object (never from the front door) are written again, so the
    # limit is never dropped for them.
    sent = passthrough_body(
        "openai-chat",
        body,
        raw + b" x",
        "gpt-4o",
        stream=False,
        stream_usage=False,
        sent_with=limit,
    )
    assert jsonio.loads(sent.data) == body | limit


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model":"m"}',
        b'{"model": "m" }',
        b'{"model": "m"}\r\n',
        b'{"model": "m"\n\t}  \n',
        b"{}",
        b"{ \n }",
    ],
)
def test_members_spliced_onto_a_clients_object_keep_its_bytes_and_read_as_json(raw: bytes) -> None:
    """Whatever JSON whitespace ends the client's object, the members go before its brace,
    after a comma only where the object has members, and the result is bytes."""
    spliced = splice_members(raw, {"max_tokens": 5, "stream_options": {"include_usage": True}})
    assert isinstance(spliced, bytes)
    assert jsonio.loads(spliced) == jsonio.loads(raw) | {
        "max_tokens": 5,
        "stream_options": {"include_usage": True},
    }
    assert spliced.startswith(raw.rstrip()[:-1].rstrip())
    assert jsonio.loads(splice_members(raw, {}) or b"null") == jsonio.loads(raw)
    assert splice_members(raw + b" x", {"max_tokens": 5}) is None


def test_a_chat_stream_is_asked_for_usage_without_rewriting_the_clients_bytes() -> None:
    raw = b'{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "1.50"}]}'
    body = jsonio.loads(raw)
    sent = passthrough_body("openai-chat", body, raw, "gpt-4o", stream=True, stream_usage=False)
    assert sent.added_usage
    assert sent.data.startswith(raw[:-1])  # the client's own bytes, one member appended
    assert jsonio.loads(sent.data) == body | {"stream_options": {"include_usage": True}}
    # With a project field, or stream_options already there, the body is written again.
    with_project = body | {"project": "p"}
    sent = passthrough_body(
        "openai-chat", with_project, raw, "gpt-4o", stream=True, stream_usage=False
    )
    assert "project" not in jsonio.loads(sent.data)


def test_a_private_header_is_kept_back_though_its_name_is_remembered_as_forwarded() -> None:
    asked = [("X-Title", "mine"), ("X-Principal", "alice"), ("Authorization", "Bearer k")]
    # Each name's fate is remembered; a trusted header is kept back per call, not by that.
    assert forwardable_headers(asked) == {"x-title": "mine", "x-principal": "alice"}
    kept = forwardable_headers(asked, private=("X-Principal", None))
    assert kept == {"x-title": "mine"}
    assert forwardable_headers(asked) == {"x-title": "mine", "x-principal": "alice"}
    repeated = forwardable_headers([("X-Title", "a"), ("x-title", "b"), ("Sec-Fetch-Mode", "c")])
    assert repeated == {"x-title": "a, b"}
