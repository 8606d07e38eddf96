"""The stage the app is photographed on: a display, a system tray, two scripted upstreams, and
the app's config and environment, as a user's machine would have them.

Used by `screenshots.py` (which puts the repository on `sys.path`): Xvfb on a free display, with
openbox and trayer where installed so the app has a real tray; the scripted upstreams on their own
thread; a `config.toml` with a bearer token, OAuth clients that wait for consent, project grants
and the reference MCP servers; the providers' base URLs in the environment, and their keys and
a coding CLI given once the app has been seen with nothing to answer with (`give_providers`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _screens_common import (
    BEARER,
    MCP_SERVERS_BIN,
    OAUTH_CLIENTS,
    OAUTH_REDIRECT,
    OAUTH_SECRET,
    PROJECTS,
    RESTING_PROVIDER,
    ROOT,
    SCREEN,
    STUCK_AFTER_MS,
    TRAY_HEIGHT,
    TRAY_HOST_WAIT_S,
    WORKLOAD_TIMEOUT_S,
    XVFB_START_S,
)

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.api import LOCAL_CALLER, Engine
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.vendor_path import path_without_vendor_clis


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display; the process and the display name.

    Raises:
        SystemExit: Xvfb is not installed or did not start.
    """
    binary = shutil.which("Xvfb")
    if binary is None:
        raise SystemExit("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
    # -displayfd: Xvfb picks a free display number and writes it (to stdout) once it is ready.
    proc = subprocess.Popen(
        [binary, "-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], XVFB_START_S)
    number = proc.stdout.readline().decode().strip() if ready else ""
    if not number:
        proc.kill()
        raise SystemExit("Xvfb did not start")
    return proc, f":{number}"


def start_tray_host(display: str) -> list[subprocess.Popen[bytes]]:
    """A window manager and a system tray on `display` (openbox, trayer), or none when either
    is not installed; the processes, to stop at the end."""
    openbox, trayer = shutil.which("openbox"), shutil.which("trayer")
    if openbox is None or trayer is None:
        print("no openbox or trayer: the app runs without a system tray")
        return []
    environ = {**os.environ, "DISPLAY": display}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": environ}
    tray = [trayer, "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width"]
    tray += ["120", "--height", str(TRAY_HEIGHT), "--transparent", "false", "--tint", "0x303030"]
    started = [subprocess.Popen([openbox], **quiet), subprocess.Popen(tray, **quiet)]  # type: ignore[call-overload]
    # Qt asks once, at start, whether there is a tray: the app must not start before trayer
    # has its window up (it was not, and the app came up without a tray).
    deadline = time.monotonic() + TRAY_HOST_WAIT_S
    while time.monotonic() < deadline:
        listing = subprocess.run(
            ["xwininfo", "-root", "-children"], env=environ, capture_output=True, text=True
        )
        if '"trayer"' in listing.stdout:
            return started
        time.sleep(0.1)
    print("trayer did not show its window: the app may run without a system tray")
    return started


class Upstreams(threading.Thread):
    """The two scripted upstreams, on their own loop in a thread, so they are up before the
    app reads its environment and keep answering while the app's loop is busy."""

    def __init__(self) -> None:
        super().__init__(name="scripted-upstreams", daemon=True)
        self.ready = threading.Event()
        self.api_url = ""
        self.cli_url = ""
        self.cli: ScriptedUpstream | None = None
        self.api: ScriptedUpstream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        # The CLI jobs: two answer after a moment, the third keeps running while the pages are
        # taken, and anything after those fails (a failed job on the jobs page).
        cli_replies = (Reply.slow(0.8), Reply.slow(1.2), Reply.slow(WORKLOAD_TIMEOUT_S * 5))
        async with (
            ScriptedUpstream(default=Reply.ok(delay_s=0.02)) as api,
            ScriptedUpstream(default=Reply.error(500)) as cli_upstream,
        ):
            # A few overloaded answers first: the gateway moves on to the next target.
            api.script(*[Reply.error(529)] * 3, *[Reply.error(503)] * 3)
            cli_upstream.script(*cli_replies)
            self.api_url, self.cli_url, self.cli = api.base_url, cli_upstream.base_url, cli_upstream
            self.api = api
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
            self.ready.set()
            await self._stopping.wait()

    def script_api(self, *replies: Reply) -> None:
        """Queue replies on the API upstream, from the app's thread."""
        api = self.api
        assert self._loop is not None and api is not None
        done = threading.Event()

        def queue() -> None:
            api.script(*replies)
            done.set()

        self._loop.call_soon_threadsafe(queue)
        if not done.wait(5):
            raise RuntimeError("the API upstream did not take the replies")

    def hold_streams(self, held: bool) -> None:
        """Stop the API upstream's streamed answers halfway (`held`), or let them go on."""
        api = self.api
        assert self._loop is not None and api is not None
        done = threading.Event()

        def gate() -> None:
            if held:
                api.stream_gate = asyncio.Event()
            elif api.stream_gate is not None:
                api.stream_gate.set()
                api.stream_gate = None
            done.set()

        self._loop.call_soon_threadsafe(gate)
        if not done.wait(5):
            raise RuntimeError("the API upstream did not take the gate")

    def cli_requests(self) -> int:
        return 0 if self.cli is None else len(self.cli.llm_requests)

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(5)


def refused_url() -> str:
    """A base URL on a loopback port nothing listens on: each connect is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def write_config(path: Path, workspace: Path, resting_url: str = "") -> None:
    """A config.toml with a static bearer token, two OAuth clients whose sign-ins wait for
    consent at the desk (the consent dialog pictured is a real one; `sign_in` approves the
    workload's own) and the workspace token-holding callers' CLI jobs run in; with
    `resting_url`, `RESTING_PROVIDER`'s base URL."""
    digest = hashlib.sha256(OAUTH_SECRET.encode()).hexdigest()
    workspace.mkdir(parents=True, exist_ok=True)
    lines = [
        "[workspaces]",
        f'registry = {{ demo = "{workspace}" }}',
        'default = "demo"',
        f'allowed_roots = ["{workspace.parent}"]',
        "",
        "[http]",
        f'auth_token = "{BEARER}"',
        "",
        "[http.oauth]",
        "enabled = true",
        "require_consent = true",
        "",
        "[cache]",
        "enabled = true",
    ]
    # The OAuth clients work in the projects the traffic names, as an operator would grant
    # them (without a grant each of their project calls is refused 403 `forbidden`).
    grantees = ", ".join(f'"oauth:{client_id}"' for client_id in OAUTH_CLIENTS)
    lines += ["", "[projects.grants]"]
    lines += [f"{project} = [{grantees}]" for project in PROJECTS if project]
    for client_id, name in OAUTH_CLIENTS.items():
        lines += [
            "",
            f"[http.oauth.clients.{client_id}]",
            f'name = "{name}"',
            f'redirect_uris = ["{OAUTH_REDIRECT}"]',
            f'client_secret_sha256 = "{digest}"',
            'scopes = "mcp"',
        ]
    lines += mcp_server_tables(workspace)
    if resting_url:
        lines += ["", f"[gateway.providers.{RESTING_PROVIDER}]", f'base_url = "{resting_url}"']
        lines += [f'api_key = "{RESTING_PROVIDER}-screenshot-key"']
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def mcp_server_tables(workspace: Path) -> list[str]:
    """The user's own MCP servers behind the gateway (the MCP servers page shows them): the
    reference servers `.ci/mcp-servers` installs, over stdio; none where they are not installed."""
    lines: list[str] = []
    servers = {
        "everything": (MCP_SERVERS_BIN / "mcp-server-everything", []),
        "files": (MCP_SERVERS_BIN / "mcp-server-filesystem", [str(workspace)]),
    }
    for name, (command, args) in servers.items():
        if command.exists():
            lines += ["", f"[mcp.servers.{name}]", f'command = "{command}"']
            lines.append("args = [" + ", ".join(f'"{arg}"' for arg in args) + "]")
    return lines


def prepare_environment(home: Path, upstreams: Upstreams) -> None:
    """The app's settings and the providers' base URLs, as a user's shell has them (no key and
    no CLI yet: `give_providers`)."""
    for name in list(os.environ):
        if name.startswith("LLM_GATEWAY_"):
            del os.environ[name]
    for spec in API_PROVIDERS:
        for variable in (*spec.key_env, spec.base_url_env):
            if variable:
                os.environ.pop(variable, None)
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        os.environ.pop("QT_QPA_PLATFORM", None)  # the real X11 platform, on Xvfb
    mirrors = home / "path-without-vendor-clis"
    os.environ |= {
        # This machine's PATH without its vendor CLIs, as the test suite runs the app: a
        # developer's own `claude` would answer, and the no-provider state would never come.
        "PATH": path_without_vendor_clis(lambda: _new_folder(mirrors)),
        "LLM_GATEWAY_STUCK_AFTER_MS": str(STUCK_AFTER_MS),
        "LLM_GATEWAY_CONFIG": str(home / "config" / "config.toml"),
        "LLM_GATEWAY_DATA_DIR": str(home / "data"),
        "LLM_GATEWAY_LOG_DIR": str(home / "log"),
        "LLM_GATEWAY_HTTP_PORT": "0",
        "LLM_GATEWAY_DETECT_LOCAL": "false",
        "LLM_GATEWAY_CLI_PATH": str(home / ".local" / "bin"),
        # A home of its own, as a person's: paths under it read "~/…", and nothing of this
        # machine's own home (its CLIs' logins, its settings) shows.
        "HOME": str(home),
        "LLM_GATEWAY_RETRY_ATTEMPTS": "1",
        # The keys are stored in the vault once the no-provider state is taken
        # (`give_providers`); where each provider is reached is set from the start.
        "OPENAI_BASE_URL": upstreams.api_url + "/v1",
        "ANTHROPIC_BASE_URL": upstreams.api_url,
        "GOOGLE_GEMINI_BASE_URL": upstreams.api_url,
        "VIBE_HOME": str(home / "vibe"),
        "VIBE_TEST_BASE_URL": upstreams.cli_url,
        "LLMGW_TEST_PYTHON": sys.executable,
        # Never this machine's keyring: the vault keeps its key in the temporary data folder.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    # The CLI path, empty until `give_providers` installs the Mistral Vibe stand-in.
    (home / ".local" / "bin").mkdir(parents=True, exist_ok=True)


def _new_folder(parent: Path) -> Path:
    """An empty folder of its own under `parent`."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent))


# The keys a person would have, stored in the vault after the no-provider state is taken.
PROVIDER_KEYS = (
    ("openai", "sk-screenshot-openai"),
    ("anthropic", "sk-ant-screenshot"),
    ("google", "gemini-screenshot"),
)


async def give_providers(engine: Engine, home: Path) -> None:
    """What a person does after the first look at an app that has nothing to answer with:
    store their keys (in the vault, used at once) and install a coding CLI (the Mistral Vibe
    stand-in where pipx or uv put a person's, ~/.local/bin/vibe, logged in as a person's is:
    its own .env, so it is not shown "not logged in" beside the calls it answered)."""
    for provider, key in PROVIDER_KEYS:
        await engine.vault.store_key(LOCAL_CALLER, provider, key)
    vibe = home / ".local" / "bin" / "vibe"
    stand_in = ROOT / "tests" / "fakes" / "fake_vibe.py"
    vibe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{stand_in}" "$@"\n', encoding="utf-8")
    vibe.chmod(0o755)
    (home / "vibe").mkdir(parents=True, exist_ok=True)
    (home / "vibe" / ".env").write_text("MISTRAL_API_KEY=screenshot-vibe\n", encoding="utf-8")
    await engine.providers.cli_statuses(refresh=True)  # found now, not at the next look
    answering = await engine.answering.check()
    print(f"providers given: {', '.join(f'{p} ({n})' for p, n in answering.by_provider)}")
