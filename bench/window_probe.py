"""What the window probe costs a desktop start on a real X server, as ratios measured in one run.

Usage: python bench/window_probe.py [--runs N] [--display :N]

Before the desktop app creates its window, a child process asks Qt whether it can start its
platform there (`shell/window_probe.py`): Qt aborts a process whose platform plugin cannot load.
The probe runs unless `QT_QPA_PLATFORM` names a platform outright, so the same tree is measured
both ways, launches alternating: Qt's own choice (the probe runs) and `QT_QPA_PLATFORM=xcb`
(the platform Qt would choose anyway, no probe). Figures, as medians of N runs:
- launch to the window's first paint (the log's "window painted") and to /health answering;
- the probe's child alone: wall time and CPU time (user + system), and `python -c pass`.

Without `--display`, an Xvfb is started for the run (`apt-get install xvfb`, and the libraries
of Qt's xcb plugin: the README's "Start it" lists them).
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from startup import LOG_FILE, WINDOW_PAINTED, free_port, gateway_env, logged_at, stop

READY_LIMIT_S = 30.0
POLL_S = 0.005


@contextmanager
def display(name: str | None) -> Iterator[str]:
    """`name`, or a fresh Xvfb's display for the run."""
    if name is not None:
        yield name
        return
    binary = shutil.which("Xvfb")
    if binary is None:
        raise SystemExit("Xvfb is not installed (apt-get install xvfb), or pass --display")
    server = subprocess.Popen(
        [binary, "-displayfd", "1", "-nolisten", "tcp"], stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    ready, _, _ = select.select([server.stdout], [], [], 15)
    number = server.stdout.readline().decode().strip() if ready else ""
    try:
        if not number:
            raise SystemExit("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait()


def desktop_start(x_display: str, *, probe: bool) -> tuple[float, float]:
    """One desktop launch on `x_display`: seconds to the first paint and to /health."""
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        env = gateway_env(home, port) | {"DISPLAY": x_display}
        env.pop("QT_QPA_PLATFORM", None)
        env.pop("WAYLAND_DISPLAY", None)
        if not probe:
            env["QT_QPA_PLATFORM"] = "xcb"  # Qt's own choice here, named: no probe
        launched_at = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ready = _health(port, started)
        painted = logged_at(Path(home) / "log" / LOG_FILE, WINDOW_PAINTED) - launched_at
        stop(proc, "desktop")
        return painted, ready


def _health(port: int, started: float) -> float:
    import urllib.request

    while time.perf_counter() - started < READY_LIMIT_S:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return time.perf_counter() - started
        except OSError:
            time.sleep(POLL_S)
    raise RuntimeError("the desktop never answered /health")


def child_alone(x_display: str) -> tuple[float, float]:
    """The probe's child by itself: (wall, CPU) seconds."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = x_display
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "--window-probe"],
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--display", help="an X display to use (default: a fresh Xvfb)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.runs} runs each")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with display(args.display) as x_display:
        rows: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for round_ in range(args.runs):
            for probe in (True, False) if round_ % 2 == 0 else (False, True):
                rows[probe].append(desktop_start(x_display, probe=probe))
        alone = [child_alone(x_display) for _ in range(args.runs)]
    bare = statistics.median(_bare() for _ in range(args.runs))
    for what, index in (("first paint", 0), ("/health", 1)):
        with_probe = statistics.median(r[index] for r in rows[True])
        without = statistics.median(r[index] for r in rows[False])
        print(
            f"desktop launch to {what:<12} probe {with_probe * 1000:6.0f} ms   no probe "
            f"{without * 1000:6.0f} ms   ratio {with_probe / without:.2f}"
        )
    wall = statistics.median(a[0] for a in alone)
    cpu = statistics.median(a[1] for a in alone)
    print(
        f"the probe's child alone: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU "
        f"(python -c pass: {bare * 1000:.0f} ms, x{wall / bare:.1f})"
    )
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _bare() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
