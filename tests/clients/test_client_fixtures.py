"""What the pinned CLIs really send, kept as fixtures (`capture.py`), and every dialect pair.

- The contract test re-records each CLI and compares the shape of its requests with the
  fixture: a CLI upgrade that adds a field, a tool kind, a role or a content block fails here,
  with the difference named, instead of reaching a user as a 400.
- The table tests drive each recorded request to each other dialect through the real
  translators and check the result against the target SDK's own request types (Anthropic's and
  OpenAI's TypedDicts, google-genai's models), plus what each API insists on (name patterns,
  alternating roles). A request for its own dialect must be forwarded byte for byte.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from pathlib import Path
from typing import Any

import anthropic.types.message_create_params as anthropic_params
import openai.types.chat.completion_create_params as chat_params
import openai.types.responses.response_create_params as responses_params
import pytest
from google.genai import types as genai
from pydantic import TypeAdapter

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.same_dialect.passthrough import passthrough_body
from llmgw_desktop.engine.gateway.translation import notice_for
from tests.clients.capture import (
    SCENARIOS,
    Scenario,
    capture,
    fixture_path,
    llm_bodies,
    load_fixture,
    shape,
)

DIALECT_NAMES = ("anthropic", "openai-chat", "openai-responses", "gemini")
# A model of each dialect to translate for: (provider, model).
TARGETS = {
    "anthropic": ("anthropic", "claude-sonnet-4-6"),
    "openai-chat": ("openai", "gpt-4.1"),
    "openai-responses": ("openai", "gpt-5.1"),
    "gemini": ("google", "gemini-2.5-flash"),
}
_ANTHROPIC_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_GEMINI_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$")


def fixture_requests() -> list[Any]:
    return [
        pytest.param(request, id=f"{scenario.cli}-{scenario.name}-{index}")
        for scenario in SCENARIOS
        if fixture_path(scenario).exists()
        for index, request in enumerate(llm_bodies(load_fixture(scenario)))
    ]


# -- the CLIs still send what the fixtures say --------------------------------------------


@pytest.mark.contract
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.cli}-{s.name}")
async def test_the_pinned_clis_still_send_what_the_fixtures_say(
    scenario: Scenario, tmp_path: Path
) -> None:
    run, requests = await capture(scenario, tmp_path)
    assert run.returncode == 0, run.explain()
    recorded = load_fixture(scenario)
    rerecord = "re-record with `python -m tests.clients.capture` and review the diff"
    assert [(r["method"], r["path"]) for r in requests] == [
        (r["method"], r["path"]) for r in recorded
    ], f"{scenario.cli} now makes other calls; {rerecord}"
    for now, then in zip(requests, recorded, strict=True):
        assert now["userAgent"] == then["userAgent"], f"{scenario.cli} version changed; {rerecord}"
        added = shape(now["body"]) - shape(then["body"])
        gone = shape(then["body"]) - shape(now["body"])
        assert not added and not gone, (
            f"{scenario.cli} {now['path']} changed shape: added {sorted(added)}, "
            f"gone {sorted(gone)}; {rerecord}"
        )
        assert set(now["headers"]) == set(then["headers"]), rerecord


# -- every fixture through every dialect pair ---------------------------------------------


@pytest.mark.parametrize("request_", fixture_requests())
def test_a_client_request_for_its_own_dialect_goes_out_byte_for_byte(
    request_: dict[str, Any],
) -> None:
    body = request_["body"]
    raw = jsonio.dumps(body)
    model = body.get("model", "gemini-2.5-flash")
    same = passthrough_body(
        request_["dialect"], body, raw, model, stream=bool(body.get("stream")), stream_usage=True
    )
    assert same.data is raw
    other = passthrough_body(
        request_["dialect"], body, raw, "renamed", stream=False, stream_usage=False
    )
    sent = jsonio.loads(other.data)
    if request_["dialect"] != "gemini":  # Gemini's model is in the URL
        assert sent.pop("model") == "renamed"
        body = {k: v for k, v in body.items() if k != "model"}
    assert sent == body


def dialect_pairs() -> list[Any]:
    """Each fixture request with each dialect other than its own (its own: the test above)."""
    return [
        pytest.param(p.values[0], target, id=f"{p.id}-to-{target}")
        for p in fixture_requests()
        for target in DIALECT_NAMES
        if target != p.values[0]["dialect"]
    ]


@pytest.mark.parametrize(("request_", "target"), dialect_pairs())
def test_a_client_request_translates_to_every_other_dialect(
    request_: dict[str, Any], target: str
) -> None:
    client = request_["dialect"]
    url_model = _url_model(request_) if client == "gemini" else None
    incoming = ClientRequest(client, request_["body"], url_model=url_model)
    neutral = incoming.neutral()
    provider, model = TARGETS[target]
    notes = list(neutral.left_out)
    rendered = DIALECTS[target].render_request(
        dataclasses.replace(neutral, model=model, stream_usage=True),
        target=target_model(provider, model, target),
        notes=notes,
    )
    CHECKS[target](rendered)
    # Everything the client offered as a tool arrives, or is named as left out.
    offered = _offered_tool_count(client, request_["body"])
    carried = len(neutral.tools)
    if carried < offered:
        assert any("tool" in note for note in notes), notes
    notice = notice_for(target_model(provider, model, target), notes)
    if notes:
        assert notice is not None and notice.startswith(f"left out for {provider}/{model}: ")


def _url_model(request_: dict[str, Any]) -> str:
    return str(request_["path"]).rsplit("/", 1)[1].split(":")[0]


def _offered_tool_count(dialect: str, body: dict[str, Any]) -> int:
    tools = body.get("tools") or []
    if dialect == "gemini":
        return sum(len(t.get("functionDeclarations") or []) + (len(t) > 1) for t in tools)
    return sum(len(t["tools"]) if t.get("type") == "namespace" else 1 for t in tools)


def _valid(adapter: TypeAdapter[Any], body: dict[str, Any]) -> None:
    """Validate against an SDK TypedDict, forcing the lazily checked iterables."""
    _force(adapter.validate_python(body))


def _force(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_force(v) for v in value]
    if hasattr(value, "__next__"):
        return [_force(v) for v in value]
    return value


def _check_anthropic(body: dict[str, Any]) -> None:
    _valid(TypeAdapter(anthropic_params.MessageCreateParams), body)
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] in ("user", "system")
    for earlier, later in itertools.pairwise(roles):
        assert earlier != later or earlier == "system", roles  # turns alternate
    for message in body["messages"]:
        blocks = message["content"] if isinstance(message["content"], list) else []
        assert all(b.get("text", "x") for b in blocks), "Anthropic refuses empty text blocks"
    for tool in body.get("tools", []):
        assert _ANTHROPIC_NAME.match(tool["name"]), tool["name"]
    if "thinking" in body:
        assert body["max_tokens"] > body["thinking"]["budget_tokens"]
        assert "temperature" not in body


def _check_chat(body: dict[str, Any]) -> None:
    _valid(TypeAdapter(chat_params.CompletionCreateParams), body)
    for tool in body.get("tools", []):
        assert _OPENAI_NAME.match(tool["function"]["name"]), tool["function"]["name"]
    # gpt-4.1 does not reason: an effort the client asked for is left out (and said).
    assert "reasoning_effort" not in body


def _check_responses(body: dict[str, Any]) -> None:
    _valid(TypeAdapter(responses_params.ResponseCreateParams), body)
    for tool in body.get("tools", []):
        assert tool["type"] == "function" and _OPENAI_NAME.match(tool["name"]), tool


def _check_gemini(body: dict[str, Any]) -> None:
    roles = []
    for content in body["contents"]:
        genai.Content.model_validate(content)
        roles.append(content["role"])
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    if "systemInstruction" in body:
        genai.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        genai.Tool.model_validate(tool)
        for declaration in tool["functionDeclarations"]:
            assert _GEMINI_NAME.match(declaration["name"]), declaration["name"]
    if "generationConfig" in body:
        genai.GenerationConfig.model_validate(body["generationConfig"])
    assert set(body) <= {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}


CHECKS = {
    "anthropic": _check_anthropic,
    "openai-chat": _check_chat,
    "openai-responses": _check_responses,
    "gemini": _check_gemini,
}


def test_every_pinned_cli_has_fixtures() -> None:
    missing = [str(fixture_path(s)) for s in SCENARIOS if not fixture_path(s).exists()]
    assert not missing, f"record them with `python -m tests.clients.capture`: {missing}"
    for scenario in SCENARIOS:
        assert llm_bodies(load_fixture(scenario)), json.dumps(load_fixture(scenario))[:300]
