"""Loopback ports for the tests: one allocator, so no two users of this run are given one port.

A port handed to a child process, a PostgreSQL cluster or a proxy that stops listening on
purpose (a cluster stopped for an outage test, a proxy refusing) must stay the holder's until
it listens again. So ports come from a band below the kernel's ephemeral range (Linux
32768-60999, macOS 49152-65535: no `bind(0)` anywhere lands in it), one slice per xdist worker,
each port given once per run. Two allocators over one band once handed a proxy's port to
another worker's gateway while the proxy refused (CI: "address already in use" when it came
back).

No pytest here: the benches use it too (`bench/_postgres.py` through `tests/pg_cluster.py`).
"""

from __future__ import annotations

import os
import socket

__all__ = ["PortsExhausted", "free_port"]

BAND = range(20_000, 32_000)
_next_in_slice: list[int] = []


class PortsExhausted(RuntimeError):
    """Every port of this worker's slice is given or held by something outside the run."""


def _slice() -> range:
    """This worker's share of the band: xdist names its workers gw0, gw1, ... and says how many."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % workers if worker.isdigit() else 0
    size = len(BAND) // workers
    first = BAND.start + index * size
    return range(first, first + size)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port free now that no other test of this run is given, or can be given by the
    OS, before this worker has used its whole slice."""
    ports = _slice()
    if not _next_in_slice:
        _next_in_slice.append(ports.start)
    while _next_in_slice[0] < ports.stop:
        port = _next_in_slice[0]
        _next_in_slice[0] += 1
        if _bindable(port):
            return port
        # else held by something outside this run: the next one
    # Going round again could hand out a port a stopped cluster or a refusing proxy still owns.
    raise PortsExhausted(f"every port in {ports.start}-{ports.stop - 1} was given in this run")
