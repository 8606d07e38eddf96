"""Red team of issue 62's fixes, as its attackers would try them: a page on another loopback
port, the narrowest gateway key, a user's MCP server that turns hostile.

Each test asserts the safe behaviour beside the legitimate path. The edge's tricks (origins
spelled to pass for loopback or for a listed origin, bodies a page sends unasked) go through a
real gateway; the guard's evasions go through the one walk and scan every door uses
(`inspect_body`, the doors themselves are enumerated in test_guard_reads_everything.py). What
the guard cannot find by design (split across messages, encoded) is SECURITY 85 and 100's,
and not asserted here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.balancing.health import TargetHealth
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.guard.request_scan import inspect_body
from llmgw_desktop.engine.response_cache.partition import (
    Partition,
    Shape,
    keyed_headers,
    partition_of,
)
from llmgw_desktop.engine.response_cache.semantic import semantic_partition
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.engine.guard.secrets import ANTHROPIC_KEY, GITHUB_TOKEN, GOOGLE_API_KEY, OPENAI_KEY
from tests.gateways import gateway_starter
from tests.mcp_wire import mcp_session
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
)
from tests.security.test_door_matrix import _all_doors_on, every_knock
from tests.transports.acp.test_acp_agent_remote import Editor, _turn

FAKE_AGENT = Path(__file__).resolve().parents[1] / "fakes" / "fake_acp_agent.py"
LISTED = "http://localhost:5173"
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
# Spellings of a listed origin a page cannot have but a lax comparison would take, and
# loopback names a page on this machine can be served from (a trailing dot, a v4-mapped v6).
UPGRADE_ORIGINS = (
    "HTTP://LOCALHOST:5173",
    "http://localhost:5173/",
    "http://localhost:5173.evil.example",
    "http://localhost.:5173",
    "http://[::ffff:127.0.0.1]:5173",
    "",
    "null",
)
# Origins dressed as loopback: each is a foreign site (or an opaque frame).
FOREIGN_ORIGINS = (
    "null",
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example",
    "http://127.0.0.1@evil.example",
    "HTTP://EVIL.EXAMPLE",
    "file://",
    "",
)


async def _agent_gateway(launch: Launch, **more: Any) -> GatewayRuntime:
    agent = {"command": sys.executable, "args": [str(FAKE_AGENT), "answer"]}
    return await launch({"providers.acp": {"opencode-acp": agent}, **more})


async def test_no_spelling_of_a_listed_origin_opens_the_acp_socket_but_its_own(
    launch: Launch,
) -> None:
    gateway = await _agent_gateway(launch, **{"http.allowed_origins": [LISTED]})
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    async with aiohttp.ClientSession() as http:
        for origin in UPGRADE_ORIGINS:
            async with http.get(url, headers={**UPGRADE, "Origin": origin}) as refused:
                assert refused.status == 403, (origin, refused.status)
                body = await refused.json()
            assert body["error"]["code"] == "origin_not_allowed", (origin, body)
        # The listed origin, exactly as a browser sends it, is let in.
        async with http.ws_connect(url, headers={"Origin": LISTED}) as socket:
            assert not socket.closed
    rows = await gateway.engine.recorder.recent(limit=10)
    assert [r for r in rows if r["provider"] == "opencode-acp"] == []


async def test_origins_dressed_as_loopback_are_foreign_at_every_json_door(
    launch: Launch,
) -> None:
    gateway = await launch({})
    url = f"{gateway.base_url}/v1/chat/completions"
    body = json.dumps({"model": "nowhere", "messages": [{"role": "user", "content": "hi"}]})
    json_type = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for origin in FOREIGN_ORIGINS:
            async with http.post(url, data=body, headers={**json_type, "Origin": origin}) as got:
                answer = await got.json()
            assert got.status == 403, (origin, got.status, answer)
            assert answer["error"]["code"] == "origin_not_allowed", (origin, answer)
        # A loopback page's CORS-simple bodies (no preflight) are refused whatever they claim.
        for media in (
            "text/plain",
            "text/plain; application/json",
            "application/x-www-form-urlencoded",
        ):
            headers = {"Content-Type": media, "Origin": "http://localhost:8081"}
            async with http.post(url, data=body, headers=headers) as got:
                answer = await got.json()
            assert got.status == 415, (media, answer)
        # A CORS-simple body without an Origin is no program's either: refused all the same.
        async with http.post(url, data=body, headers={"Content-Type": "text/plain"}) as got:
            assert got.status == 415
        # The legitimate path: a local program, JSON, no Origin, passes the edge (the model is
        # unknown, so the gateway's own answer says so, not the edge's).
        async with http.post(url, data=body, headers=json_type) as got:
            answer = await got.json()
        assert got.status not in (403, 415), answer


def _found(body: Any) -> list[str]:
    found = inspect_body(body, personal=False, max_chars=10**7, budget_s=10)
    assert found.complete
    return [finding.kind for finding in found.findings]


def _said(content: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


def _called(arguments: str) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return {"model": "m", "messages": [{"role": "assistant", "tool_calls": [call]}]}


HALF = GITHUB_TOKEN[:8]
REST = GITHUB_TOKEN[8:]
# How a token is carried past a guard that reads values alone, or strings as a whole.
EVASIONS: dict[str, Any] = {
    "json-in-json-arguments": _called(json.dumps({"x": json.dumps({"token": GITHUB_TOKEN})})),
    "a-key-inside-arguments": _called(json.dumps({GITHUB_TOKEN: True})),
    "word-joiner-in-a-schema-key": {
        "model": "m",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"properties": {f"{HALF}\u2060{REST}": {"type": "string"}}},
                },
            }
        ],
    },
    "zero-width-joiner": _said(f"{HALF}\u200d{REST}"),
    "bidi-isolates": _said(f"{HALF}\u2066\u2069{REST}"),
    "tag-characters": _said(f"{HALF}\U000e0041{REST}"),
    "data-url-then-text": _said(f"data:image/png;base64,iVBORw0KGgo=\n{GITHUB_TOKEN}"),
    "data-url-header-cased": _said(f"data:image/png;BASE64,QUFB\n{GITHUB_TOKEN}"),
    "data-url-urlsafe-tail": _said(f"data:image/png;base64,QUFB{GITHUB_TOKEN}"),
    "long-base64-run": _said("QUFB" * 400 + "/" + OPENAI_KEY),
    "long-run-anthropic": _said("QUFB" * 400 + "/" + ANTHROPIC_KEY),
    "long-run-google": _said("QUFB" * 400 + "/" + GOOGLE_API_KEY),
    "anthropic-tool-use-input-key": {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {OPENAI_KEY: 1}}],
            }
        ],
    },
    "gemini-function-response-nested-key": {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "f", "response": {"a": {GITHUB_TOKEN: 1}}}}
                ],
            }
        ],
    },
    # Under a key the walk takes for the wire's own (`data`), in a place no dialect puts one.
    "under-a-dialect-field-name": _said([{"type": "text", "text": "x", "data": GITHUB_TOKEN}]),
}


@pytest.mark.parametrize("body", list(EVASIONS.values()), ids=list(EVASIONS))
def test_the_guard_finds_a_token_however_a_request_carries_it(body: Any) -> None:
    assert _found(body), json.dumps(body)[:200]


def test_a_real_image_and_plain_code_are_sent_unflagged() -> None:
    image = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ" * 40
    assert _found(_said([{"type": "image_url", "image_url": {"url": image}}])) == []
    assert _found(_said("def add(a, b):\n    return a + b\n")) == []
    assert _found(_called(json.dumps({"path": "src/main.py", "line": 3}))) == []


TWIN = Path(__file__).resolve().parents[1] / "fakes" / "mcp_twin.py"
PINS_TOKEN = "redteam-operator-token-0123456789abcdef"


async def _offered(session: Any) -> list[Any]:
    return [t for t in (await session.list_tools()).tools if t.name.startswith("weather__")]


async def test_a_tool_listed_twice_is_never_served_in_its_unapproved_twin(
    loaded: LoadedSettings,
) -> None:
    """The server lists `lookup` twice after approval: a rewritten twin (a hidden instruction,
    a new parameter, read-only annotation) before the approved one. Neither twin's
    description may reach a caller unapproved, nor the rewritten one decide the call."""
    server = {"command": sys.executable, "args": [str(TWIN)], "remote": "all"}
    async with gateway_starter(loaded) as start:
        gateway = await start({"mcp.servers": {"weather": server}, "http.auth_token": PINS_TOKEN})
        key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="reader"))
        reader = {"Authorization": f"Bearer {key.secret}"}
        servers = gateway.engine.upstream_mcp
        async with mcp_session(gateway.mcp_url, headers=reader) as session:
            # The legitimate path: the approved tool is served and answers.
            assert {t.name for t in await _offered(session)} == {"weather__lookup", "weather__turn"}
            answered = await session.call_tool("weather__lookup", {"city": "Oslo"})
            assert not answered.is_error
            assert not (await session.call_tool("weather__turn", {})).is_error
            async with asyncio.timeout(30):
                while not servers.tool_reviews("weather"):
                    if len(await _offered(session)) > 2:
                        break  # both twins served: the assertions below say so
                    await asyncio.sleep(0.1)
            offered = await _offered(session)
            said = json.dumps([t.model_dump(mode="json") for t in offered])
            assert "IMPORTANT" not in said, said
            assert [t.name for t in offered].count("weather__lookup") <= 1, said
            called = await session.call_tool("weather__lookup", {"city": "Oslo"})
            assert called.is_error and "upstream_tool_withheld" in json.dumps(
                called.model_dump(mode="json")
            )
        (review,) = servers.tool_reviews("weather")
        assert (review.tool, review.state) == ("lookup", "changed")


async def test_a_key_given_a_caller_name_goes_under_it_at_the_mcp_door_too(
    loaded: LoadedSettings,
) -> None:
    """SECURITY 99: a key the operator named `codex` goes under that name whatever its client
    says; at the chat doors and, here, over MCP (its lane is what agent budgets count)."""
    server = {"command": sys.executable, "args": [str(TWIN)], "remote": "all"}
    async with gateway_starter(loaded) as start:
        gateway = await start({"mcp.servers": {"weather": server}, "http.auth_token": PINS_TOKEN})
        scope = KeyScope.of(caller="codex")
        named = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci", scope=scope))
        plain = await gateway.engine.keys.create(OPERATOR, KeySpec(name="plain"))
        for secret in (named.secret, plain.secret):
            headers = {"Authorization": f"Bearer {secret}", "X-Caller": "someone-else"}
            async with mcp_session(gateway.mcp_url, headers=headers) as session:
                assert not (await session.call_tool("weather__lookup", {"city": "Oslo"})).is_error
        rows = await gateway.engine.recorder.recent(limit=10)
        lanes = {(r["owner_principal"], r["caller"]) for r in rows}
        assert ("key:ci", "codex") in lanes, lanes
        # A key with no name given keeps its client's claim as its lane's name.
        assert ("key:plain", "someone-else") in lanes, lanes


def _partition(principal: str, headers: dict[str, str], *, shared: bool = True) -> bytes:
    caller = CallerInfo(principal=principal, caller="codex")
    shape = Shape("openai/gpt-4o", "openai-chat", "/v1/chat/completions", headers=headers)
    return partition_of(caller, shape, shared=shared).digest


def test_headers_that_shape_an_answer_split_the_shared_cache_and_telemetry_does_not() -> None:
    """The narrowest key plants an answer shaped by a header another key does not send: each
    spelling of a header that reaches the upstream is its own partition, under `cache.shared`
    too; the SDKs' telemetry (never sent on with a cached request) is not."""
    plain = _partition("key:b", {})
    for shaped in (
        {"X-Shape": "evil"},
        {"x-shape": ""},  # present but empty still reaches the upstream
        {"anthropic-beta": "prompt-caching-2024-07-31"},
        {"OpenAI-Beta": "assistants=v2"},
        {"X-Caller": "codex"},
    ):
        assert _partition("key:a", shaped) != plain, shaped
    # Header names are one whatever their case, and a list's order says nothing.
    assert _partition("key:a", {"X-Shape": "a, b"}) == _partition("key:b", {"x-shape": "b,a"})
    telemetry = {"X-Stainless-Lang": "js", "User-Agent": "OpenAI/JS 4.0"}
    assert keyed_headers(telemetry) == {}
    assert _partition("key:a", telemetry) == plain
    # Not shared: each principal is its own, whatever it sends.
    assert _partition("key:a", {}, shared=False) != _partition("key:b", {}, shared=False)


