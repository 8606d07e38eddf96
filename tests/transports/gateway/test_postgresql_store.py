"""A gateway whose store is PostgreSQL, used by the official `openai` SDK as any client would:
the answer, the flight-recorder row (found by the desk's full-text search) and a vault key all
go through the team database."""

from __future__ import annotations

from llmgw_desktop.engine.recorder import RecorderFilters
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.postgres import PostgresCluster
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory


async def test_the_openai_sdk_through_a_gateway_on_postgresql(
    start_gateway: GatewayFactory, postgres_cluster: PostgresCluster, upstream: ScriptedUpstream
) -> None:
    url = postgres_cluster.create_database()
    gateway = await start_gateway({"store.url": url})
    try:
        assert gateway.engine.store.engine.name == "postgresql"
        client = openai_client(gateway)
        reply = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Name the zebrafish capital."}],
            user="sdk-on-postgresql",
        )
        assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
        (seen,) = upstream.llm_requests
        assert seen.body["model"] == "gpt-4o"
        await gateway.engine.recorder.flush()
        found = await gateway.engine.recorder_query.page(RecorderFilters(text="gpt-4o"))
        assert [row.provider for row in found.rows] == ["openai"]
        # The column schema 23 added holds why the route tried its target.
        (row,) = await gateway.engine.recorder.recent(limit=1)
        assert row["chosen_because"] == "owner of the model"
        assert gateway.engine.health()["store"]["state"] == "ok"
    finally:
        await gateway.stop()  # before the drop: the database must have no connections left
        postgres_cluster.drop_database(url)
