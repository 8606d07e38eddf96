"""What differs per engine: PostgreSQL's pool and transactions, URLs without passwords."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import peewee
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.store import Database, StoreError, redacted_url
from llmgw_desktop.engine.store.migrations import MIGRATIONS
from tests.engine.jobs.rows import created
from tests.ports import free_port
from tests.postgres import PostgresCluster, opened


@pytest.fixture
def store_engine() -> str:
    """These tests are about PostgreSQL's side only."""
    return "postgresql"


async def test_postgresql_store_is_migrated_to_the_latest_schema(
    new_database: Callable[[str], Database],
) -> None:
    async with opened(new_database("llmgw.db")) as db:
        assert db.schema_version == max(m.version for m in MIGRATIONS)
        tables = await db.run(lambda: db.models.database.get_tables())
    assert {"jobs", "requests", "refusals", "oauth_tokens", "vault_keys"} <= set(tables)


async def test_postgresql_vacuums_the_recorder_table_early(
    new_database: Callable[[str], Database],
) -> None:
    """Schema 13: the recorder's table (each row inserted, then updated) is vacuumed after 1%
    of it changed, not PostgreSQL's default 20%, so the desk's counts stay index-only."""
    async with opened(new_database("llmgw.db")) as db:
        [(options,)] = await db.run(
            lambda: db.models.database.execute_sql(
                "SELECT reloptions FROM pg_class WHERE relname = 'requests'"
            ).fetchall()
        )
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options


async def test_postgresql_calls_commit_in_the_order_they_were_submitted(
    new_database: Callable[[str], Database],
) -> None:
    """The engine's writes rely on submission order (a job's running row, then its output):
    calls submitted together must commit one after another, in order, as on SQLite."""
    db = new_database("llmgw.db")
    await db.open()
    order: list[int] = []

    def write(n: int) -> Callable[[], None]:
        def run() -> None:
            db.models.database.execute_sql(
                "INSERT INTO store_meta (key, value) VALUES ('last', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(n),),
            )
            order.append(n)

        return run

    try:
        await asyncio.gather(*(db.run(write(n)) for n in range(50)))
        [(last,)] = await db.run(
            lambda: db.models.database.execute_sql(
                "SELECT value FROM store_meta WHERE key = 'last'"
            ).fetchall()
        )
    finally:
        await db.close()
    assert order == list(range(50)) and last == "49"


async def test_a_desk_read_on_postgresql_is_not_held_behind_a_slow_write(
    new_database: Callable[[str], Database],
) -> None:
    """The read lane: a page read answers while the ordered lane is busy with a slow write,
    and sees only what committed before it began."""
    db = new_database("llmgw.db")
    await db.open()

    def slow_write() -> None:
        db.models.StoreMeta.create(key="slow", value="written")
        db.models.database.execute_sql("SELECT pg_sleep(1.5)")

    try:
        writing = asyncio.ensure_future(db.run(slow_write))
        await asyncio.sleep(0.2)  # the write has begun and holds the ordered lane
        began = asyncio.get_running_loop().time()
        keys = await db.read(lambda: [r.key for r in db.models.StoreMeta.select()])
        took = asyncio.get_running_loop().time() - began
        assert not writing.done() and took < 1.0, took
        assert "slow" not in keys  # not committed yet when the read began
        await writing
        assert "slow" in await db.read(lambda: [r.key for r in db.models.StoreMeta.select()])
    finally:
        await db.close()


async def test_an_urgent_write_on_postgresql_is_not_queued_behind_the_ordered_lane(
    new_database: Callable[[str], Database],
) -> None:
    """The urgent lane (lease renewals): a write there commits while the ordered lane is held
    by a long call and more wait behind it (a replay of spilled recorder rows)."""
    db = new_database("llmgw.db")
    await db.open()
    held, release = threading.Event(), threading.Event()

    def long_call() -> None:
        held.set()
        assert release.wait(30), "never released"

    try:
        busy = [asyncio.ensure_future(db.run(long_call))]
        busy += [asyncio.ensure_future(db.run(lambda: None)) for _ in range(3)]
        assert await asyncio.to_thread(held.wait, 30)
        await db.run_urgent(lambda: db.models.StoreMeta.create(key="lease", value="renewed"))
        assert not any(call.done() for call in busy)
        # Committed: another connection sees it while the ordered lane is still held.
        keys = await db.read(lambda: [r.key for r in db.models.StoreMeta.select()])
        assert "lease" in keys
        release.set()
        await asyncio.gather(*busy)
    finally:
        release.set()
        await db.close()


async def test_a_write_slipped_into_a_postgresql_read_fails_and_writes_nothing(
    new_database: Callable[[str], Database],
) -> None:
    async with opened(new_database("llmgw.db")) as db:
        with pytest.raises(peewee.InternalError, match="read-only"):
            await db.read(lambda: db.models.StoreMeta.create(key="sneaky", value="x"))
        assert await db.run(lambda: db.models.StoreMeta.select().count()) == 0


async def test_postgresql_call_that_fails_writes_nothing(
    new_database: Callable[[str], Database],
) -> None:
    db = new_database("llmgw.db")
    await db.open()

    def write_then_fail() -> None:
        db.models.StoreMeta.create(key="half", value="done")
        raise RuntimeError("the call failed after its write")

    try:
        with pytest.raises(RuntimeError):
            await db.run(write_then_fail)
        left = await db.run(lambda: db.models.StoreMeta.select().count())
    finally:
        await db.close()
    assert left == 0


