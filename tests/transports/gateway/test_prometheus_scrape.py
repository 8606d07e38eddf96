"""A real Prometheus server scrapes `/metrics` of a gateway that served official-SDK traffic.

The openai and anthropic SDKs talk to the gateway, which routes to the scripted upstream on
loopback; Prometheus (Debian's package) scrapes the gateway every second with the scrape
token, and its HTTP API must show what was sent: requests, errors and refusals per model and
agent, tokens as the recorder counted them, a streamed answer's time to first token.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import OPENAI_OUTPUT_TOKENS, Reply, ScriptedUpstream
from tests.prometheus_server import prometheus_server
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

GATEWAY_TOKEN = "gateway-operator-token-0123456789-abcdef"
SCRAPE_TOKEN = "scrape-only-token-0123456789-abcdefghij"


async def locked(
    start_gateway: GatewayFactory, overrides: Mapping[str, Any] | None = None
) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway(
        {
            "http.auth_token": GATEWAY_TOKEN,
            "metrics.scrape_token": SCRAPE_TOKEN,
            "http.rate_limit_per_minute": 0,
            **(overrides or {}),
        },
    )
    return runtime


async def get(gateway: GatewayRuntime, path: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + path, headers=headers) as answer,
    ):
        return answer.status, await answer.text()


async def test_prometheus_counts_what_the_sdks_sent(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    gateway = await locked(start_gateway)
    chat = openai_client(gateway, GATEWAY_TOKEN, headers={"X-Caller": "agent-a"})
    messages = claude_client(gateway, GATEWAY_TOKEN, headers={"X-Caller": "agent-b"})
    for _ in range(3):
        await chat.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    upstream.script(Reply.error(400, "the upstream refuses this request"))
    with pytest.raises(openai.BadRequestError):
        await chat.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.NotFoundError):
        await chat.chat.completions.create(
            model="no-such-model-anywhere", messages=[{"role": "user", "content": "hi"}]
        )
    await messages.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    async with messages.messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        await stream.get_final_message()

    rows = await gateway.engine.recorder.recent(limit=50)
    assert len(rows) == 7

    def row_sum(field: str, caller: str) -> float:
        return float(sum(r[field] or 0 for r in rows if r["caller"] == caller))

    target = gateway.base_url.removeprefix("http://")
    async with prometheus_server(tmp_path / "prometheus", target, bearer=SCRAPE_TOKEN) as prom:
        await prom.until("sum(llmgw_requests_total)", 7)
        (health,) = await prom.target_health()
        assert health["health"] == "up", health

        by = 'sum(llmgw_requests_total{{model="{}",agent="{}"{}}})'
        assert await prom.value(by.format("gpt-4o", "agent-a", "")) == 4
        assert await prom.value(by.format("gpt-4o", "agent-a", ',state="completed"')) == 3
        assert await prom.value(by.format("gpt-4o", "agent-a", ',state="failed"')) == 1
        assert await prom.value(by.format("claude-sonnet-4-6", "agent-b", "")) == 2
        (error,) = await prom.query('llmgw_request_errors_total{agent="agent-a"}')
        assert error["value"][1] == "1"
        assert error["metric"]["code"].startswith("upstream_"), error
        assert error["metric"]["dialect"] == "openai-chat"
        (refusal,) = await prom.query("llmgw_request_refusals_total")
        assert refusal["metric"]["agent"] == "agent-a"
        assert refusal["metric"]["model"] == "no-such-model-anywhere"
        assert refusal["value"][1] == "1"

        tokens = 'sum(llmgw_tokens_total{{agent="{}",type="{}"}})'
        assert await prom.value(tokens.format("agent-a", "output")) == 3 * OPENAI_OUTPUT_TOKENS
        for caller in ("agent-a", "agent-b"):
            for kind in ("input", "output", "cache_read", "cache_write"):
                expected = row_sum(f"{kind}_tokens", caller)
                seen = await prom.value(tokens.format(caller, kind))
                # OpenAI reports no cache writes: no series rather than a zero one.
                assert (seen or 0.0) == expected, (caller, kind, seen, expected)
        assert row_sum("cache_write_tokens", "agent-b") > 0
        cost = await prom.value('sum(llmgw_cost_usd_total{agent="agent-b"})')
        assert cost == pytest.approx(row_sum("cost_usd", "agent-b"))

        # Only the streamed answer had a first token; every finished request a duration.
        ttft = 'sum(llmgw_time_to_first_token_seconds_count{agent="agent-b"})'
        assert await prom.value(ttft) == 1
        assert await prom.value("sum(llmgw_request_duration_seconds_count)") == 7
        assert await prom.value('llmgw_store_healthy{process="main"}') == 1
        assert await prom.value("llmgw_recorder_spilled_rows") == 0
        assert await prom.value("llmgw_active_jobs") == 0


async def test_metrics_are_the_operators_or_the_scrape_tokens_alone(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await locked(start_gateway)
    status, text = await get(gateway, "/metrics", None)
    assert status == 401, text
    status, text = await get(gateway, "/metrics", "not-the-scrape-token-0123456789-abcdefgh")
    assert status == 401, text
    # The operator's bearer token, and the scrape token: both read the figures.
    for token in (GATEWAY_TOKEN, SCRAPE_TOKEN):
        status, text = await get(gateway, "/metrics", token)
        assert status == 200, text
        assert "# TYPE llmgw_requests_total counter" in text
    # The scrape token opens /metrics and nothing else.
    status, text = await get(gateway, "/v1/models", SCRAPE_TOKEN)
    assert status == 401, text


async def test_metrics_switched_off_is_not_served(start_gateway: GatewayFactory) -> None:
    gateway = await locked(start_gateway, {"metrics.enabled": False})
    status, _ = await get(gateway, "/metrics", GATEWAY_TOKEN)
    assert status == 404


async def test_label_values_past_the_cap_are_counted_as_other(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await locked(start_gateway, {"metrics.max_label_values": 2})
    chat = openai_client(gateway, GATEWAY_TOKEN)
    for n in range(4):
        with pytest.raises(openai.NotFoundError):
            await chat.chat.completions.create(
                model=f"made-up-model-{n}", messages=[{"role": "user", "content": "hi"}]
            )
    status, text = await get(gateway, "/metrics", GATEWAY_TOKEN)
    assert status == 200
    assert 'model="made-up-model-0"' in text and 'model="made-up-model-1"' in text
    assert "made-up-model-2" not in text and "made-up-model-3" not in text
    assert 'model="_other"' in text
    assert "llmgw_metric_overflow_total" in text


async def test_one_key_holders_made_up_agents_leave_the_operators_agent_its_name(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    from llmgw_desktop.engine.api import KeySpec
    from llmgw_desktop.engine.auth.principals import LOCAL_CALLER

    gateway = await locked(
        start_gateway,
        {"metrics.max_label_values": 20, "metrics.max_label_values_per_principal": 5},
    )
    key = (await gateway.engine.keys.create(LOCAL_CALLER, KeySpec(name="noisy"))).secret
    hi = [{"role": "user", "content": "hi"}]
    noisy = openai_client(gateway, key)
    for n in range(30):
        await noisy.chat.completions.create(
            model="gpt-4o-mini", messages=hi, extra_headers={"X-Caller": f"made-up-{n}"}
        )
    operator = openai_client(gateway, GATEWAY_TOKEN)
    await operator.chat.completions.create(
        model="gpt-4o-mini", messages=hi, extra_headers={"X-Caller": "operators-agent"}
    )
    status, text = await get(gateway, "/metrics", GATEWAY_TOKEN)
    assert status == 200
    # The key's first five agents keep their names, the rest are `_other`; the operator's
    # agent, which came after all of them, keeps its own.
    assert 'agent="made-up-4"' in text and 'agent="made-up-5"' not in text
    assert 'agent="_other"' in text
    assert 'agent="operators-agent"' in text
