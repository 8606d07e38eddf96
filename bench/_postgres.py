"""A throwaway PostgreSQL database for the benches, or the one a `--store-url` names.

`store_url(given)` yields a `postgresql://` URL: `given` as it is when the bench was handed
one, else a database in a cluster started for this run (`initdb` + `pg_ctl start` in a temp
dir, on a free loopback port) and stopped and deleted afterwards, started as the test suite's
(tests/postgres.py) is. Unlike the tests' cluster it keeps `fsync` on: its durability is set to
match the SQLite store's (WAL, `synchronous=NORMAL`: a commit is not waited on the disk, the
log is synced in the background), which is `synchronous_commit=off`, so the two engines are
compared doing the same work. PostgreSQL refuses to run as root; as root it runs as `postgres`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

# The cluster is started as the tests start theirs; benches run as scripts from bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pg_cluster import SUPERUSER, ClusterError, throwaway_cluster

__all__ = ["ENGINES", "SERVER_OPTIONS", "store_url"]

ENGINES = ("sqlite", "postgresql")
DATABASE = "llmgw_bench"
# The durability of the SQLite store's WAL with synchronous=NORMAL (module docstring).
SERVER_OPTIONS = "-c synchronous_commit=off -c listen_addresses=127.0.0.1 -c max_connections=200"


@contextlib.contextmanager
def store_url(given: str | None = None) -> Iterator[str]:
    """`given`, or the URL of a fresh database in a cluster that lives as long as the block."""
    if given:
        yield given
        return
    import psycopg

    try:
        with throwaway_cluster(SERVER_OPTIONS, prefix="llmgw-bench-pg-") as port:
            base = f"postgresql://{SUPERUSER}@127.0.0.1:{port}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{DATABASE}"')
            yield f"{base}/{DATABASE}"
    except ClusterError as exc:
        raise SystemExit(str(exc)) from None
