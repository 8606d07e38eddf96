"""This gateway beside its peers, measured in one run against the same scripted upstream:
LiteLLM's proxy (PyPI), Portkey's gateway and claude-code-router (npm).

Usage: python bench/peers.py [--calls 500] [--seconds 8] [--concurrency 16] [--keep DIR]
       [--litellm litellm[proxy]] [--portkey @portkey-ai/gateway]
       [--ccr @musistudio/claude-code-router] [--only ours,litellm,portkey,ccr]

The peers are installed into a temporary folder each run (LiteLLM into a virtual environment of
its own with pip, the two Node gateways with npm; `--keep DIR` installs into DIR and reuses it
next time), so nothing of theirs touches this project's environment. Name a version with the
package options (`--litellm 'litellm[proxy]==1.80.0'`). Every gateway then runs as its own
process in front of the zero-latency upstream of `bench/gateway_overhead.py`:

- OpenAI Chat, same dialect: ours (`--headless`, defaults: recorder and metrics on), LiteLLM
  (one `gpt-4o` entry pointing at the upstream), Portkey (the upstream as its custom host);
- an Anthropic client to the OpenAI upstream (translated both ways): ours and
  claude-code-router (one provider, its default route).

For each: the added latency (median of paired differences, one request at a time, direct and
through each gateway in turn), throughput with `--concurrency` clients for `--seconds`, both as
ratios to the direct call measured in the same run, and the gateway's resident memory (the
process and its children) after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import gateway_overhead as bench
import psutil

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_KEY = "sk-bench-key"
# LiteLLM's proxy refuses to start without a master key; its clients send it (a random one).
LITELLM_MASTER_KEY = "sk-bench-Fq3vK8pZr2mWx7LtN4cYh9JdB6sEa1Ug"
READY_S = 180.0


@dataclass
class Peer:
    """One gateway under test: how to reach it and what a request to it looks like."""

    label: str
    url: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    anthropic: bool = False  # an Anthropic client (the body in Anthropic's shape)

    @property
    def key(self) -> str:
        return f"{self.label}/{'anthropic' if self.anthropic else 'openai'}"


# -- installing ---------------------------------------------------------------------------


def install(folder: Path, args: argparse.Namespace, wanted: set[str]) -> None:
    """The peers, into `folder` (skipped where already there)."""
    venv = folder / "litellm"
    if "litellm" in wanted and not (venv / "bin" / "litellm").exists():
        print(f"installing {args.litellm} from PyPI ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", args.litellm], check=True)
    node = folder / "node"
    packages = [p for name, p in (("portkey", args.portkey), ("ccr", args.ccr)) if name in wanted]
    if packages and not (node / "node_modules").exists():
        print(f"installing {', '.join(packages)} from npm ...", flush=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(node),
                "--no-fund",
                "--no-audit",
                "--loglevel=error",
                *packages,
            ],
            check=True,
        )


def versions(folder: Path) -> dict[str, str]:
    """The installed version of each peer."""
    found: dict[str, str] = {}
    pip = folder / "litellm" / "bin" / "pip"
    if pip.exists():
        shown = subprocess.run([str(pip), "show", "litellm"], capture_output=True, text=True)
        for line in shown.stdout.splitlines():
            if line.startswith("Version:"):
                found["litellm"] = line.split(":", 1)[1].strip()
    for label, package in (
        ("portkey", "@portkey-ai/gateway"),
        ("ccr", "@musistudio/claude-code-router"),
    ):
        manifest = folder / "node" / "node_modules" / package / "package.json"
        if manifest.exists():
            found[label] = json.loads(manifest.read_text())["version"]
    return found


# -- starting -----------------------------------------------------------------------------


def _spawn(
    argv: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, stopped whole
    )


def start_ours(home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    port = bench.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
    env |= bench._home_env(home / "ours", port) | {
        "LLM_GATEWAY_DETECT_LOCAL": "false",
        "LLM_GATEWAY_MASTER_KEY": "0" * 64,
        "OPENAI_API_KEY": UPSTREAM_KEY,
        "OPENAI_BASE_URL": upstream,
    }
    process = _spawn([sys.executable, "-m", "llmgw_desktop", "--headless"], env, cwd=ROOT)
    return process, f"http://127.0.0.1:{port}"


def start_litellm(folder: Path, home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    port = bench.free_port()
    config = home / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o\n"
        f"      api_base: {upstream}\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    env = dict(os.environ) | {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price map at start
        "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY,
        "HOME": str(home),
    }
    argv = [str(folder / "litellm" / "bin" / "litellm"), "--config", str(config)]
    process = _spawn([*argv, "--host", "127.0.0.1", "--port", str(port)], env)
    return process, f"http://127.0.0.1:{port}"


def start_portkey(folder: Path, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = bench.free_port()
    script = folder / "node" / "node_modules" / "@portkey-ai" / "gateway" / "build"
    entry = next(p for p in (script / "start-server.js", script / "start-server.mjs") if p.exists())
    process = _spawn(["node", str(entry), f"--port={port}"], dict(os.environ) | {"HOME": str(home)})
    return process, f"http://127.0.0.1:{port}"


def start_ccr(folder: Path, home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    port = bench.free_port()
    config = home / ".claude-code-router" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps(
            {
                "HOST": "127.0.0.1",
                "PORT": port,
                "APIKEY": "",
                "LOG": False,
                "Providers": [
                    {
                        "name": "bench",
                        "api_base_url": f"{upstream}/chat/completions",
                        "api_key": UPSTREAM_KEY,
                        "models": ["gpt-4o"],
                    }
                ],
                "Router": {"default": "bench,gpt-4o"},
            }
        )
    )
    cli = (
        folder / "node" / "node_modules" / "@musistudio" / "claude-code-router" / "dist" / "cli.js"
    )
    process = _spawn(["node", str(cli), "start"], dict(os.environ) | {"HOME": str(home)})
    return process, f"http://127.0.0.1:{port}"


def wait_port(url: str, process: subprocess.Popen[bytes], label: str) -> None:
    """Until something answers HTTP at `url` (any status), or the process failed (a launcher
    that hands the server to a background process of its own and exits 0 is waited for)."""
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if process.poll() not in (None, 0):
            raise SystemExit(f"{label} exited with {process.returncode} before it answered")
        try:
            bench.wait_ready(url + "/", timeout_s=1.0)
            return
        except SystemExit:
            continue
    raise SystemExit(f"{label} did not answer at {url} within {READY_S:.0f} s")


def listener(url: str) -> psutil.Process | None:
    """The process listening on `url`'s port (a launcher may have handed the server on)."""
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return psutil.Process(conn.pid) if conn.pid else None
    return None


