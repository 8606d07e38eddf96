"""Start and stop a throwaway PostgreSQL cluster: shared by the tests' fixture
(`tests/postgres.py`) and the benches (`bench/_postgres.py`), which differ only in the server
options they pass (the tests turn durability off, the benches match SQLite's).

`initdb` + `pg_ctl start` in a temp dir on a free loopback port, trust authentication, one
superuser; `pg_ctl stop -m fast` and the dir removed when the block ends. PostgreSQL refuses to
run as root, so as root the cluster runs as the `postgres` user (`runuser`), in a dir it owns.
No pytest here: a failure to start is a `ClusterError` for the caller to report its own way.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.ports import free_port

__all__ = [
    "SUPERUSER",
    "Cluster",
    "ClusterError",
    "find_binary",
    "throwaway_cluster",
]

SUPERUSER = "llmgw"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


class ClusterError(Exception):
    """The cluster could not be made or started; the message says why (with the server log)."""


def find_binary(name: str) -> str | None:
    """`name` on PATH, else in Debian's versioned directory (`postgresql` puts it there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_cluster_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class Cluster:
    """A cluster in a temp dir that a test may stop and start again (a store outage on purpose);
    same port, same data, every time."""

    def __init__(self, server_options: str, *, prefix: str = "llmgw-pg-") -> None:
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise ClusterError(
                "PostgreSQL is not installed (no initdb/pg_ctl): install `postgresql`"
            )
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self.data, self.log_file, self.port = (
            self.root / "data",
            self.root / "server.log",
            free_port(),  # kept while the cluster is stopped on purpose: see tests/ports.py
        )
        self._options = f"{server_options} -p {self.port} -k {self.root}"
        self.running = False

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """`initdb`, then `start`.

        Raises:
            ClusterError: either failed.
        """
        make = [self._initdb, "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
        self._run([*make, "--no-sync"], START_TIMEOUT_S)
        self.start()

    def start(self) -> None:
        """`pg_ctl start`, waiting until it accepts connections.

        Raises:
            ClusterError: it did not start.
        """
        pg_ctl = self._pg_ctl
        self._run(
            [
                pg_ctl,
                "start",
                "-w",
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                self._options,
            ],
            START_TIMEOUT_S,
        )
        self.running = True

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: every connection is ended, as in a real outage."""
        subprocess.run(
            _as_cluster_user([self._pg_ctl, "stop", "-m", "fast", "-D", str(self.data)]),
            check=False,
            capture_output=True,
            timeout=STOP_TIMEOUT_S,
        )
        self.running = False

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, command: list[str], timeout_s: float) -> None:
        try:
            subprocess.run(
                _as_cluster_user(command), check=True, capture_output=True, timeout=timeout_s
            )
        except subprocess.CalledProcessError as exc:
            log_text = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise ClusterError(f"cannot start PostgreSQL: {exc.stderr!r} {log_text}") from None


@contextlib.contextmanager
def throwaway_cluster(server_options: str, *, prefix: str = "llmgw-pg-") -> Iterator[int]:
    """A running cluster for the length of the block; yields its loopback port.

    Raises:
        ClusterError: the binaries are missing, or `initdb` / `pg_ctl start` failed.
    """
    cluster = Cluster(server_options, prefix=prefix)
    try:
        cluster.init()
        yield cluster.port
    finally:
        cluster.remove()
