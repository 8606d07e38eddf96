"""Start-up times and idle memory, each also as a ratio to a bare interpreter in the same run.

Usage: python bench/startup.py [--runs N] [--idle SECONDS] [--memory-only] [--baseline DIR]
       python bench/startup.py --compare-python PYTHON [--cpu-window SECONDS]

Measured, as the median of N runs each:
- `python -c pass`: the baseline every ratio divides by (the machine's speed and load now);
- `llmgw-desktop --version` and `--help` to their exit (goal: 150 ms);
- `llmgw-desktop mcp` relaying to a running headless gateway: launch to the answer of
  `initialize` on its stdout (goal: 300 ms), to a gateway whose data directory has served MCP
  before (it loads the MCP SDK a second after start), and, separately, the first relay ever to
  one that never has (it loads the SDK for that request);
- headless and desktop: launch to /health answering (goal: 700 ms headless), and for the
  desktop also launch to the window's first paint (the timestamp of the log's "window
  painted", written by the window's first paint event; goal 1 s); idle memory (goals: 80 MB
  headless, 150 MB desktop) in a fresh home, and again in a home that served MCP before
  (the SDK loaded: what an editor user's gateway holds);
- with `--compare-python PYTHON` (an interpreter whose path holds another commit's package,
  e.g. `git archive main` unpacked beside a venv sharing this one's dependencies), the
  desktop's first paint, idle memory and idle CPU (percent of one core over `--cpu-window`
  seconds of idling, from /proc) for this tree and that one, launches alternating, the window
  on Overview and on Jobs;
- desktop idle memory with the window left on the Jobs page (no chart shown yet, so neither
  pyqtgraph nor numpy loaded: what a tray-only start holds too) beside the default, the
  window on Overview with its charts shown. `--memory-only` measures just these and the
  headless idle memory.

The package is byte-compiled first, as an installed copy is (pip compiles at install): a source
tree run with PYTHONDONTWRITEBYTECODE would otherwise recompile every module on each launch.
Likewise the app keeps the compiled code of its dataclasses in this user's cache folder
(`shell/code_cache.py`), so every launch after the first measures a start after the first;
point XDG_CACHE_HOME at an empty folder for each launch to time first starts.

Each gateway run starts `python -m llmgw_desktop` in a fresh home (empty config, new database) on a
free loopback port, polls /health every 5 ms until it answers, lets it idle, reads its resident
memory, then stops it with SIGTERM and times the shutdown. The Qt app runs on the offscreen
platform, which is what a machine without a display has; on a real desktop the window system
adds its own cost.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from llmgw_desktop.transports.mcp.sdk_loading import MARK_FILE as MCP_MARK

POLL_S = 0.005
READY_LIMIT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def gateway_env(home: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
    env.update(
        LLM_GATEWAY_CONFIG=f"{home}/config.toml",
        LLM_GATEWAY_DATA_DIR=f"{home}/data",
        LLM_GATEWAY_LOG_DIR=f"{home}/log",
        LLM_GATEWAY_HTTP_PORT=str(port),
    )
    return env


def launch(
    mode: str,
    env: dict[str, str],
    cwd: Path | None = None,
    python: str = sys.executable,
) -> tuple[subprocess.Popen[bytes], float]:
    """Start the gateway (with `python`, in `cwd`); it and the seconds until /health answered."""
    args = [python, "-m", "llmgw_desktop"]
    if mode == "headless":
        args.append("--headless")
    else:
        env = {**env, "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        args,
        env=env,
        cwd=cwd,  # `-m` finds the package of the checkout it runs in first
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{env['LLM_GATEWAY_HTTP_PORT']}/health"
    while time.perf_counter() - started < READY_LIMIT_S:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return proc, time.perf_counter() - started
        except OSError:
            time.sleep(POLL_S)
    proc.kill()
    raise RuntimeError(f"{mode} never became ready")


def stop(proc: subprocess.Popen[bytes], mode: str) -> float:
    stopping = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} exited {proc.returncode}")
    return time.perf_counter() - stopping


def served_mcp_before(home: str) -> None:
    """Make `home` a data directory that served MCP a moment ago."""
    data = Path(home) / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / MCP_MARK).touch()


def one_run(
    mode: str,
    idle_s: float,
    *,
    mcp_before: bool = False,
    page: str | None = None,
    cwd: Path | None = None,
) -> tuple[float, float, float, float]:
    """Launch to /health, launch to the window shown (desktop; else /health), idle RSS, stop.
    `page`: the page the desktop's window opens on (its default is Overview)."""
    with tempfile.TemporaryDirectory() as home:
        if mcp_before:
            served_mcp_before(home)
        if page is not None:
            opens_on(home, page)
        launched_at = time.time()  # wall clock, as the log's timestamps are
        proc, ready = launch(mode, gateway_env(home, free_port()), cwd)
        shown = ready
        if mode == "desktop":
            shown = logged_at(Path(home) / "log" / LOG_FILE, WINDOW_PAINTED) - launched_at
        time.sleep(idle_s)
        memory = rss_mb(proc.pid)
        return ready, shown, memory, stop(proc, mode)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def desktop_idle(
    idle_s: float, cpu_s: float, page: str | None, python: str = sys.executable
) -> tuple[float, float, float]:
    """One desktop launch: launch to the window's first paint, idle RSS, and the CPU it used
    over `cpu_s` seconds of idling (percent of one core), after `idle_s` to settle."""
    with tempfile.TemporaryDirectory() as home:
        if page is not None:
            opens_on(home, page)
        launched_at = time.time()
        proc, _ready = launch("desktop", gateway_env(home, free_port()), python=python)
        shown = logged_at(Path(home) / "log" / LOG_FILE, WINDOW_PAINTED) - launched_at
        time.sleep(idle_s)
        memory = rss_mb(proc.pid)
        before = cpu_seconds(proc.pid)
        time.sleep(cpu_s)
        busy = (cpu_seconds(proc.pid) - before) / cpu_s * 100
        stop(proc, "desktop")
        return shown, memory, busy


