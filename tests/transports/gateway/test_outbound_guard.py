"""The outbound guard through the official SDKs: every kind of secret, in each of the four
dialects (sent as it came and translated), with each action; what the upstream received and
what the client read.

The scripted upstream is on loopback, which `guard.exempt_local` leaves alone (nothing
leaves), so every test here turns that off: the providers pointed at it stand for remote ones.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from llmgw_desktop.engine.api import Notice
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.engine.guard.secrets import AWS_ACCESS_KEY, PRIVATE_KEY, SECRETS
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

REMOTE = {"guard.exempt_local": False}


async def _guarded(start_gateway: GatewayFactory, action: str, **more: Any) -> GatewayRuntime:
    gateway: GatewayRuntime = await start_gateway({**REMOTE, "guard.secrets": action, **more})
    return gateway


def _sent_text(upstream: ScriptedUpstream) -> str:
    """Everything the upstream received in LLM calls, as text."""
    return "\n".join(r.raw_body.decode() for r in upstream.llm_requests)


# Each door's client: asks `model` with `text` as the user's message, returns the answer text.
Ask = Callable[[GatewayRuntime, str, str], Awaitable[str]]


async def _openai_chat(gateway: GatewayRuntime, model: str, text: str) -> str:
    reply = await openai_client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


async def _openai_responses(gateway: GatewayRuntime, model: str, text: str) -> str:
    reply = await openai_client(gateway).responses.create(model=model, input=text)
    return reply.output_text


async def _anthropic(gateway: GatewayRuntime, model: str, text: str) -> str:
    reply = await claude_client(gateway).messages.create(
        model=model, max_tokens=100, messages=[{"role": "user", "content": text}]
    )
    return "".join(b.text for b in reply.content if b.type == "text")


async def _gemini(gateway: GatewayRuntime, model: str, text: str) -> str:
    reply = await gemini_client(gateway).aio.models.generate_content(model=model, contents=text)
    return reply.text or ""


# (door, its client, a model of its own dialect, a model it reaches translated)
DOORS: list[tuple[str, Ask, str, str]] = [
    ("openai-chat", _openai_chat, "gpt-4o", "claude-sonnet-4-6"),
    ("openai-responses", _openai_responses, "gpt-4o", "gemini-2.5-flash"),
    ("anthropic", _anthropic, "claude-sonnet-4-6", "gpt-4o"),
    ("gemini", _gemini, "gemini-2.5-flash", "claude-sonnet-4-6"),
]
DOOR_IDS = [door for door, *_ in DOORS]


async def _refused(ask: Ask, gateway: GatewayRuntime, model: str, text: str) -> tuple[int, str]:
    """The status and body text of a request the gateway refuses, as the door's SDK saw it."""
    try:
        await ask(gateway, model, text)
    except (openai.APIStatusError, anthropic.APIStatusError) as exc:
        return exc.status_code, json.dumps(exc.body)
    except genai_errors.APIError as exc:
        return exc.code, json.dumps(exc.details)
    raise AssertionError("the request was answered")


@pytest.mark.parametrize(("door", "ask", "own", "translated"), DOORS, ids=DOOR_IDS)
async def test_block_refuses_every_kind_in_the_doors_dialect_naming_kind_and_place(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    door: str,
    ask: Ask,
    own: str,
    translated: str,
) -> None:
    gateway = await _guarded(start_gateway, "block")
    for model in (own, translated):
        for kind, (secret, line) in SECRETS.items():
            status, body = await _refused(ask, gateway, model, f"Fix my config:\n{line}")
            assert status == 400, (door, model, kind, body)
            assert "secret_detected" in body and kind in body, (door, model, kind, body)
            assert secret not in body and secret.split("\n")[0][:24] not in body
    assert upstream.llm_requests == []


@pytest.mark.parametrize(("door", "ask", "own", "translated"), DOORS, ids=DOOR_IDS)
async def test_redact_sends_placeholders_for_every_kind(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    door: str,
    ask: Ask,
    own: str,
    translated: str,
) -> None:
    gateway = await _guarded(start_gateway, "redact")
    for model in (own, translated):
        for kind, (secret, line) in SECRETS.items():
            upstream.requests.clear()
            await ask(gateway, model, f"Fix my config:\n{line}")
            sent = _sent_text(upstream)
            assert f"[SECRET:{kind}#1]" in sent, (door, model, kind)
            assert json.dumps(secret)[1:-1] not in sent and secret not in sent, (door, model, kind)