def rss_mb(url: str) -> float:
    """Resident memory of the server listening at `url` and everything it started."""
    root = listener(url)
    if root is None:
        return float("nan")
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for each in tree:
        try:
            total += each.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


# -- measuring ----------------------------------------------------------------------------


async def one(session: aiohttp.ClientSession, url: str, body: dict, headers: dict) -> float:
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as response:
        data = await response.read()
    if response.status != 200 or not data:
        raise SystemExit(f"{url} answered {response.status}: {data[:300]!r}")
    return time.perf_counter() - started


def _request_of(peer: Peer | None) -> tuple[dict, dict, str]:
    if peer is None:
        return bench.REQUEST, {"Authorization": f"Bearer {UPSTREAM_KEY}"}, ""
    body = bench.as_anthropic(bench.REQUEST) if peer.anthropic else bench.REQUEST
    path = "/v1/messages" if peer.anthropic else "/v1/chat/completions"
    return body, peer.headers, path


async def latency(direct: str, peers: list[Peer], calls: int) -> dict[str, float]:
    """Median added latency of each peer over the direct call (paired), and the direct's own."""
    added: dict[str, list[float]] = {p.key: [] for p in peers}
    own: list[float] = []
    connector = aiohttp.TCPConnector(limit=1)
    body, headers, _ = _request_of(None)
    async with aiohttp.ClientSession(connector=connector) as session:
        for round_ in range(calls + 30):
            base = await one(session, direct, body, headers)
            for peer in peers:
                p_body, p_headers, path = _request_of(peer)
                took = await one(session, peer.url + path, p_body, p_headers)
                if round_ >= 30:  # the first rounds warm every path
                    added[peer.key].append(took - base)
            if round_ >= 30:
                own.append(base)
    result = {label: statistics.median(values) for label, values in added.items()}
    result["direct"] = statistics.median(own)
    return result


