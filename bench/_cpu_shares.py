"""Where a benchmark's CPU went: the cores each process held while a run lasted, the gateway's
loop thread among them, and a PostgreSQL server's processes (`gateway_overhead.py`)."""

from __future__ import annotations

import os

import psutil

__all__ = ["CoreShares", "loop_thread_cpu", "server_cpu"]


class CoreShares:
    """Which process held the machine's cores while a throughput run lasted: the client (this
    process), the upstream's and the gateway's, each in cores (CPU seconds a wall second), and
    the gateway's loop thread. A loop thread near 1.0 is the limit; well under it, with the
    cores not all used, the requests waited on something other than CPU."""

    def __init__(self, gateway: psutil.Process | None, upstream_pid: int | None) -> None:
        self.processes = {"client": psutil.Process()}
        if upstream_pid:
            self.processes["upstream"] = psutil.Process(upstream_pid)
        if gateway:
            self.processes["gateway"] = gateway
        self.gateway = gateway
        self.before = {name: _cpu(p) for name, p in self.processes.items()}
        self.loop_before = loop_thread_cpu(gateway) if gateway else 0.0
        self.machine_before = sum(psutil.cpu_times()[:3])  # user, nice, system

    def line(self, elapsed: float) -> str:
        used = {name: (_cpu(p) - self.before[name]) / elapsed for name, p in self.processes.items()}
        parts = [f"{name} {cores:.2f}" for name, cores in used.items()]
        if self.gateway:
            loop = (loop_thread_cpu(self.gateway) - self.loop_before) / elapsed
            parts.append(f"gateway's loop thread {loop:.2f}")
        machine = (sum(psutil.cpu_times()[:3]) - self.machine_before) / elapsed
        parts.append(f"the whole machine {machine:.2f} of {os.cpu_count()}")
        return "    cores used: " + ", ".join(parts)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def loop_thread_cpu(process: psutil.Process) -> float:
    """CPU seconds so far of the process's main thread: the event loop's, where the request
    path runs (the others are the store's thread, the recorder's flush and timers)."""
    for thread in process.threads():
        if thread.id == process.pid:
            return float(thread.user_time + thread.system_time)
    return 0.0


def server_cpu(port: int) -> dict[int, float]:
    """CPU seconds so far of each process of the PostgreSQL server on `port` (its postmaster,
    started with `-p port`, and the backends and workers under it)."""
    for candidate in psutil.process_iter(["name", "cmdline"]):
        cmdline = candidate.info["cmdline"] or []
        if candidate.info["name"] == "postgres" and str(port) in cmdline:
            processes = [candidate, *candidate.children(recursive=True)]
            seen = {}
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                seen[process.pid] = times.user + times.system
            return seen
    return {}