def test_the_semantic_index_is_split_by_everything_but_the_conversation() -> None:
    base = _partition("key:a", {})
    asked = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    same = semantic_partition(Partition(base), asked)
    for changed in ({"tools": [{"type": "function"}]}, {"temperature": 1}, {"n": 2}):
        assert semantic_partition(Partition(base), {**asked, **changed}) != same, changed
    other_words = {**asked, "messages": [{"role": "user", "content": "hello"}]}
    assert semantic_partition(Partition(base), other_words) == same  # compared by meaning


def _failed(health: TargetHealth, who: str, body: str) -> bool | None:
    return health.failed(
        "500", who, body, 0.0, backoff=Backoff(5.0, 60.0), threshold=3, retry_after_s=None
    )


def test_one_keys_failures_cool_it_for_everyone_only_once_another_caller_fails_too() -> None:
    """The rule's chosen limit (SECURITY 106): the shared circuit counts failures once two
    principals (or the local user) have failed with no answer between. One key's failures alone
    never move anyone else; with another caller's one genuine failure beside them they do,
    since "down for two callers: first, second, first" looks the same from here and must cool.
    A second caller's failure is not the attacker's to make: a healthy target answers it, and
    any answer clears the count."""
    health = TargetHealth()
    # The attacker's key alone: however many bodies fail, only its own lane rests (False).
    assert True not in [_failed(health, "key:mallory", f"poison {n}") for n in range(6)]
    assert health.shared.opened is False
    # Any answer between clears the witnesses, so an answered caller is never counted against.
    health.answered("key:alice")
    assert True not in [_failed(health, "key:mallory", f"again {n}") for n in range(2)]
    # Another key's genuine failure now (the documented limit): the target cools for everyone.
    assert _failed(health, "key:alice", "alice's question") is True


