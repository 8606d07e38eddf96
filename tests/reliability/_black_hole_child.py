"""Run inside a network namespace of its own (`unshare --net`, by `test_store_black_hole.py`).

It makes a second namespace and joins the two with a veth pair, the way a host reaches a
database server over a network: a PostgreSQL cluster listens in the second, the team store's
real engine connects from the first. In the middle of a transaction the server's side starts
dropping everything it sends (a `pfifo` queue of length 0 on its end of the pair): the client's
kernel sees no error and no answer, as on a path that became a black hole. Prints one JSON line:
how long the next statement took to fail, and how. Nothing outside the namespaces is touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import tests.pg_cluster as pg_cluster
from llmgw_desktop.engine.store.postgres_engine import PostgresEngine
from tests.postgres import SERVER_OPTIONS

CLIENT, SERVER = "10.77.0.1", "10.77.0.2"
STATEMENT_WAIT_S = 40  # the child's own bound when the kernel gives none


def main() -> int:
    holder = subprocess.Popen(["unshare", "--net", "sleep", "300"])
    time.sleep(0.3)
    in_server = ["nsenter", f"--net=/proc/{holder.pid}/ns/net"]
    outcome: dict[str, Any] = {}
    cluster = None
    try:
        for command in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", "client0", "type", "veth", "peer", "name", "server0"],
            ["ip", "link", "set", "server0", "netns", str(holder.pid)],
            ["ip", "addr", "add", f"{CLIENT}/24", "dev", "client0"],
            ["ip", "link", "set", "client0", "up"],
            [*in_server, "ip", "link", "set", "lo", "up"],
            [*in_server, "ip", "addr", "add", f"{SERVER}/24", "dev", "server0"],
            [*in_server, "ip", "link", "set", "server0", "up"],
        ):
            subprocess.run(command, check=True)
        # The cluster's commands run in the server's namespace.
        as_user = pg_cluster._as_cluster_user
        pg_cluster._as_cluster_user = lambda command: [*in_server, *as_user(command)]  # type: ignore[assignment]
        cluster = pg_cluster.Cluster(SERVER_OPTIONS, prefix="llmgw-pg-black-hole-")
        cluster.init()
        cluster.stop()
        with (cluster.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {CLIENT}/32 trust\n")
        cluster._options += f" -c listen_addresses={SERVER}"
        cluster.start()

        engine = PostgresEngine(
            f"postgresql://{pg_cluster.SUPERUSER}@{SERVER}:{cluster.port}/postgres"
        )
        db, _ = engine.open()
        # The kernel's bound alone: the store's watch would end the wait first (the server
        # answers no probe: cut after about 7 s, `stall_watch.py`), but the TCP bound still
        # guards what it does not watch (the start, the probe's own connect).
        db.watch.close()

        def black_holed_mid_transaction() -> None:
            db.execute_sql("SELECT 1")
            subprocess.run(
                [*in_server, "tc", "qdisc", "add", "dev", "server0", "root", "pfifo", "limit", "0"],
                check=True,
            )
            # Without a bound of the kernel's, the statement would wait about 15 minutes: past
            # STATEMENT_WAIT_S the path heals, so it answers (late: the test says so) and the
            # cluster is still removed below.
            heal = threading.Timer(
                STATEMENT_WAIT_S,
                subprocess.run,
                ([*in_server, "tc", "qdisc", "del", "dev", "server0", "root"],),
                {"check": False},
            )
            heal.start()
            began = time.monotonic()
            try:
                db.execute_sql("SELECT pg_sleep(0)")
            except Exception as exc:
                outcome.update(failed_after_s=time.monotonic() - began, error=repr(exc)[:300])
            else:
                outcome.update(answered_after_s=time.monotonic() - began)
            finally:
                heal.cancel()

        try:
            engine.run(db, black_holed_mid_transaction)
        except Exception as exc:  # the rollback on a dead connection fails too: expected
            outcome.setdefault("run_error", repr(exc)[:300])
    finally:
        if cluster is not None:
            subprocess.run(
                [*in_server, "tc", "qdisc", "del", "dev", "server0", "root"], check=False
            )
            cluster.remove()
        holder.kill()
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
