"""Time from launch to /health answering, and idle memory, for headless and the Qt app.

Usage: python bench/startup.py [--runs N] [--idle SECONDS]

Each run starts `python -m llmgw_desktop` in a fresh home (empty config, new database) on a
free loopback port, polls /health every 5 ms until it answers, lets it idle, reads its resident
memory, then stops it with SIGTERM and times the shutdown. The Qt app runs on the offscreen
platform, which is what a machine without a display has; on a real desktop the window system
adds its own cost.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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


def one_run(mode: str, idle_s: float) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env.update(
            LLM_GATEWAY_CONFIG=f"{home}/config.toml",
            LLM_GATEWAY_DATA_DIR=f"{home}/data",
            LLM_GATEWAY_LOG_DIR=f"{home}/log",
            LLM_GATEWAY_HTTP_PORT=str(port),
        )
        args = [sys.executable, "-m", "llmgw_desktop"]
        if mode == "headless":
            args.append("--headless")
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        started = time.perf_counter()
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/health"
        ready = None
        while time.perf_counter() - started < READY_LIMIT_S:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        ready = time.perf_counter() - started
                        break
            except OSError:
                time.sleep(POLL_S)
        if ready is None:
            proc.kill()
            raise RuntimeError(f"{mode} never became ready")
        time.sleep(idle_s)
        memory = rss_mb(proc.pid)
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        stopped = time.perf_counter() - stopping
        if proc.returncode != 0:
            raise RuntimeError(f"{mode} exited {proc.returncode}")
        return ready, memory, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.runs} runs per mode")
    print(
        f"{'mode':<10} {'ready median':>13} {'ready max':>10} {'idle RSS median':>16} "
        f"{'RSS max':>8} {'stop median':>12}"
    )
    for mode in ("headless", "desktop"):
        runs = [one_run(mode, args.idle) for _ in range(args.runs)]
        ready = [r[0] for r in runs]
        memory = [r[1] for r in runs]
        stop = [r[2] for r in runs]
        print(
            f"{mode:<10} {statistics.median(ready) * 1000:>10.0f} ms {max(ready) * 1000:>7.0f} ms "
            f"{statistics.median(memory):>13.1f} MB {max(memory):>5.1f} MB "
            f"{statistics.median(stop) * 1000:>9.0f} ms"
        )


if __name__ == "__main__":
    main()