def compare_trees(runs: int, idle_s: float, cpu_s: float, other: str, bare_rss: float) -> None:
    """The desktop's first paint, idle memory and idle CPU for this tree and the one `other`
    (a Python whose path holds another commit's package) runs, the launches alternating so
    the machine's load falls on both alike; window on Overview (charts shown) and on Jobs."""
    trees = {"this tree": sys.executable, f"{other}": other}
    for page in (None, "jobs"):
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
        for _ in range(runs):
            for name, python in trees.items():
                results[name].append(desktop_idle(idle_s, cpu_s, page, python))
        where = f"window on {page or 'Overview'}"
        for name, rows in results.items():
            shown = statistics.median(r[0] for r in rows)
            memory = statistics.median(r[1] for r in rows)
            busy = statistics.median(r[2] for r in rows)
            print(
                f"{name[:28]:<28} {where:<20} first paint {shown * 1000:>5.0f} ms  idle RSS "
                f"{memory:>6.1f} MB (x{memory / bare_rss:.1f} bare)  idle CPU {busy:>5.2f} %"
            )


def opens_on(home: str, page: str) -> None:
    """Make the desktop's window open on `page`, as it does for a person who left it there."""
    data = Path(home) / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "ui.ini").write_text(f"[General]\npage={page}\n")


def chart_memory(runs: int, idle_s: float, bare_rss: float) -> None:
    """Desktop idle memory before a chart is shown (window on Jobs) and after (on Overview),
    the two launches alternating so a drift in the machine's state hits both alike."""
    pairs = [
        (one_run("desktop", idle_s, page="jobs")[2], one_run("desktop", idle_s)[2])
        for _ in range(runs)
    ]
    before = statistics.median(b for b, _ in pairs)
    after = statistics.median(a for _, a in pairs)
    for what, memory in (("no chart shown (Jobs)", before), ("charts shown (Overview)", after)):
        label = f"desktop idle RSS, {what}"
        print(f"{label:<44} {memory:>7.1f} MB  x{memory / bare_rss:>5.1f} bare")
    print(f"{'the charts (pyqtgraph, numpy, 4 plots)':<44} {after - before:>+7.1f} MB")


LOG_FILE = "llmgw-desktop.log"
# Logged by the window's first paint event (ui/main_window.py); its timestamp is the figure, so
# a /health poll that answers later does not count against the window.
WINDOW_PAINTED = "window painted"


