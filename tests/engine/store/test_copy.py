"""`copy_store`: a laptop's SQLite store, filled through the real services, copied into the
test cluster's PostgreSQL and used there by an Engine; and the copies it refuses to make."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.consent import ConsentQueue
from llmgw_desktop.engine.auth.oauth import OAuthServer
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.auth.principals import SCOPE_ADMIN, SCOPE_MCP, Principal
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.refusals import RefusalCounter
from llmgw_desktop.engine.sessions.gateway_sessions import SessionStore
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.copy import CopyRefused, copy_store
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.vault import Vault
from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN, WorkspaceRegistry
from tests.engine.vault.support import KEY_A, env_sources
from tests.postgres import PostgresCluster

API_KEY = "sk-copy-test-0123456789abcdefghijklmnop"
AUTH_FILE = b'{"token": "copied-auth-file"}'
SEARCHED_WORD = "zebrafish"  # a word only one recorder row holds
REDIRECT = "http://127.0.0.1:8123/callback"
ADMIN = Principal("oauth:admin", "oauth", frozenset({SCOPE_MCP, SCOPE_ADMIN}))
JOBS = 3
RECORDED = 25


@dataclass
class Filled:
    """What the services wrote into the SQLite store, to find again on PostgreSQL."""

    path: Path
    job_ids: list[str]
    session_id: str
    client_id: str
    access_token: str
    searched_record: str


@pytest.fixture
def target_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


async def _finished(ctx: JobContext) -> dict[str, Any]:
    ctx.set_output("answer text")
    return {"text": "answer text", "usage": {"input_tokens": 3}}


async def _fill_jobs(db: Database) -> list[str]:
    tasks = TaskSupervisor()
    manager = JobManager(JobStore(db), tasks=tasks, events=EventBus(), limits=JobLimits())
    await manager.start()
    ids = []
    for n in range(JOBS):
        spec = JobSpec("local", "claude", {"prompt": f"job {n}"}, "/w", _finished)
        job_id = (await manager.submit(spec)).job_id
        await manager.wait(job_id, "local", timeout_s=10)
        ids.append(job_id)
    await manager.stop()
    await tasks.shutdown()
    return ids


async def _fill_recorder(db: Database) -> str:
    recorder = FlightRecorder(db)
    searched = ""
    for n in range(RECORDED):
        model = f"{SEARCHED_WORD}-large" if n == 7 else "plain-model"
        record = recorder.start(principal="local", provider="claude", caller="editor", model=model)
        recorder.finish(record, state="completed", input_tokens=n)
        searched = record if n == 7 else searched
    await recorder.flush()
    refusals = RefusalCounter(db)
    refusals.count("127.0.0.1", "mcp", 401, "unauthorized")
    await refusals.flush()
    return searched


async def _fill_oauth(db: Database) -> tuple[str, str]:
    """A client registered the dynamic way and one token grant, through the OAuth server."""
    server = OAuthServer(db, OAuthConfig(registration="open_dev"), ConsentQueue(timeout_s=60))
    await server.start()
    client = await server.register({"redirect_uris": [REDIRECT], "client_name": "Editor"}, None)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    step = await server.authorize(
        {
            "client_id": client["client_id"],
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert step.redirect is not None
    code = parse_qs(urlsplit(step.redirect).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    tokens = await server.token(form, (client["client_id"], client["client_secret"]))
    return client["client_id"], tokens["access_token"]


@pytest.fixture
async def filled(loaded: LoadedSettings, tmp_path: Path) -> Filled:
    """A laptop's store: jobs, sessions, recorder rows, a sealed key, OAuth, a workspace."""
    path = tmp_path / "laptop" / "llmgw.db"
    db = Database(path)
    await db.open()
    try:
        job_ids = await _fill_jobs(db)
        sessions = SessionStore(db)
        session = await sessions.create("local", "claude", caller="editor", title="copied")
        await sessions.provider_sessions.record(
            "local", "claude", "provider-1", working_dir="/w", owns_dir=False, usage_totals=Usage()
        )
        searched = await _fill_recorder(db)
        vault = Vault(db, env_sources(KEY_A, tmp_path))
        await vault.open()
        await vault.store_key(OPERATOR, "openai", API_KEY)
        await vault.store_file(OPERATOR, "claude", "auth.json", AUTH_FILE)
        client_id, access_token = await _fill_oauth(db)
        root = tmp_path / "roots"
        root.mkdir()
        settings = loaded.settings.with_values({"workspaces.allowed_roots": [str(root)]})
        registry = WorkspaceRegistry(settings, db, environ={ADMIN_OPT_IN: "1"})
        await registry.create(ADMIN, "copied-space")
    finally:
        await db.close()
    return Filled(path, job_ids, session.id, client_id, access_token, searched)


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def _sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