def test_a_provider_down_for_three_callers_cools_for_everyone() -> None:
    health = TargetHealth()
    assert _failed(health, "key:alice", "one") is None
    assert _failed(health, "key:bob", "two") is None
    assert _failed(health, "key:carol", "three") is True


async def test_a_tool_added_under_a_lookalike_name_waits_for_approval(
    loaded: LoadedSettings,
) -> None:
    """After approval the server adds the rewritten `lookup` under names a person reads as it
    (Cyrillic letters; a zero-width space at its end): each is new, withheld, and the approved
    `lookup` is still served as it was."""
    server = {"command": sys.executable, "args": [str(TWIN), "lookalike"], "remote": "all"}
    async with gateway_starter(loaded) as start:
        gateway = await start({"mcp.servers": {"weather": server}, "http.auth_token": PINS_TOKEN})
        key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="reader"))
        reader = {"Authorization": f"Bearer {key.secret}"}
        servers = gateway.engine.upstream_mcp
        async with mcp_session(gateway.mcp_url, headers=reader) as session:
            assert not (await session.call_tool("weather__turn", {})).is_error
            async with asyncio.timeout(30):
                while len(servers.tool_reviews("weather")) < 2:
                    if len(await _offered(session)) > 2:
                        break
                    await asyncio.sleep(0.1)
            offered = await _offered(session)
            said = json.dumps([t.model_dump(mode="json") for t in offered])
            assert {t.name for t in offered} == {"weather__lookup", "weather__turn"}, said
            assert "IMPORTANT" not in said
            for name in ("weather__l\u043e\u043ekup", "weather__lookup\u200b"):
                refused = await session.call_tool(name, {"city": "Oslo"})
                assert refused.is_error, name
            answered = await session.call_tool("weather__lookup", {"city": "Oslo"})
            assert not answered.is_error
        assert {r.state for r in servers.tool_reviews("weather")} == {"new"}


