"""A throwaway PostgreSQL cluster for the tests, and the store fixtures that run on both engines.

The session starts one cluster (`initdb` + `pg_ctl start` in a temp dir, on a free loopback
port, fsync off: nothing here must survive) the first time a test asks for PostgreSQL, and
stops it (`pg_ctl stop -m fast`) at the end. Each test gets databases of its own, created on
demand and dropped after it, so tests never see each other's rows.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user
(`runuser`), in a temp dir that user owns. Without the binaries the PostgreSQL half of the
suites is skipped with the reason, except under CI (`CI=true`), where it fails: `.ci/run`
installs them, and a half nobody ran is untested.

`new_database` is what store-level tests use instead of `Database(tmp_path / name)`: the same
test runs once per engine (ids `sqlite` and `postgresql`).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llmgw_desktop.engine.store import Database
from tests.pg_cluster import SUPERUSER, ClusterError, find_binary, throwaway_cluster

__all__ = ["ENGINES", "PostgresCluster", "new_database", "postgres_cluster", "store_engine"]

ENGINES = ("sqlite", "postgresql")
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() == "true"
STOP_TIMEOUT_S = 30
# What the server may skip because the cluster is thrown away after the run.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c listen_addresses=127.0.0.1 -c max_connections=200"
)


@dataclass
class PostgresCluster:
    """A running cluster: a loopback port, trust authentication, one superuser."""

    port: int
    created: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"test_{len(self.created)}_{os.getpid()}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database, ending connections a test left open."""
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _unavailable(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"{reason} (CI=true: .ci/run installs the `postgresql` package)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a PostgreSQL cluster for this test session; stop it at the end."""
    if find_binary("initdb") is None or find_binary("pg_ctl") is None:
        _unavailable("PostgreSQL is not installed (no initdb/pg_ctl): install `postgresql`")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg driver is not installed: pip install -e '.[test]'")
    try:
        with throwaway_cluster(SERVER_OPTIONS) as port:
            yield PostgresCluster(port)
    except ClusterError as exc:
        pytest.fail(str(exc))


@pytest.fixture(params=ENGINES)
def store_engine(request: pytest.FixtureRequest) -> str:
    """The engine a store-level test runs on: once `sqlite`, once `postgresql`."""
    return str(request.param)


@pytest.fixture
def new_database(
    store_engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Database]]:
    """Make a (not yet opened) `Database` on this test's engine; the same name, the same store.

    On SQLite `name` is a file in the test's tmp dir; on PostgreSQL each name is a database of
    its own in the session's cluster, dropped after the test.
    """
    urls: dict[str, str] = {}
    cluster: PostgresCluster | None = None
    if store_engine == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")

    def make(name: str, **kwargs: object) -> Database:
        if cluster is None:
            return Database(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        if name not in urls:
            urls[name] = cluster.create_database()
        return Database(tmp_path / name, url=urls[name], **kwargs)  # type: ignore[arg-type]

    yield make
    if cluster is not None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for url in urls.values():
            if time.monotonic() < deadline:
                cluster.drop_database(url)


@asynccontextmanager
async def opened(database: Database) -> AsyncIterator[Database]:
    """`database` opened for the block and closed after it, whatever the block raised."""
    await database.open()
    try:
        yield database
    finally:
        await database.close()
