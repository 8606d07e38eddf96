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
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SUPERUSER", "ClusterError", "find_binary", "throwaway_cluster"]

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_cluster_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def throwaway_cluster(server_options: str, *, prefix: str = "llmgw-pg-") -> Iterator[int]:
    """A running cluster for the length of the block; yields its loopback port.

    Raises:
        ClusterError: the binaries are missing, or `initdb` / `pg_ctl start` failed.
    """
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise ClusterError("PostgreSQL is not installed (no initdb/pg_ctl): install `postgresql`")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    data, log_file, port = root / "data", root / "server.log", _free_port()
    started = False
    try:
        try:
            make = [initdb, "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
            subprocess.run(
                _as_cluster_user([*make, "--no-sync"]),
                check=True,
                capture_output=True,
                timeout=START_TIMEOUT_S,
            )
            options = f"{server_options} -p {port} -k {root}"
            subprocess.run(
                _as_cluster_user(
                    [pg_ctl, "start", "-w", "-D", str(data), "-l", str(log_file), "-o", options]
                ),
                check=True,
                capture_output=True,
                timeout=START_TIMEOUT_S,
            )
        except subprocess.CalledProcessError as exc:
            log_text = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise ClusterError(f"cannot start PostgreSQL: {exc.stderr!r} {log_text}") from None
        started = True
        yield port
    finally:
        if started:
            subprocess.run(
                _as_cluster_user([pg_ctl, "stop", "-m", "fast", "-D", str(data)]),
                check=False,
                capture_output=True,
                timeout=STOP_TIMEOUT_S,
            )
        shutil.rmtree(root, ignore_errors=True)
