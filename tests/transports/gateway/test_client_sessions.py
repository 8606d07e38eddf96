"""The session a coding tool names with every request (Claude Code's `X-Claude-Code-Session-Id`,
Codex's `session-id`) is recorded, and the flight recorder, the Agents page's lanes, the cost
breakdown and `/metrics` group requests, tokens and cost by it. An id that is no id (markup, a
line, too long) is not kept; another principal naming the same id has a session of its own.
(The real Claude Code's: tests/clients/test_claude_code.py.)"""

from __future__ import annotations

import aiohttp

from llmgw_desktop.engine.api import LOCAL_CALLER, KeySpec, RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import HI, claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

SESSION = "4b8c06cf-26d8-49dd-a5b2-1a179457a418"
CODEX_SESSION = "01a218eb-d21c-7e82-8347-e4af76131a6e"
TOKEN = "gateway-operator-token-0123456789-abcdef"


async def test_claude_codes_and_codexs_sessions_are_recorded_and_grouped(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"metrics.enabled": True})
    claude = claude_client(
        gateway, headers={"X-Claude-Code-Session-Id": SESSION, "User-Agent": "claude-cli/2.1.197"}
    )
    for _ in range(2):
        await claude.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=HI)
    codex = openai_client(
        gateway, headers={"session-id": CODEX_SESSION, "User-Agent": "codex_exec/0.169.0"}
    )
    await codex.responses.create(model="gpt-4o", input="hi")
    await claude_client(gateway).messages.create(
        model="claude-sonnet-4-6", max_tokens=20, messages=HI
    )

    rows = await gateway.engine.recorder.recent(limit=10)
    assert sorted(r["client_session"] or "-" for r in rows) == [
        "-",
        CODEX_SESSION,
        SESSION,
        SESSION,
    ]
    query = gateway.engine.recorder_query
    page = await query.page(RecorderFilters(client_session=SESSION))
    assert len(page.rows) == 2
    lanes = await query.lanes(3600)
    by_agent = {agent.caller: agent.sessions for agent in lanes.agents}
    (claude_session,) = by_agent["claude-code"]
    assert claude_session.session == SESSION and claude_session.figures.requests == 2
    assert claude_session.figures.output_tokens > 0
    assert [s.session for s in by_agent["codex"]] == [CODEX_SESSION]
    spend = await query.costs("session", 3600)
    assert {g.name: g.requests for g in spend.groups} == {SESSION: 2, CODEX_SESSION: 1, "": 1}

    metrics = await _metrics(gateway)
    labels = f'agent="claude-code",principal="local",process="main",session="{SESSION}"'
    assert f'llmgw_session_requests_total{{{labels},state="completed"}} 2.0' in metrics
    assert f'session="{CODEX_SESSION}"' in metrics
    output = f'principal="local",process="main",session="{SESSION}",type="output"'
    assert f"llmgw_session_tokens_total{{{output}}}" in metrics


async def test_an_id_that_is_no_id_is_not_kept(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    for hostile in ("<script>", "a b", "x" * 200):
        client = claude_client(gateway, headers={"X-Claude-Code-Session-Id": hostile})
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=HI)
    rows = await gateway.engine.recorder.recent(limit=5)
    assert [r["client_session"] for r in rows] == [None, None, None]


async def test_a_key_holder_naming_the_operators_session_has_its_own(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"http.auth_token": TOKEN, "metrics.enabled": True})
    made = await gateway.engine.keys.create(LOCAL_CALLER, KeySpec(name="intruder"))
    for key in (TOKEN, made.secret):
        client = claude_client(gateway, key, headers={"X-Claude-Code-Session-Id": SESSION})
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=HI)
    lanes = await gateway.engine.recorder_query.lanes(3600)
    owners = {agent.principal: [s.session for s in agent.sessions] for agent in lanes.agents}
    assert owners == {"gateway-bearer": [SESSION], "key:intruder": [SESSION]}
    metrics = await _metrics(gateway, TOKEN)
    assert metrics.count(f'session="{SESSION}",state="completed"') == 2


async def _metrics(gateway: GatewayRuntime, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + "/metrics", headers=headers) as answer,
    ):
        assert answer.status == 200
        return await answer.text()