@pytest.mark.parametrize(("door", "ask", "own", "translated"), DOORS, ids=DOOR_IDS)
async def test_warn_sends_as_it_came_and_says_so(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    door: str,
    ask: Ask,
    own: str,
    translated: str,
) -> None:
    gateway = await _guarded(start_gateway, "warn")
    for model in (own, translated):
        upstream.requests.clear()
        answer = await ask(gateway, model, f"key {AWS_ACCESS_KEY}")
        assert answer
        assert AWS_ACCESS_KEY in _sent_text(upstream), (door, model)
    found = gateway.engine.guard.stats.counts()
    assert {(c.kind, c.action) for c in found} == {("aws_access_key", "warned")}
    assert sum(c.count for c in found) == 2


@pytest.mark.parametrize(("door", "ask", "own", "translated"), DOORS, ids=DOOR_IDS)
async def test_off_sends_as_it_came_and_records_nothing(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    door: str,
    ask: Ask,
    own: str,
    translated: str,
) -> None:
    gateway = await _guarded(start_gateway, "off")
    await ask(gateway, own, f"key {AWS_ACCESS_KEY}")
    assert AWS_ACCESS_KEY in _sent_text(upstream)
    assert gateway.engine.guard.stats.counts() == []


async def test_redacted_answer_gets_the_secret_back_in_a_tool_call(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """An agent asks the model to write its config; the model writes the placeholder into its
    tool call; the agent's edit carries the real key (JSON-escaped, newlines and all)."""
    gateway = await _guarded(start_gateway, "redact")
    upstream.script(
        Reply.tool_call("write_file", {"path": ".env", "content": "KEY=[SECRET:private_key#1]\n"})
    )
    reply = await openai_client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": f"Put this key in .env:\n{PRIVATE_KEY}"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "write_file",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
    )
    (call,) = reply.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments)["content"] == f"KEY={PRIVATE_KEY}\n"
    assert PRIVATE_KEY not in _sent_text(upstream)


async def test_a_blocked_remote_target_falls_back_to_a_local_one(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """With anthropic blocked, a route whose fallback is a provider the guard leaves alone
    (here openai, `off`) is answered there, and the row says why the first was passed over."""
    gateway = await start_gateway(
        {
            **REMOTE,
            "guard.secrets": "block",
            "guard.providers": {"openai": "off"},
            "gateway.routes": {"claude-sonnet-4-6": {"fallback": ["openai/gpt-4o"]}},
        }
    )
    reply = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": f"{AWS_ACCESS_KEY}"}]
    )
    assert reply.headers["x-gateway-provider"] == "openai"
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/chat/completions"
    extra = reply.parse().model_extra or {}
    outcomes = [a["outcome"] for a in extra["x_gateway"]["attempts"]]
    assert outcomes == ["guard_blocked", "ok"]


TOOLS_CHAT: Any = [
    {"type": "function", "function": {"name": "write_file", "parameters": {"type": "object"}}}
]
TOOL_CALL = Reply.tool_call("write_file", {"content": "KEY=[SECRET:private_key#1]\n"})
EDIT = {"content": f"KEY={PRIVATE_KEY}\n"}
ASKED = f"Put this key in .env:\n{PRIVATE_KEY}"


async def test_a_streamed_tool_call_gets_the_secret_back_in_every_dialect(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """The upstream streams the placeholder split anywhere in the arguments (as the APIs do);
    each SDK assembles the agent's edit with the real key in place."""
    gateway = await _guarded(start_gateway, "redact")
    upstream.script(TOOL_CALL, TOOL_CALL, TOOL_CALL, TOOL_CALL)

    stream = await openai_client(gateway).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": ASKED}], tools=TOOLS_CHAT, stream=True
    )
    arguments = ""
    async for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += (call.function and call.function.arguments) or ""
    assert json.loads(arguments) == EDIT

    async with claude_client(gateway).messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=[{"role": "user", "content": ASKED}],
        tools=[{"name": "write_file", "input_schema": {"type": "object"}}],
    ) as claude:
        final = await claude.get_final_message()
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert use.input == EDIT

    responses = await openai_client(gateway).responses.create(
        model="gpt-4o",
        input=ASKED,
        tools=[{"type": "function", "name": "write_file", "parameters": {"type": "object"}}],
        stream=True,
    )
    done = [e async for e in responses if e.type == "response.function_call_arguments.done"]
    assert json.loads(done[0].arguments) == EDIT

    chunks = await gemini_client(gateway).aio.models.generate_content_stream(
        model="gemini-2.5-flash", contents=ASKED
    )
    calls = [
        part.function_call
        async for chunk in chunks
        for part in (chunk.candidates[0].content.parts or [])
        if part.function_call
    ]
    assert calls[0].args == EDIT
    assert PRIVATE_KEY not in _sent_text(upstream)


