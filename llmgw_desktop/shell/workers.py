"""`--workers N` (`http.workers`): N headless gateway processes serving one port on one store.

One process runs the gateway's code on one core at a time; a host with more cores than that
runs several. Each worker is a full gateway, exactly as a team's processes on one PostgreSQL
store are (docs/team.md): its own data dir (`<data_dir>/workers/<i>`), log dir, lease, jobs
and recorder; the store holds what they share (budgets, keys, jobs, OAuth, the vault's
records). The kernel spreads new connections across them (`SO_REUSEPORT`, Linux).

This process, the supervisor, serves nothing itself. It holds the data dir's instance lock and
publishes the address (a second launch, `quit` or the stdio relay reach any worker, each of
which knows its token), reserves the port (bound, not listening, so no other program takes it
while a worker restarts), starts the workers, restarts one that dies, and on SIGTERM or
SIGINT passes SIGTERM to each (each drains, `http.drain_s`), a second signal again (each stops
at once), then exits once all have: 0 when each did, 5 when one lost flight-recorder rows
(`exit_codes.rows_lost_at_stop`), else 1. The workers run in sessions of their own, so a
terminal's Ctrl+C reaches the supervisor alone, and each gets SIGTERM from the kernel should
the supervisor die (`PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_ROWS_LOST
from llmgw_desktop.shell.instance import INFO_FILE, InstanceLock
from llmgw_desktop.shell.sd_notify import NOTIFY_SOCKET_ENV, notify

__all__ = ["WORKER_ENV", "WorkerRole", "refusal", "run_workers", "worker_role"]

log = logging.getLogger(__name__)

# Tells a process it is worker i of n, with the supervisor's instance token and pid (JSON).
WORKER_ENV = "LLMGW_WORKER"
# How long a worker may take to serve after it starts.
WORKER_START_S = 60.0
# A worker that dies is started again; more deaths than this within the window stop it all.
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0
POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerRole:
    """What a worker is told by its supervisor."""

    index: int  # 1..count
    count: int
    token: str  # the supervisor's instance token, which proves the local user to any worker
    parent: int  # the supervisor's pid


def worker_role(environ: Mapping[str, str] | None = None) -> WorkerRole | None:
    """This process's role as a worker, or None when it is no worker."""
    raw = (os.environ if environ is None else environ).get(WORKER_ENV)
    if not raw:
        return None
    told = json.loads(raw)
    return WorkerRole(
        int(told["index"]), int(told["count"]), str(told["token"]), int(told["parent"])
    )


