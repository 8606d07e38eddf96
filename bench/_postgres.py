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
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ENGINES", "SERVER_OPTIONS", "store_url"]

ENGINES = ("sqlite", "postgresql")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
SUPERUSER = "llmgw"
DATABASE = "llmgw_bench"
# The durability of the SQLite store's WAL with synchronous=NORMAL (module docstring).
SERVER_OPTIONS = "-c synchronous_commit=off -c listen_addresses=127.0.0.1 -c max_connections=200"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise SystemExit(f"PostgreSQL is not installed (no {name}): install `postgresql`")
    return found


def _as_cluster_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def store_url(given: str | None = None) -> Iterator[str]:
    """`given`, or the URL of a fresh database in a cluster that lives as long as the block."""
    if given:
        yield given
        return
    import psycopg

    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="llmgw-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    data, port = root / "data", _free_port()
    started = False
    try:
        subprocess.run(
            _as_cluster_user(
                [initdb, "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        options = f"{SERVER_OPTIONS} -p {port} -k {root}"
        subprocess.run(
            _as_cluster_user(
                [pg_ctl, "start", "-w", "-D", str(data), "-l", str(root / "log"), "-o", options]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        started = True
        base = f"postgresql://{SUPERUSER}@127.0.0.1:{port}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        yield f"{base}/{DATABASE}"
    finally:
        if started:
            subprocess.run(
                _as_cluster_user([pg_ctl, "stop", "-m", "fast", "-D", str(data)]),
                check=False,
                capture_output=True,
                timeout=STOP_TIMEOUT_S,
            )
        shutil.rmtree(root, ignore_errors=True)