async def test_postgresql_server_that_cannot_be_reached_is_a_store_error(
    tmp_path: Path,
) -> None:
    url = f"postgresql://llmgw:hunter2@127.0.0.1:{free_port()}/llmgw"
    db = Database(tmp_path / "unused.db", url=url)
    with pytest.raises(StoreError) as caught:
        await db.open()
    assert "hunter2" not in str(caught.value)
    assert "store.url" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("postgresql://u:p%40ss@[::1]:5432/db?sslmode=require", None),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str | None) -> None:
    redacted = redacted_url(url)
    if shown is not None:
        assert redacted == shown
    assert "secret" not in redacted and "p%40ss" not in redacted


async def test_the_engine_starts_and_stops_on_postgresql_from_the_setting(
    loaded: LoadedSettings, postgres_cluster: PostgresCluster
) -> None:
    url = postgres_cluster.create_database()
    engine = Engine(loaded.settings.with_values({"store.url": url}))
    await engine.start()
    try:
        assert engine.store.engine.name == "postgresql"
        assert engine.health()["status"] == "ok"
        assert engine.health()["store"]["state"] == "ok"
    finally:
        await engine.stop()
        postgres_cluster.drop_database(url)


async def test_a_full_postgresql_disk_is_a_write_failure_and_a_typo_is_not(
    new_database: Callable[[str], Database],
) -> None:
    async with opened(new_database("llmgw.db")) as db:
        with pytest.raises(Exception) as typo:
            await db.run(lambda: db.models.database.execute_sql("SELEC 1"))
        with pytest.raises(Exception) as full:
            # The server's own error for a full disk, raised the way a write would see it.
            await db.run(
                lambda: db.models.database.execute_sql(
                    "DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100';"
                    " END $$"
                )
            )
    assert not db.is_write_failure(typo.value)
    assert db.is_write_failure(full.value)
    assert db.health.degraded and "could not extend file" in (db.health.reason or "")


async def test_a_gateway_starting_on_a_shared_store_leaves_other_gateways_work_alone(
    loaded: LoadedSettings, postgres_cluster: PostgresCluster
) -> None:
    """On a team's PostgreSQL store an unfinished job or an open recorder row may be another
    live gateway's: the second gateway's start must not end it while the first holds its
    lease (a SQLite store is one process's, and a restart there ends them as `interrupted`:
    tests/reliability; a dead owner's are ended by the reaper: tests/engine/jobs)."""
    url = postgres_cluster.create_database()
    settings = loaded.settings.with_values({"store.url": url})
    first, second = Engine(settings), Engine(settings)
    await first.start()
    try:
        job = await created(
            first.jobs._store,
            "job_of_the_first_gateway",
            request={"prompt": "still working"},
            now=1.0,
            owner_process=first.leases.process_id,
        )
        row = first.recorder.start(principal="local", provider="openai", model="gpt-test")
        await first.recorder.flush()
        await second.start()
        try:
            assert (await second.jobs.get(job.id, "local")).state.value == "queued"
            detail = await second.recorder_query.detail(row)
            assert detail is not None and detail.record["state"] == "started"
        finally:
            await second.stop()
    finally:
        await first.stop()
        postgres_cluster.drop_database(url)


async def test_a_postgresql_store_from_a_newer_app_is_refused_and_names_the_url_setting(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    url = postgres_cluster.create_database()
    try:
        first = Database(tmp_path / "unused.db", url=url)
        await first.open()
        await first.run(
            lambda: first.models.database.execute_sql(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'x', 0)"
            )
        )
        await first.close()
        with pytest.raises(StoreError, match="LLM_GATEWAY_DB_URL") as refused:
            await Database(tmp_path / "unused.db", url=url).open()
        assert "LLM_GATEWAY_DB_PATH" not in str(refused.value)
    finally:
        postgres_cluster.drop_database(url)


async def test_postgresql_plans_every_statement_for_its_values(
    new_database: Callable[[str], Database],
) -> None:
    """psycopg prepares a statement after five runs, and PostgreSQL may then plan it once for
    any value: a count over a million recorded requests went from 0.3 s to 1.2 s that way. Every
    pooled connection (the ordered lane's and the readers') asks for custom plans."""
    db = new_database("llmgw.db")
    await db.open()

    def mode() -> str:
        cursor = db.models.database.execute_sql("SHOW plan_cache_mode")
        return str(cursor.fetchone()[0])

    def idle_limit() -> str:
        cursor = db.models.database.execute_sql("SHOW idle_in_transaction_session_timeout")
        return str(cursor.fetchone()[0])

    try:
        seen = {await db.run(mode) for _ in range(3)}
        seen |= set(await asyncio.gather(*(db.read(mode) for _ in range(6))))
        # And a transaction a stalled gateway leaves open is ended by the server.
        limits = {await db.run(idle_limit)} | {await db.read(idle_limit)}
    finally:
        await db.close()
    assert seen == {"force_custom_plan"}
    assert limits == {"15s"}


def test_the_urls_own_options_are_kept_beside_custom_plans() -> None:
    from llmgw_desktop.engine.store.postgres_engine import SESSION_SETTINGS, session_options

    url = "postgresql://u@h/db?options=-c%20statement_timeout%3D5000"
    assert session_options(url) == f"-c statement_timeout=5000 {SESSION_SETTINGS}"
    assert session_options("postgresql://u@h/db") == SESSION_SETTINGS
    assert session_options("not a url at all =") == SESSION_SETTINGS  # the connect says why