def logged_at(path: Path, text: str) -> float:
    """The wall-clock time the app logged the first line containing `text` (waits for it)."""
    deadline = time.perf_counter() + READY_LIMIT_S
    while time.perf_counter() < deadline:
        try:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if text in line:
                    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                    return stamp.timestamp()
        except OSError:
            pass
        time.sleep(POLL_S)
    raise RuntimeError(f"{text!r} never appeared in {path}")


def command_time(args: list[str], cwd: Path | None = None) -> float:
    """Seconds from launch to exit of a short command."""
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - started


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def relay_times(runs: int, settle_s: float, *, mcp_before: bool = True) -> list[float]:
    """`llmgw-desktop mcp` relaying to a running headless gateway: launch to the answer of
    `initialize`, as an editor sees it. The gateway settles first (an app an editor relays to
    has long been running). With `mcp_before` its data directory has served MCP before, so it
    loads the SDK in the background a second after start; without, each run starts a fresh
    gateway and times the first relay ever, which waits for the SDK to load."""
    if not mcp_before:
        return [_relay_once_to_a_fresh_gateway(settle_s) for _ in range(runs)]
    times = []
    with tempfile.TemporaryDirectory() as home:
        served_mcp_before(home)
        env = gateway_env(home, free_port())
        gateway, _ = launch("headless", env)
        time.sleep(settle_s)
        try:
            times = [_relay_once(env) for _ in range(runs)]
        finally:
            stop(gateway, "headless")
    return times


def _relay_once_to_a_fresh_gateway(settle_s: float) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = gateway_env(home, free_port())
        gateway, _ = launch("headless", env)
        time.sleep(settle_s)
        try:
            return _relay_once(env)
        finally:
            stop(gateway, "headless")


