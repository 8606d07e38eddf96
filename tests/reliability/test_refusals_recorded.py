"""The gateway's own refusals are counted: none vanish, a flood stays a few rows.

A real gateway with its front door locked (a bearer token), driven over HTTP the way a
misconfigured client or an attacker would: wrong tokens, a wrong Host, a body typed
text/plain, a body that is not JSON, a remote principal over its rate limit. The store's
`refusals` table, `/health` and the dashboard's summary show the counts; the presented
credentials are nowhere in the store; the right token still gets in.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.overview import refused_text
from tests.transports.auth import conftest as auth_fixtures

TOKEN = auth_fixtures.TOKEN
USER_HEADER = auth_fixtures.USER_HEADER
bearer = auth_fixtures.bearer
send = auth_fixtures.send
start = auth_fixtures.start

FLOOD = 10_000
FLOOD_CONCURRENCY = 32
FLOOD_DEADLINE_S = 90.0


def stored_refusals(gateway: GatewayRuntime) -> list[tuple[Any, ...]]:
    """Every row of the refusals table, read from the file as another reader would."""
    path = gateway.settings.data_path / "llmgw.db"
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT minute, who, path_group, status, code, count FROM refusals"
        ).fetchall()


async def test_edge_refusals_are_counted_in_store_health_and_dashboard(
    start: auth_fixtures.Start,
) -> None:
    gateway = await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "http.rate_limit_per_minute": 1,
            "http.rate_limit_burst": 1,
        },
    )
    wrong = "wrong-token-0123456789-abcdefghijklmnop"
    # The local user (the instance token) is never rate limited: the legitimate path.
    local = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    assert (await send(gateway, "GET", "/v1/models", headers=bearer(wrong))).status == 401
    assert (await send(gateway, "GET", "/v1/models")).status == 401  # no credential at all
    host = await send(gateway, "GET", "/v1/models", headers=bearer() | {"Host": "evil.example"})
    assert host.status == 421
    plain = await send(
        gateway,
        "POST",
        "/v1/chat/completions",
        data=b'{"model": "gpt-4o"}',
        headers=bearer() | {"Content-Type": "text/plain"},
    )
    assert plain.status == 415
    broken = await send(
        gateway,
        "POST",
        "/v1/chat/completions",
        data=b"{not json",
        headers=local | {"Content-Type": "application/json"},
    )
    assert broken.status == 400
    # A remote principal (named by the trusted header) over its limit of one.
    alice = bearer(**{USER_HEADER: "alice"})
    assert (await send(gateway, "GET", "/v1/models", headers=alice)).status == 200
    limited = await send(gateway, "GET", "/v1/models", headers=alice)
    assert limited.status == 429
    # The legitimate path still works.
    assert (await send(gateway, "GET", "/v1/models", headers=local)).status == 200

    await gateway.engine.refusals.flush()
    rows = stored_refusals(gateway)
    counted = {(status, code): 0 for _, _, _, status, code, _ in rows}
    for _, _, _, status, code, n in rows:
        counted[(status, code)] += n
    assert counted[(401, "unauthorized")] == 2
    assert counted[(421, "host_not_allowed")] == 1
    assert counted[(415, "unsupported_media_type")] == 1
    assert counted[(400, "invalid_request")] == 1
    assert counted[(429, "rate_limited")] == 1
    whos = {who for _, who, _, _, _, _ in rows}
    assert "principal:user:alice" in whos or any("alice" in w for w in whos)
    assert any(w.startswith("address:127.0.0.1") for w in whos)
    groups = {group for _, _, group, _, _, _ in rows}
    assert {"models", "openai-chat"} <= groups
    # The credentials presented are never stored, in the table or anywhere in the file.
    raw = (gateway.settings.data_path / "llmgw.db").read_bytes()
    assert wrong.encode() not in raw and TOKEN.encode() not in raw

    health = (await send(gateway, "GET", "/health")).json()
    assert health["refused"]["total"] == 6
    assert health["refused"]["byCode"]["401 unauthorized"] == 2
    summary = await gateway.engine.refusals.summary()
    assert summary.total == 6
    # What the dashboard shows: the recorder page's 24-hour line and Overview's since start.
    assert summary.describe().startswith("Refused by the gateway: 6 (")
    assert "2 × no or wrong gateway key (401 unauthorized)" in summary.describe()
    assert refused_text(gateway.engine.refusals.health()).startswith("6 since start (")


async def test_a_flood_of_bad_tokens_is_a_few_rows_and_bounded_in_time(
    start: auth_fixtures.Start,
) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    url = gateway.base_url + "/v1/models"
    statuses: dict[int, int] = {}
    queue = iter(range(FLOOD))

    async def knock(session: aiohttp.ClientSession) -> None:
        for n in queue:
            headers = {"Authorization": f"Bearer flood-{n}-0123456789abcdefghij"}
            async with session.get(url, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=FLOOD_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.wait_for(
            asyncio.gather(*(knock(session) for _ in range(FLOOD_CONCURRENCY))),
            FLOOD_DEADLINE_S,
        )
    took = time.perf_counter() - began
    assert sum(statuses.values()) == FLOOD
    assert set(statuses) <= {401, 429}  # wrong, then throttled: all refused

    flushed = time.perf_counter()
    await gateway.engine.refusals.flush()
    flush_s = time.perf_counter() - flushed
    rows = stored_refusals(gateway)
    # One row per minute, address, path group, status and code: a handful, not 10,000.
    assert len(rows) <= 2 * 2 * 2, rows
    assert sum(row[-1] for row in rows) == FLOOD
    assert flush_s < 1.0
    # No recorder rows for any of them: the recorder stays for provider requests.
    assert await gateway.engine.recorder.recent(limit=10) == []
    # The right token still gets in straight after the flood.
    assert (await send(gateway, "GET", "/v1/models", headers=bearer())).status == 200
    print(f"flood of {FLOOD} bad tokens: {took:.1f} s, {len(rows)} row(s), flush {flush_s:.4f} s")


async def test_counting_costs_microseconds_a_refusal(start: auth_fixtures.Start) -> None:
    """The counter on its own (no HTTP): 10,000 refusals noted and written."""
    gateway = await start({"http.auth_token": TOKEN})
    counter = gateway.engine.refusals
    began = time.perf_counter()
    for n in range(FLOOD):
        counter.count(f"address:10.0.{n % 4}.1", "models", 401, "unauthorized")
    per_count_us = (time.perf_counter() - began) / FLOOD * 1e6
    await counter.flush()
    assert per_count_us < 50, per_count_us
    assert counter.pending == 0
    assert sum(row[-1] for row in stored_refusals(gateway)) == FLOOD