def bind_to_parent(role: WorkerRole, stop: Callable[[], None]) -> None:
    """SIGTERM when the supervisor dies (Linux's parent-death signal), or `stop` now if it
    is gone already."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != role.parent:
        stop()


def refusal(loaded: LoadedSettings) -> str | None:
    """Why this host cannot run `http.workers` workers here, or None."""
    settings = loaded.settings
    if not sys.platform.startswith("linux"):
        return "http.workers above 1 needs Linux, whose SO_REUSEPORT spreads connections"
    if not settings.store.url:
        return (
            "http.workers above 1 needs store.url (LLM_GATEWAY_DB_URL): the workers share "
            "one PostgreSQL store, as a team's gateways do"
        )
    if _master_key_env(settings.data_path) is None:
        return (
            "http.workers above 1 needs the vault's master key from the environment "
            "(LLM_GATEWAY_MASTER_KEY or LLM_GATEWAY_MASTER_KEY_FILE) or vault.key in the data "
            'dir, so every worker opens the same vault; make one with: python3 -c "import '
            'secrets; print(secrets.token_hex(32))"'
        )
    return None


def _master_key_env(data_dir: Path) -> dict[str, str] | None:
    """The variables that hand every worker the same master key, or None when there is none
    to hand (a key made by a worker would be that worker's alone)."""
    if os.environ.get("LLM_GATEWAY_MASTER_KEY") or os.environ.get("LLM_GATEWAY_MASTER_KEY_FILE"):
        return {}
    key_file = data_dir / "vault.key"
    return {"LLM_GATEWAY_MASTER_KEY_FILE": str(key_file)} if key_file.is_file() else None


def _self_command() -> list[str]:
    """How to start this program again: the bundle's executable, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "llmgw_desktop"]


class _Supervisor:
    """Starts, watches and stops the workers."""

    def __init__(
        self, loaded: LoadedSettings, lock: InstanceLock, port: int, *, verbose: bool
    ) -> None:
        self.settings = loaded.settings
        self._config_file = loaded.config_file
        self._lock = lock
        self.port = port
        self._verbose = verbose
        self.count = self.settings.http.workers
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self._deaths: list[float] = []
        self.stopping = 0  # stop signals received
        self.wake = threading.Event()

    def data_dir(self, index: int) -> Path:
        return self.settings.data_path / "workers" / str(index)

    def _env(self, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != NOTIFY_SOCKET_ENV}
        env.update(_master_key_env(self.settings.data_path) or {})
        role = {
            "index": index,
            "count": self.count,
            "token": self._lock.token,
            "parent": os.getpid(),
        }
        env.update(
            {
                WORKER_ENV: json.dumps(role),
                "LLM_GATEWAY_CONFIG": str(self._config_file),
                "LLM_GATEWAY_DATA_DIR": str(self.data_dir(index)),
                "LLM_GATEWAY_LOG_DIR": str(self.settings.log_path / "workers" / str(index)),
                "LLM_GATEWAY_HTTP_PORT": str(self.port),
            }
        )
        if index > 1:  # Ollama's own port is one address: the first worker's alone
            env["LLM_GATEWAY_OLLAMA_PORT"] = "false"
        return env

    def start(self, index: int) -> None:
        (self.data_dir(index) / INFO_FILE).unlink(missing_ok=True)
        argv = [*_self_command(), "--headless", *(["--verbose"] if self._verbose else [])]
        self.workers[index] = subprocess.Popen(
            argv, env=self._env(index), stdin=subprocess.DEVNULL, start_new_session=True
        )

    def serving(self, index: int) -> bool:
        """Whether worker `index` has published its address (it listens)."""
        try:
            info = json.loads((self.data_dir(index) / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(info.get("pid") == self.workers[index].pid)

    def wait_serving(self) -> str | None:
        """Wait until every worker serves; why not, when one exits or is too slow."""
        deadline = time.monotonic() + WORKER_START_S
        for index, process in self.workers.items():
            while not self.serving(index):
                if process.poll() is not None:
                    return f"worker {index} exited with {process.returncode} before serving"
                if time.monotonic() > deadline or self.stopping:
                    return f"worker {index} did not serve within {WORKER_START_S:.0f} s"
                self.wake.wait(POLL_S)
        return None

    def signal_all(self, signum: int) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signum)

    def restart_dead(self) -> bool:
        """Start again each worker that died while not asked to stop; False when they die too
        often for that to help."""
        for index, process in list(self.workers.items()):
            if process.poll() is None:
                continue
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW_S] + [now]
            print(
                f"llmgw-desktop: worker {index} exited with {process.returncode}; starting it "
                "again",
                file=sys.stderr,
                flush=True,
            )
            if len(self._deaths) > MAX_RESTARTS:
                return False
            self.start(index)
        return True

    def wait_all(self) -> bool:
        """Wait until every worker has exited, passing on each further stop signal; True when
        all exited 0."""
        passed_on = self.stopping
        while any(p.poll() is None for p in self.workers.values()):
            if self.stopping > passed_on:
                passed_on = self.stopping
                self.signal_all(signal.SIGTERM)
            self.wake.wait(POLL_S)
            self.wake.clear()
        return all(p.returncode == 0 for p in self.workers.values())


def run_workers(loaded: LoadedSettings, lock: InstanceLock, *, verbose: bool) -> int:
    """Serve with `http.workers` worker processes until SIGTERM or SIGINT; the exit code."""
    if why := refusal(loaded):
        print(f"llmgw-desktop: {why}", file=sys.stderr)
        return EXIT_CONFIG
    http = loaded.settings.http
    from llmgw_desktop.transports.http_server import PortInUse, reserve_port

    try:
        reservation = reserve_port(http.host, http.port)
    except PortInUse as exc:
        print(f"llmgw-desktop: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    with reservation:
        supervisor = _Supervisor(loaded, lock, reservation.getsockname()[1], verbose=verbose)
        return _supervise(supervisor, lock)


def _supervise(supervisor: _Supervisor, lock: InstanceLock) -> int:
    def stop_asked(*_: object) -> None:
        supervisor.stopping += 1
        supervisor.wake.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_asked)
    for index in range(1, supervisor.count + 1):
        supervisor.start(index)
    if why := supervisor.wait_serving():
        print(f"llmgw-desktop: {why}; stopping the others", file=sys.stderr, flush=True)
        supervisor.signal_all(signal.SIGTERM)
        supervisor.wait_all()
        return EXIT_FAILURE
    from llmgw_desktop.transports.http_server import base_url

    url = base_url(supervisor.settings.http.host, supervisor.port)
    lock.publish(url, "headless")
    pids = ", ".join(str(p.pid) for p in supervisor.workers.values())
    print(
        f"llmgw-desktop running headless as {supervisor.count} workers on one port "
        f"(pids {pids})\n  API base URL: {url}/v1\n  health:       {url}/health\n"
        "Stop it with Ctrl+C, SIGTERM or `llmgw-desktop quit`.",
        flush=True,
    )
    notify("READY=1", f"STATUS={supervisor.count} workers serving at {url}")
    healthy = True
    while not supervisor.stopping and healthy:
        supervisor.wake.wait(POLL_S)
        healthy = supervisor.stopping > 0 or supervisor.restart_dead()
    notify("STOPPING=1", "STATUS=stopping: the workers drain")
    print("stopping the workers...", file=sys.stderr, flush=True)
    supervisor.signal_all(signal.SIGTERM)
    clean = supervisor.wait_all()
    lost = [i for i, p in supervisor.workers.items() if p.returncode == EXIT_ROWS_LOST]
    if lost:
        # Each said how many of its rows were lost; the supervisor's code says it too.
        named = ", ".join(str(i) for i in lost)
        print(
            f"llmgw-desktop stopped, but worker(s) {named} lost flight-recorder rows.",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_ROWS_LOST
    print("llmgw-desktop stopped.", file=sys.stderr, flush=True)
    return 0 if clean and healthy else EXIT_FAILURE