def _relay_once(env: dict[str, str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    relay = subprocess.Popen(
        [sys.executable, "-m", "llmgw_desktop", "mcp"],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert relay.stdin is not None and relay.stdout is not None
    relay.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    relay.stdin.flush()
    answer = json.loads(relay.stdout.readline())
    elapsed = time.perf_counter() - started
    if "result" not in answer:
        raise RuntimeError(f"initialize failed: {answer}")
    relay.stdin.close()
    relay.wait(timeout=30)
    return elapsed


def compare(baseline: Path, runs: int, idle_s: float) -> None:
    """This checkout against `baseline` (a git worktree of an earlier commit), launch by
    launch in turns (the order swapped each round), each figure also as a ratio to the bare
    interpreter's median over the whole run: the way to compare two commits on a machine
    whose load moves."""
    trees = {"baseline": baseline.resolve(), "current": ROOT}
    figures: dict[tuple[str, str], list[float]] = {}
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        served_mcp_before(home)
        env = gateway_env(home, free_port())
        gateway, _ = launch("headless", env)  # the gateway each relay relays to
        time.sleep(idle_s + 1.5)  # settled, its MCP SDK loaded
        try:
            for round_ in range(runs):
                order = list(trees.items())
                if round_ % 2:
                    order.reverse()
                for label, tree in order:
                    bare.append(command_time([sys.executable, "-c", "pass"]))
                    me = [sys.executable, "-m", "llmgw_desktop"]
                    for what, seconds in (
                        ("--version", command_time([*me, "--version"], tree)),
                        ("--help", command_time([*me, "--help"], tree)),
                        ("relay: initialize answered", _relay_once(env, tree)),
                        ("headless: launch to /health", one_run("headless", 0.2, cwd=tree)[0]),
                        ("desktop: launch to first paint", one_run("desktop", 0.2, cwd=tree)[1]),
                    ):
                        figures.setdefault((what, label), []).append(seconds)
        finally:
            stop(gateway, "headless")
    base = statistics.median(bare)
    print(f"bare interpreter median {base * 1000:.0f} ms over {len(bare)} runs")
    print(f"{'what':<32} {'baseline':>18} {'current':>18}")
    for what in dict.fromkeys(w for w, _ in figures):
        cells = []
        for label in trees:
            median = statistics.median(figures[(what, label)])
            cells.append(f"{median * 1000:6.0f} ms x{median / base:4.1f}")
        print(f"{what:<32} {cells[0]:>18} {cells[1]:>18}")


ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument(
        "--memory-only", action="store_true", help="only the idle memory figures (no timings)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of an earlier commit: compare start-up times with it, in turns",
    )
    parser.add_argument(
        "--compare-python",
        help="the desktop's first paint, idle memory and idle CPU against the package this "
        "Python imports (another commit's tree on its path; run from outside this tree)",
    )
    parser.add_argument("--cpu-window", type=float, default=10.0, help="seconds of idle CPU")
    args = parser.parse_args()
    if args.baseline:
        compileall.compile_dir(args.baseline / "llmgw_desktop", quiet=1)
        compileall.compile_dir(ROOT / "llmgw_desktop", quiet=1)
        print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}, {args.runs} runs")
        compare(args.baseline, args.runs, args.idle)
        print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.runs} runs each, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "llmgw_desktop", quiet=1)
    me = [sys.executable, "-m", "llmgw_desktop"]
    bare = statistics.median(command_time([sys.executable, "-c", "pass"]) for _ in range(args.runs))
    bare_rss = _bare_rss()

    def row(what: str, seconds: list[float], goal_ms: float) -> None:
        median = statistics.median(seconds)
        print(
            f"{what:<34} {median * 1000:>7.0f} ms  max {max(seconds) * 1000:>6.0f} ms  "
            f"x{median / bare:>5.1f} bare  (goal {goal_ms:.0f} ms)"
        )

    print(f"{'python -c pass (the baseline)':<34} {bare * 1000:>7.0f} ms  RSS {bare_rss:.1f} MB")
    if args.compare_python is not None:
        compare_trees(args.runs, args.idle, args.cpu_window, args.compare_python, bare_rss)
        print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    if args.memory_only:
        headless = statistics.median(one_run("headless", args.idle)[2] for _ in range(args.runs))
        print(f"{'headless idle RSS':<44} {headless:>7.1f} MB  x{headless / bare_rss:>5.1f} bare")
        chart_memory(args.runs, args.idle, bare_rss)
        print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    row("--version", [command_time([*me, "--version"]) for _ in range(args.runs)], 150)
    row("--help", [command_time([*me, "--help"]) for _ in range(args.runs)], 150)
    row("mcp relay: initialize answered", relay_times(args.runs, args.idle), 300)
    first = relay_times(min(args.runs, 3), args.idle, mcp_before=False)
    row("mcp relay: first ever (SDK loads)", first, 300)
    goals = {"headless": (700, 80), "desktop": (1000, 150)}
    for mode in ("headless", "desktop"):
        runs = [one_run(mode, args.idle) for _ in range(args.runs)]
        if mode == "desktop":
            row("desktop: launch to first paint", [r[1] for r in runs], goals[mode][0])
            row("desktop: launch to /health", [r[0] for r in runs], goals[mode][0])
        else:
            row("headless: launch to /health", [r[0] for r in runs], goals[mode][0])
        memory = statistics.median(r[2] for r in runs)
        print(
            f"{mode + ': idle RSS':<34} {memory:>7.1f} MB  max {max(r[2] for r in runs):>6.1f} MB  "
            f"x{memory / bare_rss:>5.1f} bare  (goal {goals[mode][1]} MB)"
        )
        stopping = statistics.median(r[3] for r in runs) * 1000
        print(f"{mode + ': stop on SIGTERM':<34} {stopping:>7.0f} ms")
        served = [one_run(mode, args.idle, mcp_before=True)[2] for _ in range(min(args.runs, 3))]
        memory = statistics.median(served)
        print(
            f"{mode + ': idle RSS, MCP served before':<34} {memory:>7.1f} MB  "
            f"max {max(served):>6.1f} MB  x{memory / bare_rss:>5.1f} bare"
        )
    chart_memory(args.runs, args.idle, bare_rss)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _bare_rss() -> float:
    """A bare interpreter's resident memory, the floor of every process above."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    time.sleep(0.5)
    try:
        return rss_mb(proc.pid)
    finally:
        proc.wait()


if __name__ == "__main__":
    main()
