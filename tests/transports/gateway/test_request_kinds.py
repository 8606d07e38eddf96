"""The recorder tells each kind of call apart (chat, embedding, completion) by the route it
came through: the desk's filter shows one kind, and its counts say how many of each."""

from __future__ import annotations

from llmgw_desktop.engine.api import RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.completions.test_fim import providers
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows


async def test_the_filter_and_the_counts_show_each_kind(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(providers(upstream))
    client = openai_client(gateway)
    await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    await client.embeddings.create(model="text-embedding-3-small", input="c")
    await client.completions.create(model="codestral-latest", prompt="x", suffix="y")
    await _rows(gateway, 4)
    query = gateway.engine.recorder_query
    pages = {
        kind: await query.page(RecorderFilters(kind=kind))
        for kind in ("chat", "embedding", "completion", "no-such-kind")
    }
    assert {kind: len(page.rows) for kind, page in pages.items()} == {
        "chat": 1,
        "embedding": 2,
        "completion": 1,
        "no-such-kind": 0,
    }
    assert await query.kind_counts(3600) == {"chat": 1, "embedding": 2, "completion": 1}
