"""An owner's share of an origin's connections: beyond it, its requests wait for its own."""

from __future__ import annotations

import asyncio

import pytest

from llmgw_desktop.engine.gateway.http_client.http1 import ConnectError, Http1Client, ShareTimeout
from tests.engine.gateway.test_http1_pool import (  # noqa: F401
    WAIT_S,
    CountingServer,
    server,
    started,
)
from tests.ports import free_port

CAP = 4
SHARE = 2


def shared(connect_timeout_s: float = WAIT_S, share: int = SHARE) -> Http1Client:
    return Http1Client(
        connect_timeout_s=connect_timeout_s, max_connections_per_host=CAP, share_per_host=share
    )


async def fetch_as(client: Http1Client, url: str, owner: str) -> bytes:
    response = await client.request("GET", url, headers={}, head_timeout_s=WAIT_S, owner=owner)
    try:
        return await response.read(timeout_s=WAIT_S)
    finally:
        response.release()


def held(client: Http1Client) -> dict[str, int]:
    return {owner: n for pool in client._pools.values() for owner, n in pool.held.items()}


async def test_an_owner_past_its_share_waits_while_another_is_served(
    server: CountingServer,  # noqa: F811
) -> None:
    client = shared()
    server.hold.clear()  # requests arrive, answers wait
    mallory = [asyncio.create_task(fetch_as(client, server.url, "mallory")) for _ in range(3)]
    await server.wait_until(lambda: server.requests == SHARE)
    alice = asyncio.create_task(fetch_as(client, server.url, "alice"))
    # Alice's request reaches the server although mallory's third is still waiting.
    await server.wait_until(lambda: server.requests == SHARE + 1)
    assert held(client) == {"mallory": SHARE, "alice": 1}  # the third waits in its own line
    server.hold.set()
    async with asyncio.timeout(WAIT_S):
        answers = await asyncio.gather(*mallory, alice)
    assert answers == [b"firstlast"] * 4
    assert server.requests == 4
    assert held(client) == {}
    await client.close()


async def test_an_owner_whose_share_stays_busy_gets_share_timeout(
    server: CountingServer,  # noqa: F811
) -> None:
    client = shared(connect_timeout_s=0.3, share=1)
    server.finish.clear()
    first = await client.request("GET", server.url, headers={}, owner="mallory")
    with pytest.raises(ShareTimeout, match="mallory already holds its share"):
        await client.request("GET", server.url, headers={}, owner="mallory")
    # Another owner, and a request with none, still get connections.
    other = await client.request("GET", server.url, headers={}, owner="alice")
    anyone = await client.request("GET", server.url, headers={})
    assert held(client) == {"mallory": 1, "alice": 1}
    for response in (first, other, anyone):
        response.release()
    assert held(client) == {}
    await client.close()


async def test_a_waiter_that_leaves_passes_its_place_on(
    server: CountingServer,  # noqa: F811
) -> None:
    client = shared(share=1)
    server.finish.clear()
    first = await started(client, server.url)  # no owner: not counted
    holding = await client.request(
        "GET", server.url, headers={}, head_timeout_s=WAIT_S, owner="mallory"
    )
    leaving = asyncio.create_task(fetch_as(client, server.url, "mallory"))
    staying = asyncio.create_task(fetch_as(client, server.url, "mallory"))
    await asyncio.sleep(0)  # one step each, which ends in mallory's line (no time passes)
    assert len(client._pools[next(iter(client._pools))].share_waiters["mallory"]) == 2
    leaving.cancel()
    server.finish.set()
    holding.release()  # cut before its end: its place goes to the waiter still there
    async with asyncio.timeout(WAIT_S):
        assert await staying == b"firstlast"
    assert leaving.cancelled()
    first.release()
    assert held(client) == {}
    await client.close()


async def test_a_failed_request_gives_its_place_back() -> None:
    client = shared(share=1)
    url = f"http://127.0.0.1:{free_port()}/"  # nobody listens
    for _ in range(2):
        with pytest.raises(ConnectError):
            await client.request("GET", url, headers={}, owner="mallory")
    assert held(client) == {}
    await client.close()