async def test_no_door_but_the_acp_socket_upgrades_for_a_loopback_page(launch: Launch) -> None:
    """A page asks every GET door of the registry to become a WebSocket (MCP's event stream,
    the model lists, the streams): only `/acp` is one, and it refuses the page."""
    gateway = await launch(_all_doors_on())
    page = {**UPGRADE, "Origin": "http://localhost:8081"}
    async with aiohttp.ClientSession() as http:
        for door, method, path in every_knock(gateway):
            if method != "GET":
                continue
            async with http.get(gateway.base_url + path, headers=page) as got:
                assert got.status != 101, (door, path)
                if door.upgrade:
                    assert got.status == 403, (door, path, got.status)


async def test_a_key_given_a_caller_name_goes_under_it_on_the_acp_socket(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    """The same over `/acp`: the editor's `X-Caller` and `clientInfo` name its lane only for a
    key the operator gave no name."""
    workspace = tmp_path / "shared"
    workspace.mkdir()
    agent = {"command": sys.executable, "args": [str(FAKE_AGENT), "answer"]}
    async with gateway_starter(loaded) as start:
        gateway = await start(
            {
                "providers.acp": {"opencode-acp": agent},
                "workspaces.registry": {"shared": str(workspace)},
                "http.auth_token": PINS_TOKEN,
                "providers.retry_attempts": 1,
            }
        )
        scope = KeyScope.of(caller="codex")
        named = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci", scope=scope))
        plain = await gateway.engine.keys.create(OPERATOR, KeySpec(name="plain"))
        url = f"{gateway.base_url}/acp?agent=opencode-acp"
        async with aiohttp.ClientSession() as http:
            for secret in (named.secret, plain.secret):
                headers = {"Authorization": f"Bearer {secret}", "X-Caller": "someone-else"}
                async with http.ws_connect(url, headers=headers) as socket:
                    answered = await _turn(Editor(socket), workspace)
                assert answered["result"]["stopReason"] == "end_turn", answered
        rows = await gateway.engine.recorder.recent(limit=10)
    lanes = {(r["owner_principal"], r["caller"]) for r in rows if r["provider"] == "opencode-acp"}
    assert lanes == {("key:ci", "codex"), ("key:plain", "zed")}, lanes