async def throughput(url: str, body: dict, headers: dict, seconds: float, clients: int) -> float:
    connector = aiohttp.TCPConnector(limit=clients)
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await one(session, url, body, headers)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - started)


async def measure(direct: str, peers: list[Peer], args: argparse.Namespace) -> None:
    print(f"latency: {args.calls} paired rounds, one request at a time", flush=True)
    added = await latency(direct, peers, args.calls)
    base = added["direct"]
    body, headers, _ = _request_of(None)
    direct_rate = await throughput(direct, body, headers, args.seconds, args.concurrency)
    print("\n| gateway | client | added latency (x direct) | requests/s (x direct) | memory |")
    print("|---|---|---|---|---|")
    print(f"| direct call | OpenAI | {base * 1000:.2f} ms (own) | {direct_rate:,.0f} | |")
    for peer in peers:
        p_body, p_headers, path = _request_of(peer)
        rate = await throughput(peer.url + path, p_body, p_headers, args.seconds, args.concurrency)
        extra = added[peer.key]
        client = "Anthropic" if peer.anthropic else "OpenAI"
        print(
            f"| {peer.label} | {client} | +{extra * 1000:.2f} ms ({extra / base:.2f}) | "
            f"{rate:,.0f} ({rate / direct_rate:.2f}) | {rss_mb(peer.url):.0f} MB |",
            flush=True,
        )


@contextmanager
def folder_for(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    made = Path(tempfile.mkdtemp(prefix="llmgw-peers-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="install the peers here and reuse them")
    parser.add_argument("--litellm", default="litellm[proxy]", help="the pip requirement")
    parser.add_argument("--portkey", default="@portkey-ai/gateway", help="the npm package")
    parser.add_argument("--ccr", default="@musistudio/claude-code-router", help="the npm package")
    parser.add_argument("--only", default="ours,litellm,portkey,ccr")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    with folder_for(args.keep) as folder, tempfile.TemporaryDirectory() as home_dir:
        install(folder, args, wanted)
        home = Path(home_dir)
        up_port = bench.free_port()
        upstream = f"http://127.0.0.1:{up_port}/v1"
        processes = [
            _spawn(
                [sys.executable, bench.__file__, "--serve-upstream", str(up_port)], dict(os.environ)
            )
        ]
        peers: list[Peer] = []
        try:
            bench.wait_ready(f"http://127.0.0.1:{up_port}/")
            starters = {
                "ours": lambda: start_ours(home, upstream),
                "litellm": lambda: start_litellm(folder, home, upstream),
                "portkey": lambda: start_portkey(folder, home),
                "ccr": lambda: start_ccr(folder, home, upstream),
            }
            for name in ("ours", "litellm", "portkey", "ccr"):
                if name not in wanted:
                    continue
                process, url = starters[name]()
                processes.append(process)
                wait_port(url, process, name)
                if name == "ours":
                    peers.append(Peer("llmgw-desktop", url, process))
                    peers.append(Peer("llmgw-desktop", url, process, anthropic=True))
                elif name == "litellm":
                    auth = {"Authorization": f"Bearer {LITELLM_MASTER_KEY}"}
                    peers.append(Peer("LiteLLM", url, process, auth))
                elif name == "portkey":
                    headers = {
                        "Authorization": f"Bearer {UPSTREAM_KEY}",
                        "x-portkey-provider": "openai",
                        "x-portkey-custom-host": upstream,
                    }
                    peers.append(Peer("Portkey", url, process, headers))
                else:
                    peers.append(Peer("claude-code-router", url, process, anthropic=True))
            found = versions(folder)
            print(
                f"{time.strftime('%Y-%m-%d %H:%M')}, python {sys.version.split()[0]}, "
                f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; peers: "
                + ", ".join(f"{k} {v}" for k, v in found.items())
            )
            asyncio.run(measure(f"{upstream}/chat/completions", peers, args))
        finally:
            for peer in peers:  # a server a launcher handed on is not in its group
                server = listener(peer.url)
                if server is not None and server.pid != peer.process.pid:
                    server.terminate()
            for process in reversed(processes):
                stop(process)


if __name__ == "__main__":
    main()
