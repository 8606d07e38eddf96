"""A headless or team gateway tells which provider is failing (issue 38, item 5).

Eight real chat calls through the official OpenAI client, each answered 500 by the scripted
upstream on loopback. Before, the window turned red naming OpenAI while `/health` and
`GET /v1/providers` said `available: true` and nothing more. Now all three read the engine's one
decision (`engine.providers.health`): `/health` (public) says which providers fail, by state and
id only; `/v1/providers` (behind the bearer token here) gives the whole record the window shows:
state, failures in a row, last error, error rate, the reason line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from llmgw_desktop.engine.providers.health import VENDOR_CALLS_SOURCE
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.attention import provider_verdicts
from llmgw_desktop.ui.pages.provider_rows import load_provider_rows
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
FAILURES = 8


async def _get(gateway: GatewayRuntime, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + path, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


async def _fail_openai_calls(gateway: GatewayRuntime, upstream: ScriptedUpstream) -> None:
    """`FAILURES` chat calls through the official OpenAI client, each answered 500."""
    upstream.script(*[Reply.error(500, "the upstream broke")] * FAILURES * 3)
    client = openai_client(gateway, TOKEN)
    for _ in range(FAILURES):
        with pytest.raises(openai.APIStatusError):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )


async def test_failing_upstream_calls_show_on_health_and_providers_as_in_the_window(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    await _fail_openai_calls(gateway, upstream)

    # The window: the header names OpenAI, the Providers page says "Failing".
    engine = gateway.engine
    [named] = [v for v in provider_verdicts(engine) if v.failing]
    assert (named.provider, named.name) == ("openai", "OpenAI")
    [row] = [
        r for r in await load_provider_rows(engine, {}, versions=False) if r.key == "api:openai"
    ]
    assert row.status == "Failing"

    # /health, public: which provider fails, and nothing more.
    status, health = await _get(gateway, "/health")
    assert status == 200
    assert health["providers"] == {
        "state": "failing",
        "failing": ["openai"],
        "degraded": [],
        "resting": [],  # its host answers: a connection is made, the answers fail
        "loggedOut": [],
        "vendorUnavailable": [],
        "settled": True,
    }
    assert health["status"] == "ok"  # the gateway itself is fine: every gateway shares upstreams
    assert "upstream_500" not in str(health) and "broke" not in str(health)

    # /v1/providers: its authentication first, then the whole record.
    status, _ = await _get(gateway, "/v1/providers")
    assert status == 401
    status, listing = await _get(gateway, "/v1/providers", TOKEN)
    assert status == 200
    [openai_entry] = [p for p in listing["providers"] if p["id"] == "openai"]
    assert openai_entry["available"] is True  # set up and switched on: calls still go there
    health_record = openai_entry["health"]
    assert health_record["state"] == "failing"
    assert health_record["consecutiveFailures"] == FAILURES
    assert health_record["lastError"]["code"] == "upstream_500"
    assert health_record["errorRate"] == 1.0
    assert health_record["calls"] == health_record["errors"] == FAILURES
    assert health_record["reason"] == row.reason == named.why  # the window's own words
    assert f"{FAILURES} calls failed in a row" in health_record["reason"]
    [anthropic] = [p for p in listing["providers"] if p["id"] == "anthropic"]
    assert anthropic["health"]["state"] == "unknown"  # never called: nothing to say


async def test_a_refused_key_is_not_available_where_its_models_are_held_back(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """`/v1/providers` said `available: true` for a provider whose key its vendor refused,
    while `/v1/models` held its models back and the window said nothing answers there. Now it
    agrees with both: not available, held back (set up and on), and why; the Providers page
    still reads the refusal, not "No API key"."""
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    upstream.script(Reply.error(401, "invalid x-api-key"))
    with pytest.raises(openai.AuthenticationError):
        await openai_client(gateway, TOKEN).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    _, listing = await _get(gateway, "/v1/providers", TOKEN)
    [entry] = [p for p in listing["providers"] if p["id"] == "openai"]
    assert (entry["available"], entry.get("heldBack")) == (False, True), entry
    assert "answered 401" in entry["reason"], entry
    _, models = await _get(gateway, "/v1/models", TOKEN)
    assert not [m for m in models["data"] if m.get("owned_by") == "openai"]
    [anthropic] = [p for p in listing["providers"] if p["id"] == "anthropic"]
    assert anthropic["available"] is True and "heldBack" not in anthropic
    [row] = [
        r
        for r in await load_provider_rows(gateway.engine, {}, versions=False)
        if r.key == "api:openai"
    ]
    assert row.status != "No API key" and row.attention, row


async def test_an_agent_pointed_at_a_failing_vendor_is_not_ready(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Qwen Code over ACP makes its model calls through the gateway's OpenAI provider. With
    every OpenAI call failing 500 it read Ready, green, beside OpenAI's red (a helper's review
    under Xvfb). Now its health is its vendor's while it has none of its own: failing in the
    window, on `/health` and on `/v1/providers`, saying whose calls fail. The stand-in `qwen`
    on PATH is never started: a pointed agent's health is read, not asked."""
    folder = tmp_path / "qwen-bin"
    folder.mkdir()
    stand_in = folder / "qwen"
    stand_in.write_text("#!/bin/sh\nexit 1\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    engine = gateway.engine
    await engine.providers.read_due_lists()  # the watch's look: Qwen Code is pointed
    assert engine.providers.health("qwen").state != "failing"  # nothing failed yet

    await _fail_openai_calls(gateway, upstream)

    qwen = engine.providers.health("qwen")
    assert (qwen.state, qwen.source) == ("failing", VENDOR_CALLS_SOURCE), qwen
    assert qwen.reason.startswith(
        "its model calls go through the gateway's OpenAI provider, which is failing: "
        f"{FAILURES} calls failed in a row"
    ), qwen.reason
    [row] = [r for r in await load_provider_rows(engine, {}, versions=False) if r.key == "cli:qwen"]
    assert row.status == "Failing" and row.reason == qwen.reason, row
    _, health = await _get(gateway, "/health")
    assert health["providers"]["failing"] == ["openai", "qwen"], health
    _, listing = await _get(gateway, "/v1/providers", TOKEN)
    [entry] = [p for p in listing["providers"] if p["id"] == "qwen-cli"]
    assert entry["health"]["state"] == "failing", entry
    # Its own calls are not counted: none were made.
    assert entry["health"]["calls"] == 0, entry


@pytest.mark.parametrize(("status", "failing"), [(404, False), (422, False), (522, True)])
async def test_an_upstreams_refusal_of_the_request_itself_says_nothing_of_the_provider(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, status: int, failing: bool
) -> None:
    """A mistyped model's 404 (or a field the upstream does not take) is the request's fault:
    three of them made OpenAI read "failing" on every page while it answered every other call
    (person pass, 2026-11-29). A 522, no route could help either, is the provider's. The
    official client, as it comes; the rows read back at a restart say the same
    (`tests/engine/recorder/test_rows.py`)."""
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    upstream.script(*[Reply.error(status, "no such model: gpt-4o-mni")] * 9)
    client = openai_client(gateway, TOKEN).with_options(max_retries=0)
    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
    health = gateway.engine.provider_health.of("openai")
    assert (health.state == "failing") is failing, health
    _status, public = await _get(gateway, "/health")
    assert ("openai" in public["providers"]["failing"]) is failing, public
