"""The MCP tools through the official SDK client with the engine's store on PostgreSQL: a call
runs as a job, its session and answer are stored, and the job tools read it back."""

from __future__ import annotations

from llmgw_desktop.config.settings import LoadedSettings
from tests.contract.conftest import vibe_engine
from tests.postgres import PostgresCluster
from tests.transports.mcp.tools.conftest import call, connect


async def test_a_provider_call_and_its_job_round_trip_on_postgresql(
    loaded: LoadedSettings, vibe: None, postgres_cluster: PostgresCluster
) -> None:
    url = postgres_cluster.create_database()
    try:
        async with vibe_engine(loaded, {"store.url": url}) as engine:
            assert engine.store.engine.name == "postgresql"
            async with connect(engine) as client:
                session = await call(client, "session_create", {"provider": "mistral"})
                answer = await call(
                    client,
                    "mistral_request",
                    {"prompt": "2+2?", "sessionId": session["sessionId"]},
                )
                assert "FAKE-OK" in answer["text"] and answer["state"] == "completed"
                status = await call(client, "llm_job_status", {"jobId": answer["jobId"]})
                assert status["state"] == "completed"
                listed = await call(client, "session_list", {})
            assert session["sessionId"] in str(listed)
            await engine.recorder.flush()
            row = await engine.recorder_query.detail(answer["requestId"])
            assert row is not None and row.record["state"] == "completed"
            assert engine.health()["store"]["state"] == "ok"
    finally:
        postgres_cluster.drop_database(url)