async def test_ask_without_a_desk_blocks_by_default(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _guarded(start_gateway, "ask")
    status, body = await _refused(_openai_chat, gateway, "gpt-4o", f"key {AWS_ACCESS_KEY}")
    assert status == 400 and "no-desk" in body
    assert upstream.llm_requests == []


async def test_ask_without_a_desk_follows_the_operators_fallback(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _guarded(start_gateway, "ask", **{"guard.ask_fallback": "redact"})
    await _openai_chat(gateway, "gpt-4o", f"key {AWS_ACCESS_KEY}")
    assert "[SECRET:aws_access_key#1]" in _sent_text(upstream)


@pytest.mark.parametrize(("choice", "sent"), [("send", True), ("redact", False)])
async def test_ask_follows_the_desks_answer(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, choice: str, sent: bool
) -> None:
    gateway = await _guarded(start_gateway, "ask")
    questions = gateway.engine.guard.questions
    asked = []

    def desk(question: Any) -> None:
        asked.append(question)
        questions.answer(question.id, choice)

    questions.attach_desk(desk)
    await _openai_chat(gateway, "gpt-4o", f"key {AWS_ACCESS_KEY}")
    (question,) = asked
    assert [(f.kind, f.where) for f in question.findings] == [
        ("aws_access_key", "messages[0].content")
    ]
    assert AWS_ACCESS_KEY not in question.findings[0].excerpt
    assert (AWS_ACCESS_KEY in _sent_text(upstream)) is sent


@pytest.mark.parametrize("action", ["warn", "block"])
async def test_the_row_and_the_answer_say_what_was_found_never_the_value(
    start_gateway: GatewayFactory, action: str
) -> None:
    gateway = await _guarded(start_gateway, action)
    notices: list[Any] = []
    gateway.engine.events.subscribe(Notice, notices.append)
    client = openai_client(gateway).chat.completions.with_raw_response
    messages: Any = [{"role": "user", "content": f"one\ntwo {AWS_ACCESS_KEY}"}]
    if action == "warn":
        first = await client.create(model="gpt-4o", messages=messages)
        await client.create(model="gpt-4o", messages=messages)
        assert first.headers["x-gateway-guard"] == "warned: aws_access_key x1"
        request_id = first.headers["x-gateway-request-id"]
        # Told once, though the conversation was sent twice.
        assert [n.topic for n in notices] == ["guard"]
        assert "aws_access_key in messages[0].content, line 2" in notices[0].message
        assert AWS_ACCESS_KEY not in notices[0].message
    else:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.create(model="gpt-4o", messages=messages)
        request_id = caught.value.response.headers["x-gateway-request-id"]
        assert notices == []
    detail = await gateway.engine.recorder_query.detail(request_id)
    assert detail is not None
    guard = detail.record["route"]["guard"]
    assert guard["found"] == {"aws_access_key": 1}
    assert guard["where"] == ["aws_access_key in messages[0].content, line 2"]
    assert guard["targets"] == {"openai": "warned" if action == "warn" else "blocked"}
    assert AWS_ACCESS_KEY not in json.dumps(detail.record)


async def test_metrics_count_what_was_found_per_provider_key_and_kind(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await _guarded(start_gateway, "redact", **{"guard.providers": {"anthropic": "warn"}})
    await _openai_chat(gateway, "gpt-4o", f"{AWS_ACCESS_KEY} and {AWS_ACCESS_KEY}\n{PRIVATE_KEY}")
    await _anthropic(gateway, "claude-sonnet-4-6", f"{AWS_ACCESS_KEY}")
    async with aiohttp.ClientSession() as http, http.get(gateway.base_url + "/metrics") as got:
        assert got.status == 200
        text = await got.text()
    expected = {
        ("openai", "aws_access_key", "redacted"): 1,
        ("openai", "private_key", "redacted"): 1,
        ("anthropic", "aws_access_key", "warned"): 1,
    }
    for (provider, kind, action), count in expected.items():
        line = (
            f'llmgw_guard_secrets_total{{action="{action}",key="local",kind="{kind}",'
            f'process="main",provider="{provider}"}} {float(count)}'
        )
        assert line in text, [t for t in text.splitlines() if "guard" in t]
    assert AWS_ACCESS_KEY not in text