async def test_copied_store_serves_an_engine_on_postgresql(
    filled: Filled, target_url: str, loaded: LoadedSettings, tmp_path: Path
) -> None:
    report = await copy_store(filled.path, target_url, batch_rows=4)  # several batches a table

    assert report.ok, report.mismatched
    counts = {t.table: t.source_rows for t in report.tables}
    assert counts["jobs"] == JOBS
    assert counts["requests"] == RECORDED
    for table in (
        "sessions",
        "active_sessions",
        "provider_sessions",
        "refusals",
        "vault_keys",
        "vault_files",
        "oauth_clients",
        "oauth_codes",
        "workspaces",
        "store_meta",
    ):
        assert counts[table] >= 1, table
    assert counts["oauth_tokens"] == 2  # the access and the refresh token
    assert "schema_migrations" not in counts
    # Sealed records byte for byte, and the key check that proves the master key.
    for table in ("vault_keys", "vault_files"):
        sealed = f"SELECT id, sealed FROM {table} ORDER BY id"
        assert _rows(target_url, sealed) == _sqlite_rows(filled.path, sealed)
    meta = "SELECT key, value FROM store_meta ORDER BY key"
    assert _rows(target_url, meta) == _sqlite_rows(filled.path, meta)

    settings = loaded.settings.with_values({"store.url": target_url, "http.oauth.enabled": True})
    engine = Engine(settings, vault_key_sources=env_sources(KEY_A, tmp_path))
    await engine.start()
    try:
        assert engine.vault.status()["state"] == "open"
        assert await engine.vault.resolve_keys("openai") == [API_KEY]
        assert await engine.vault.resolve_files("claude") == {"auth.json": AUTH_FILE}
        listed = {job.id for job in await engine.jobs.list_jobs("local")}
        assert listed == set(filled.job_ids)
        assert (await engine.sessions.get("local", filled.session_id)).id == filled.session_id
        assert [w.name for w in await engine.workspaces.visible(ADMIN.id)] == ["copied-space"]
        assert engine.oauth is not None
        principal = await engine.oauth.verify(filled.access_token)
        assert principal is not None and principal.id == f"oauth:{filled.client_id}"
    finally:
        await engine.stop()


async def test_copied_recorder_rows_keep_their_order_and_are_searchable(
    filled: Filled, target_url: str
) -> None:
    await copy_store(filled.path, target_url)

    order = "SELECT id FROM requests ORDER BY rowid"
    assert _rows(target_url, order) == _sqlite_rows(filled.path, order)
    # PostgreSQL fills the search vector of every copied row itself.
    found = _rows(
        target_url,
        f"SELECT id FROM requests WHERE search_vector @@ to_tsquery('simple', '{SEARCHED_WORD}')",
    )
    assert found == [(filled.searched_record,)]
    # The next row the server numbers comes after every copied one.
    with psycopg.connect(target_url) as connection:
        connection.execute(
            "INSERT INTO requests (id, started_at, owner_principal, provider, state)"
            " VALUES ('new', 1, 'local', 'claude', 'started')"
        )
        rowid = connection.execute("SELECT rowid FROM requests WHERE id = 'new'").fetchone()
        highest = connection.execute("SELECT max(rowid) FROM requests WHERE id <> 'new'")
        assert rowid is not None and rowid[0] > highest.fetchone()[0]  # type: ignore[index]


async def test_target_with_rows_is_refused_untouched_without_force(
    filled: Filled, target_url: str
) -> None:
    await copy_store(filled.path, target_url)
    _rows_written = _rows(target_url, "SELECT count(*) FROM jobs")

    with pytest.raises(CopyRefused, match=r"already holds rows \(in .*jobs.*--force"):
        await copy_store(filled.path, target_url)

    assert _rows(target_url, "SELECT count(*) FROM jobs") == _rows_written


async def test_force_empties_the_target_first_in_the_same_transaction(
    filled: Filled, target_url: str
) -> None:
    await copy_store(filled.path, target_url)
    with psycopg.connect(target_url) as connection:
        connection.execute(
            "INSERT INTO workspaces (name, path, owner_principal, origin, created_at)"
            " VALUES ('server-only', '/srv', 'local', 'created', 1)"
        )

    report = await copy_store(filled.path, target_url, force=True)

    assert report.ok
    assert "workspaces" in report.emptied and "jobs" in report.emptied
    names = _rows(target_url, "SELECT name FROM workspaces")
    assert names == [("copied-space",)]


@pytest.mark.parametrize(
    "url",
    ["sqlite:///tmp/x.db", "mysql://u@h/db", "postgresql://user@host", "/var/lib/llmgw.db"],
)
async def test_target_that_is_not_a_postgresql_database_is_refused(
    url: str, tmp_path: Path
) -> None:
    source = tmp_path / "llmgw.db"
    with pytest.raises(CopyRefused, match="target must"):
        await copy_store(source, url)
    assert not source.exists()  # refused before anything was opened


async def test_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CopyRefused, match="no SQLite store"):
        await copy_store(tmp_path / "absent.db", "postgresql://u@127.0.0.1/db")


async def test_a_failed_copy_leaves_the_target_empty(filled: Filled, target_url: str) -> None:
    # A row PostgreSQL must refuse (a session for an active row that is not there).
    connection = sqlite3.connect(filled.path)
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute(
        "INSERT INTO active_sessions VALUES ('local', 'x', 'claude', 'no-such-session', 1)"
    )
    connection.commit()
    connection.close()

    with pytest.raises(Exception, match="rolled back"):
        await copy_store(filled.path, target_url)

    await asyncio.sleep(0)
    assert _rows(target_url, "SELECT count(*) FROM jobs") == [(0,)]


async def test_engine_on_the_copy_finds_the_recorder_row_by_search(
    filled: Filled, target_url: str, loaded: LoadedSettings, tmp_path: Path
) -> None:
    await copy_store(filled.path, target_url)
    settings = loaded.settings.with_values({"store.url": target_url})
    engine = Engine(settings, vault_key_sources=env_sources(KEY_A, tmp_path))
    await engine.start()
    try:
        page = await engine.recorder_query.page(RecorderFilters(text=SEARCHED_WORD))
    finally:
        await engine.stop()
    assert [row.id for row in page.rows] == [filled.searched_record]
