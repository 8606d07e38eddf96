"""Screenshots of every dashboard page for the README, from the real app under Xvfb.

Usage: python scripts/screenshots.py [--out docs/images] [--requests 300] [--pages a,b]

What runs, all on this machine and offline:
- Xvfb, a virtual X server (apt-get install xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1:
  Qt 6.5+'s X11 platform needs the three libraries), so the app uses its real X11 platform;
- the reference MCP servers `.ci/mcp-servers` installs (server-everything, server-filesystem),
  where they are installed, behind the gateway's /mcp for the MCP servers page;
- two scripted upstreams (tests/fakes/upstream) on loopback: one plays OpenAI, Anthropic and
  Gemini for the API providers, the other answers the Mistral Vibe stand-in CLI
  (tests/fakes/fake_vibe.py; the real vibe needs Python 3.12), so jobs are real CLI jobs;
- the app itself, exactly what `python -m llmgw_desktop` runs (`shell/cli/main.py`), with its
  config, data and logs in a temporary folder and the provider keys and base URLs in its
  environment.

Once the window is up, a driver on the app's own loop sends the workload through the gateway's
HTTP front door (a few hundred chat requests from several callers and projects, streamed and
not, some of them failing over; jobs through the CLI bridge, one left running), then shows each
page in `MainWindow.pages` (whatever pages are registered when it runs, tabs included) at
1024x700 and at 1920x1080, in the light and the dark look, and saves `QWidget.grab()` as
<out>/<page key>-<look>-<W>x<H>.png. The first-run guide, which a fresh data folder shows over
the window, is taken first (state `first_run`: its CLI step, then its key step with a pasted
key tested), then skipped. Then the states a review checks (each also a --pages name): `stuck`
(the Jobs page with the job left running marked stuck: it is silent past
`jobs.stuck_after_ms`, set to 5 s here; taken before the pages, since its idle timeout ends it)
and `dialogs` (a risky call's approval and an OAuth client's consent, the desk's two questions,
and the dialog a new gateway key ends on, as dialog-*.png). After the pages, `replay` (user
job 6): a request to Anthropic kept by body capture, its Flight recorder detail with Replay on…,
and the Playground replaying it on OpenAI's model beside the recorded answer
(recorder-replay.png, playground-replay.png).
After the pages, the failure state (issue 25): the API upstream answers the next
`FAILED_CALLS` Anthropic requests with 500s, and Overview (its Failing line, the errors in the
totals and on the request chart, the health table's red row, errors and latency) is saved as
`overview-failing.png` and `overview-failing-health.png`. The budgets include a sub-cent dollar
budget, so the Budgets page shows amounts below a cent.
Then it stops the app the way SIGTERM does. A full run into docs/images also rewrites the
gallery in README.md's "Screens" section (between its markers) to show exactly those images.
With openbox and trayer installed (apt-get install openbox trayer), both run on the Xvfb
display, so the app has a real system tray: after the failure state the tray's corner of the
screen, with its red icon and its menu open, is saved as `tray-failing.png`. Without them the
app starts without a tray, and the run says so.
With --offscreen (or no Xvfb installed) Qt's offscreen platform stands in for X11: no tray.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
MCP_SERVERS_BIN = ROOT / ".mcp-servers" / "node_modules" / ".bin"
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from llmgw_desktop.config.api_catalog import API_PROVIDERS  # noqa: E402
from llmgw_desktop.engine.api import (  # noqa: E402
    LOCAL_CALLER,
    KeyScope,
    KeySpec,
    MadeKey,
)
from llmgw_desktop.engine.calls.approval import ApprovalRequest  # noqa: E402
from llmgw_desktop.shell.app import DesktopApp  # noqa: E402
from llmgw_desktop.shell.cli import main as cli  # noqa: E402
from llmgw_desktop.ui.decision_dialog import DecisionDialog  # noqa: E402
from llmgw_desktop.ui.first_run import FirstRunGuide  # noqa: E402
from llmgw_desktop.ui.main_window import MainWindow  # noqa: E402
from llmgw_desktop.ui.pages.mcp_servers import McpServersPage  # noqa: E402
from llmgw_desktop.ui.pages.playground import PlaygroundPage  # noqa: E402
from llmgw_desktop.ui.qt import QApplication, QSystemTrayIcon, Qt, QTimer  # noqa: E402
from llmgw_desktop.ui.theme import apply_theme  # noqa: E402
from llmgw_desktop.ui.tray import TrayIcon  # noqa: E402
from tests.fakes.upstream import Reply, ScriptedUpstream  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "images"
README = ROOT / "README.md"
README_START = "<!-- screens: written by scripts/screenshots.py -->"
README_END = "<!-- /screens -->"
SCREEN = "2048x1280x24"
# Every page is taken at a laptop's smallest window and a full-HD one, in both looks.
SIZES = ((1024, 700), (1920, 1080))
LOOKS = (("light", Qt.ColorScheme.Light), ("dark", Qt.ColorScheme.Dark))
WINDOW_SIZE = SIZES[0]
XVFB_START_S = 10.0
WINDOW_WAIT_S = 30.0
PAGE_SETTLE_S = 1.5  # a page refreshes when shown; give its engine queries time to land
WORKLOAD_TIMEOUT_S = 120.0
JOB_TIMEOUT_S = 60.0
CONCURRENCY = 16
WAVES = 6  # spread over time, so the live charts have a shape
WAVE_PAUSE_S = 2.0
FIRST_RUN = "first_run"  # the guide's state in --pages and its images' names
STUCK, DIALOGS, REPLAY = "stuck", "dialogs", "replay"  # the review states in --pages
REPLAY_MODEL = "gpt-4o-mini"  # a request to Anthropic replayed on OpenAI's model
STUCK_AFTER_MS = 5000  # the job left running is silent: stuck well before the pages are taken
GUIDE_KEY = "sk-screenshot-pasted-key-0123456789"  # tested in the guide, never stored
CALLERS = ("claude-code", "cursor", "codex", "aider")
PROJECTS = ("api", "web", None)
MODELS = ("gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash")
UNCONFIGURED_MODEL = "mistral-large-latest"  # no key set: refused, as a user would see it
CLI_MODEL = "mistral-cli/devstral-medium-latest"
BEARER = "screens-" + secrets.token_urlsafe(32)
# OAuth clients configured for the Clients page; each signs in once, so it has a live grant.
OAUTH_CLIENTS = {"laptop-editor": "Laptop editor", "ci-runner": "CI runner"}
OAUTH_REDIRECT = "http://127.0.0.1:9/callback"
OAUTH_SECRET = secrets.token_urlsafe(32)
FAILED_CALLS = 8  # consecutive upstream 500s for the failure state
FAILING_MODEL = "claude-sonnet-4-5"
SUB_CENT_BUDGET = {"scope": "agent=claude-code", "unit": "usd", "period": "daily", "hard": 0.003}
PROMPTS = (
    "Summarise this diff in one line.",
    "Write a unit test for parse_header().",
    "Why does this query take 3 seconds?",
    "Rename the variable to something clearer.",
)


TRAY_HOST_WAIT_S = 10.0
TRAY_HEIGHT = 32  # trayer's strip, at the top right of the screen
TRAY_MARGIN = 24  # px of screen saved around the tray's icon and its open menu


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


async def capture_tray(window: MainWindow, out: Path) -> list[tuple[str, Path]]:
    """The tray in the failure state: its icon and its menu open, as the screen shows them."""
    tray = _find_tray()
    if tray is None or not QSystemTrayIcon.isSystemTrayAvailable():
        available = QSystemTrayIcon.isSystemTrayAvailable()
        print(f"no tray picture: the app has no tray (a system tray on the display: {available})")
        return []
    await until(lambda: tray.icon.geometry().width() > 0, "the tray icon", WINDOW_WAIT_S)
    where = tray.icon.geometry()
    window.hide()
    tray.menu.popup(where.bottomLeft())
    await asyncio.sleep(PAGE_SETTLE_S)
    screen = QApplication.primaryScreen()
    # The icon and the whole menu, with a margin, as far as the screen goes.
    seen = where.united(tray.menu.geometry()).adjusted(-TRAY_MARGIN, 0, TRAY_MARGIN, TRAY_MARGIN)
    seen = seen.intersected(screen.geometry())
    shot = screen.grabWindow(0, seen.x(), seen.y(), seen.width(), seen.height())
    tray.menu.hide()
    window.bring_forward()
    path = out / "tray-failing.png"
    if not shot.save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return [("Tray: a provider failing", path)]


_STARTED_APPS: list[DesktopApp] = []  # the app `cli.main` builds, to reach its tray


def _remember_apps() -> None:
    """Note each DesktopApp as it is made: its tray has no Qt parent to find it by, and the
    app object is held only by the coroutine running it."""
    made = DesktopApp.__init__

    def init(self: DesktopApp, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        _STARTED_APPS.append(self)

    DesktopApp.__init__ = init  # type: ignore[method-assign]


def _find_tray() -> TrayIcon | None:
    tray = getattr(_STARTED_APPS[-1], "tray", None) if _STARTED_APPS else None
    return tray if isinstance(tray, TrayIcon) else None


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

    def cli_requests(self) -> int:
        return 0 if self.cli is None else len(self.cli.llm_requests)

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(5)


def write_config(path: Path, workspace: Path) -> None:
    """A config.toml with a static bearer token, two OAuth clients whose sign-ins wait for
    consent at the desk (the consent dialog pictured is a real one; `sign_in` approves the
    workload's own) and the workspace token-holding callers' CLI jobs run in."""
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


async def sign_in(client: aiohttp.ClientSession, base_url: str, client_id: str) -> str:
    """An OAuth authorization-code flow with PKCE, as an editor runs it; the access token.

    Raises:
        RuntimeError: the gateway did not hand out a code or a token.
    """
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": OAUTH_REDIRECT,
            "scope": "mcp",
            "state": "screens",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    url = f"{base_url}/oauth/authorize?{query}"
    async with client.get(url, allow_redirects=False) as response:
        landing = response.headers.get("Location", "")
    if "/oauth/consent/" in landing:  # waits for consent: approved at the desk, as a person
        consent_id = urlsplit(landing).path.rsplit("/", 1)[-1]
        box = await until(lambda: consent_dialog(consent_id), "the consent dialog", 10)
        box.approve_button.click()
        async with client.get(base_url + landing, allow_redirects=False) as response:
            landing = response.headers.get("Location", "")
    code = parse_qs(urlsplit(landing).query).get("code", [""])[0]
    if not code:
        raise RuntimeError(f"no authorization code for {client_id}: {landing}")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": OAUTH_REDIRECT,
        "code_verifier": verifier,
        "client_id": client_id,
        "client_secret": OAUTH_SECRET,
    }
    async with client.post(f"{base_url}/oauth/token", data=form) as response:
        body = await response.json()
    if "access_token" not in body:
        raise RuntimeError(f"no token for {client_id}: {body}")
    return str(body["access_token"])


def consent_dialog(consent_id: str) -> DecisionDialog | None:
    """The desk's dialog asking consent `consent_id`, once it is shown."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, DecisionDialog) and widget.objectName() == f"consent:{consent_id}":
            return widget if widget.isVisible() else None
    return None


def prepare_environment(home: Path, upstreams: Upstreams) -> None:
    """The app's settings and the providers' keys and base URLs, as a user's shell has them."""
    for name in list(os.environ):
        if name.startswith("LLM_GATEWAY_"):
            del os.environ[name]
    for spec in API_PROVIDERS:
        for variable in (*spec.key_env, spec.base_url_env):
            if variable:
                os.environ.pop(variable, None)
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        os.environ.pop("QT_QPA_PLATFORM", None)  # the real X11 platform, on Xvfb
    os.environ |= {
        "LLM_GATEWAY_STUCK_AFTER_MS": str(STUCK_AFTER_MS),
        "LLM_GATEWAY_CONFIG": str(home / "config" / "config.toml"),
        "LLM_GATEWAY_DATA_DIR": str(home / "data"),
        "LLM_GATEWAY_LOG_DIR": str(home / "log"),
        "LLM_GATEWAY_HTTP_PORT": "0",
        "LLM_GATEWAY_DETECT_LOCAL": "false",
        "LLM_GATEWAY_CLI_PATH": str(ROOT / "tests" / "fakes" / "bin"),
        "LLM_GATEWAY_RETRY_ATTEMPTS": "1",
        "OPENAI_API_KEY": "sk-screenshot-openai",
        "OPENAI_BASE_URL": upstreams.api_url + "/v1",
        "ANTHROPIC_API_KEY": "sk-ant-screenshot",
        "ANTHROPIC_BASE_URL": upstreams.api_url,
        "GEMINI_API_KEY": "gemini-screenshot",
        "GOOGLE_GEMINI_BASE_URL": upstreams.api_url,
        "VIBE_HOME": str(home / "vibe"),
        "VIBE_TEST_BASE_URL": upstreams.cli_url,
        "LLMGW_TEST_PYTHON": sys.executable,
        # Never this machine's keyring: the vault keeps its key in the temporary data folder.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


async def until(condition: Callable[[], Any], what: str, timeout_s: float) -> Any:
    """Await (never block) until `condition()` gives something truthy; that value.

    Raises:
        TimeoutError: it did not happen in time.
    """
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)
    return value


def find_window() -> MainWindow | None:
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return next((w for w in windows if w.isVisible()), None)


async def chat(
    client: aiohttp.ClientSession,
    base_url: str,
    model: str,
    *,
    stream: bool,
    caller: str,
    token: str = BEARER,
    index: int = 0,
) -> tuple[int, bytes]:
    """One chat request; its HTTP status and body. `index` picks the prompt and project."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
        "stream": stream,
    }
    if project := PROJECTS[index % len(PROJECTS)]:
        body["project"] = project
    headers = {"X-Caller": caller, "Authorization": f"Bearer {token}"}
    async with client.post(
        base_url + "/v1/chat/completions", json=body, headers=headers
    ) as response:
        return response.status, await response.read()


async def api_traffic(base_url: str, total: int) -> dict[int, int]:
    """`total` chat requests in waves, with the static token and each OAuth client's; the
    count of each HTTP status."""
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    callers = itertools.cycle(CALLERS)
    timeout = aiohttp.ClientTimeout(total=JOB_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        signed_in = [await sign_in(client, base_url, c) for c in OAUTH_CLIENTS]
        tokens = itertools.cycle([BEARER, *signed_in])

        async def one(index: int) -> None:
            model = UNCONFIGURED_MODEL if index % 60 == 59 else MODELS[index % len(MODELS)]
            async with gate:
                status = await chat(
                    client,
                    base_url,
                    model,
                    stream=index % 3 == 0,
                    caller=next(callers),
                    token=next(tokens),
                    index=index,
                )
            statuses[status[0]] = statuses.get(status[0], 0) + 1

        per_wave = max(1, total // WAVES)
        for start in range(0, total, per_wave):
            await asyncio.gather(*(one(i) for i in range(start, min(total, start + per_wave))))
            await asyncio.sleep(WAVE_PAUSE_S)
    return statuses


async def cli_jobs(base_url: str, upstreams: Upstreams) -> asyncio.Task[tuple[int, bytes]]:
    """Jobs through the CLI bridge: two complete, one fails, and one is left running (its
    request's task is returned, to cancel at the end)."""

    async def job(caller: str, index: int) -> tuple[int, bytes]:
        timeout = aiohttp.ClientTimeout(total=WORKLOAD_TIMEOUT_S * 5)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            return await chat(client, base_url, CLI_MODEL, stream=False, caller=caller, index=index)

    for index, caller in enumerate(("claude-code", "codex")):
        status, body = await job(caller, index)
        if status != 200:
            raise RuntimeError(f"a CLI job through the gateway answered {status}: {body[:300]!r}")
    running = asyncio.get_running_loop().create_task(job("cursor", 2))
    await until(lambda: upstreams.cli_requests() >= 3, "the long job", JOB_TIMEOUT_S)
    await job("aider", 3)  # the upstream fails from here on
    return running


def find_guide() -> FirstRunGuide | None:
    guides = [w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunGuide)]
    return next((w for w in guides if w.isVisible()), None)


def save(widget: Any, path: Path) -> None:
    if not widget.grab().save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


async def capture_guide(out: Path, only: set[str] | None) -> list[tuple[str, Path]]:
    """The first-run guide's CLI step and its key step (a pasted key tested against the
    scripted upstream); then skipped, so the pages are taken without it."""
    guide = await until(find_guide, "the first-run guide", WINDOW_WAIT_S)
    saved: list[tuple[str, Path]] = []
    if only is None or FIRST_RUN in only:
        await until(lambda: "found." in guide.clis.note.text(), "the CLIs' versions", 30.0)
        save(guide, out / f"{FIRST_RUN}.png")
        saved.append(("First-run guide: coding CLIs", out / f"{FIRST_RUN}.png"))
        guide.next()
        keys = guide.keys
        await until(lambda: keys.table.rowCount(), "the keys in use", 10.0)
        keys.provider_box.setCurrentText("openai")
        keys.value_edit.setText(GUIDE_KEY)
        keys.test_button.click()
        await until(lambda: keys.result_label.text().startswith("OK"), "the key's test", 30.0)
        path = out / f"{FIRST_RUN}-keys.png"
        save(guide, path)
        saved.append(("First-run guide: API keys", path))
    guide.reject()  # skipped, as a person may
    return saved


async def set_budgets(window: MainWindow) -> None:
    """Budgets set after the workload, as a person would on seeing the spend: one near its
    hard limit (past its soft one), one comfortably inside, one exceeded. Each is measured
    against what the workload really spent, read back from the store by the engine."""
    budgets = next(iter(window.pages.values())).context.engine.budgets
    probe = [
        {"scope": "project=web", "unit": "tokens", "period": "daily", "hard": 1e12},
        {"scope": "agent=cursor", "unit": "tokens", "period": "monthly", "hard": 1e12},
        {"scope": "agent=aider", "unit": "tokens", "period": "daily", "hard": 1e12},
    ]
    await budgets.replace(LOCAL_CALLER, probe)
    spent = {status.budget.scope: max(1, round(status.spent)) for status in budgets.statuses()}
    near, inside, over = (spent[table["scope"]] for table in probe)
    await budgets.replace(
        LOCAL_CALLER,
        [
            {**probe[0], "soft": round(near * 0.75), "hard": round(near / 0.88)},
            {**probe[1], "soft": inside * 3, "hard": inside * 4},
            {**probe[2], "hard": over},
            # A dollar budget below a cent: its amounts must not read "$0.00".
            SUB_CENT_BUDGET,
        ],
    )


async def make_keys(window: MainWindow, base_url: str) -> MadeKey:
    """Gateway keys as a team would have them: one per tool, one used, one revoked; the first
    (its secret, for the new-key dialog's picture)."""
    keys = next(iter(window.pages.values())).context.engine.keys
    made = await keys.create(
        LOCAL_CALLER,
        KeySpec(
            name="ci-bot",
            scope=KeyScope.of(models=["gpt-4o-mini", "claude-*"], projects=["web"]),
            budget_usd=5.0,
            per_minute=60,
        ),
    )
    await keys.create(
        LOCAL_CALLER, KeySpec(name="cursor-alice", expires_at=time.time() + 30 * 86400)
    )
    await keys.create(
        LOCAL_CALLER, KeySpec(name="old-laptop", scope=KeyScope.of(tools=["ask_model"]))
    )
    await keys.revoke(LOCAL_CALLER, "old-laptop")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {made.secret}", "X-Project": "web"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(base_url + "/v1/chat/completions", json=body, headers=headers) as answer,
    ):
        await answer.read()
    return made


async def stage_playground(window: MainWindow, upstreams: Upstreams) -> None:
    """A question asked in the Playground and compared with a second model, as a person
    would try two models before choosing one (the answers are the upstream's, scripted)."""
    page = window.pages.get(PlaygroundPage.KEY)
    if not isinstance(page, PlaygroundPage):
        return
    upstreams.script_api(
        Reply.ok(
            "Sea otters hold paws while they sleep, so the current does not carry them apart. "
            "A group resting together is called a raft.",
            verbatim=True,
        ),
        Reply.ok(
            "They link paws (and sometimes wrap themselves in kelp) so that they stay together "
            "while asleep on the water.",
            verbatim=True,
        ),
    )
    page.model_box.choose("claude-sonnet-4-6")
    page.compare_box.choose("openai/gpt-4o-mini")  # as a person types it
    page.prompt.setPlainText("Why do sea otters hold hands?")
    page.send()
    await until(lambda: page.answer.reply is not None, "the playground's answer", 20)
    page.compare()
    await until(lambda: page.second.reply is not None, "the playground's comparison", 20)


async def stage_mcp_servers(window: MainWindow) -> None:
    """Each configured MCP server tested once (it starts and lists what it offers), the first
    one selected, as a person checks a server just added."""
    page = window.pages.get(McpServersPage.KEY)
    if not isinstance(page, McpServersPage) or not page.names:
        return
    for name in page.names:
        result = await page.engine.upstream_mcp.test(name)
        print(f"MCP server {name}: {'works' if result['ok'] else 'failed'}: {result['message']}")
    page.table.selectRow(0)
    page.test_selected()
    await until(lambda: page.test_button.isEnabled(), "the MCP server test", 30)


def shot_name(key: str, look: str, size: tuple[int, int]) -> str:
    """`providers-dark-1920x1080.png`: a page, a look and a window size."""
    return f"{key}-{look}-{size[0]}x{size[1]}.png"


async def capture(window: MainWindow, out: Path, only: set[str] | None) -> list[tuple[str, Path]]:
    """Every registered page (tabs included) in both looks at both sizes, saved as
    <out>/<key>-<look>-<W>x<H>.png; (title, file)s, the gallery's order."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.bring_forward()
    saved: list[tuple[str, Path]] = []
    for look, scheme in LOOKS:
        apply_theme(app, scheme)
        for size in SIZES:
            window.resize(*size)
            for key in list(window.pages):
                if only and key not in only:
                    continue
                window.show_page(key)
                await asyncio.sleep(PAGE_SETTLE_S)
                path = out / shot_name(key, look, size)
                save(window, path)
                saved.append((window.pages[key].TITLE, path))
    apply_theme(app)
    window.resize(*WINDOW_SIZE)
    return saved


async def capture_states(
    window: MainWindow, out: Path, only: set[str] | None, made: MadeKey
) -> list[tuple[str, Path]]:
    """The review states: the stuck job, the two question dialogs, a new key's dialog."""
    saved: list[tuple[str, Path]] = []
    window.resize(*WINDOW_SIZE)
    if only is None or STUCK in only:
        window.show_page("jobs")
        jobs = window.pages["jobs"]
        await until(lambda: jobs.model.stuck_count(), "the stuck job", JOB_TIMEOUT_S)  # type: ignore[attr-defined]
        jobs.show_state("Active")  # type: ignore[attr-defined]
        await asyncio.sleep(PAGE_SETTLE_S)
        save(window, out / "jobs-stuck.png")
        saved.append(("Jobs: a stuck job", out / "jobs-stuck.png"))
        jobs.show_state("All jobs")  # type: ignore[attr-defined]
    if only is None or DIALOGS in only:
        saved += await capture_dialogs(window, out)
        saved += await capture_new_key(window, out, made)
    return saved


async def capture_new_key(window: MainWindow, out: Path, made: MadeKey) -> list[tuple[str, Path]]:
    """The dialog a new key ends on (its secret shown once, a tool's setup to copy with it),
    as the Keys page shows it for the key `make_keys` made."""
    window.show_page("keys")
    keys = window.pages["keys"]
    keys.show_secret(made)  # type: ignore[attr-defined]
    dialog = keys.secret_dialog  # type: ignore[attr-defined]
    dialog.client.setCurrentIndex(dialog.client.findText("Cursor"))
    await asyncio.sleep(0.5)
    save(dialog, out / "dialog-new-key.png")
    dialog.accept()
    return [("New key: copy a tool's setup", out / "dialog-new-key.png")]


async def capture_dialogs(window: MainWindow, out: Path) -> list[tuple[str, Path]]:
    """A risky call's approval and an OAuth client's consent, each saved, then denied."""
    engine = next(iter(window.pages.values())).context.engine

    def dialog() -> DecisionDialog | None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, DecisionDialog)]
        return next((w for w in shown if w.isVisible()), None)

    risky = ApprovalRequest(
        provider="claude",
        prompt="Clean up the release branch, then git push --force origin main and "
        "sudo rm -rf /srv/app/build so the next deploy starts fresh.",
        permission_mode="acceptEdits",
        full_auto=True,
        allowed_tools=(),
        strategy="mcp_managed",
        principal=LOCAL_CALLER.id,
        caller="claude-code",
        workspace="demo",
    )
    saved: list[tuple[str, Path]] = []
    deciding = asyncio.get_running_loop().create_task(engine.approvals.decide(risky))
    box = await until(dialog, "the approval dialog", WINDOW_WAIT_S)
    await asyncio.sleep(0.5)
    save(box, out / "dialog-approval.png")
    saved.append(("Approval dialog", out / "dialog-approval.png"))
    box.deny_button.click()
    await deciding
    if engine.oauth is not None:
        # A real sign-in: the gateway asks consent (http.oauth.require_consent), denied here.
        query = urlencode(
            {
                "response_type": "code",
                "client_id": "laptop-editor",
                "redirect_uri": OAUTH_REDIRECT,
                "scope": "mcp",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            }
        )
        facts = next(iter(window.pages.values())).context.facts
        base_url = facts.health_url.removesuffix("/health")
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"{base_url}/oauth/authorize?{query}", allow_redirects=False) as answer,
        ):
            landing = answer.headers.get("Location", "")
        consent_id = urlsplit(landing).path.rsplit("/", 1)[-1]
        box = await until(lambda: consent_dialog(consent_id), "the consent dialog", WINDOW_WAIT_S)
        await asyncio.sleep(0.5)
        save(box, out / "dialog-consent.png")
        saved.append(("Consent dialog", out / "dialog-consent.png"))
        box.deny_button.click()
    return saved


async def capture_replay(
    window: MainWindow, base_url: str, upstreams: Upstreams, out: Path
) -> list[tuple[str, Path]]:
    """User job 6: body capture turned on for Anthropic (as the recorder's "Turn on capture"
    does), one request kept, its detail in the Flight recorder with Replay on… offered, then
    the Playground replaying it on another provider's model, its answer beside the recorded."""
    recorder = window.pages["recorder"]
    engine = recorder.engine
    engine.body_capture.apply("recorder.capture.providers", ["anthropic"])
    upstreams.script_api(
        Reply.ok(
            "Rename `tmp` to `pending_orders`: it holds the orders not yet shipped.", verbatim=True
        ),
        Reply.ok("Call it `unshipped_orders`, since that is what the list holds.", verbatim=True),
    )
    sent = time.time()
    async with aiohttp.ClientSession() as client:
        await chat(client, base_url, FAILING_MODEL, stream=False, caller="cursor", index=3)
    await engine.recorder.flush()
    window.resize(*SIZES[1])
    window.show_page("recorder")
    recorder.apply_filters()  # type: ignore[attr-defined]

    def kept_first() -> bool:
        newest = recorder.model.summary(0)  # type: ignore[attr-defined]
        return newest is not None and newest.started_at >= sent - 1

    await until(kept_first, "the kept request listed first", 10)
    recorder.table.selectRow(0)  # type: ignore[attr-defined]
    replay = recorder.replay  # type: ignore[attr-defined]
    await until(lambda: replay.replay_button.isEnabled(), "Replay on… offered", 10)
    await asyncio.sleep(PAGE_SETTLE_S)
    saved = [("Flight recorder: a kept request, Replay on…", out / "recorder-replay.png")]
    save(window, saved[0][1])
    replay.replay_on(REPLAY_MODEL)
    playground = window.pages["playground"]
    await until(lambda: playground.second.reply is not None, "the replay's answer", 20)  # type: ignore[attr-defined]
    await asyncio.sleep(PAGE_SETTLE_S)
    saved.append(
        ("Playground: the replay beside the recorded answer", out / "playground-replay.png")
    )
    save(window, saved[1][1])
    window.resize(*WINDOW_SIZE)
    return saved


async def capture_failure(
    window: MainWindow, base_url: str, upstreams: Upstreams, out: Path
) -> list[tuple[str, Path]]:
    """Overview after `FAILED_CALLS` upstream 500s in a row for one provider."""
    upstreams.script_api(*[Reply.error(500, "upstream exploded")] * FAILED_CALLS)
    async with aiohttp.ClientSession() as client:
        for index in range(FAILED_CALLS):
            await chat(client, base_url, FAILING_MODEL, stream=False, caller="cursor", index=index)
    window.show_page("overview")
    overview = window.pages["overview"]
    health = overview.health  # type: ignore[attr-defined]
    health.request_refresh()
    await until(
        lambda: health.cell("anthropic", "Status").startswith("Failing"), "the failing row", 10
    )
    await asyncio.sleep(PAGE_SETTLE_S)
    path, table = out / "overview-failing.png", out / "overview-failing-health.png"
    save(window, path)
    save(health, table)
    return [("Overview: a provider failing", path), ("Provider health: failing", table)]


def update_readme(shots: list[tuple[str, Path]]) -> None:
    """Rewrite the README's gallery (between the screens markers) to show exactly the images
    taken: a row a page (its light look at 1024x700 beside its dark look at 1920x1080, links
    to the other two), then the states (a failing provider, the tray, the first-run guide)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        print(f"README.md has no {README_START} ... {README_END} markers; left alone")
        return

    def rel(path: Path) -> str:
        return path.relative_to(ROOT).as_posix()

    by_name = {path.name: (title, path) for title, path in shots}
    small, large = SIZES
    rows = ["| Page | Light, 1024x700 | Dark, 1920x1080 |", "|---|---|---|"]
    pages = [p for _t, p in shots if p.name.endswith(f"-light-{small[0]}x{small[1]}.png")]
    for path in pages:
        key = path.name.removesuffix(f"-light-{small[0]}x{small[1]}.png")
        title = by_name[path.name][0]
        others = [
            f"[{look} {w}x{h}]({rel(by_name[shot_name(key, look, (w, h))][1])})"
            for look, (w, h) in (("dark", small), ("light", large))
            if shot_name(key, look, (w, h)) in by_name
        ]
        dark = by_name.get(shot_name(key, "dark", large))
        dark_cell = f"![{title}, dark]({rel(dark[1])})" if dark else " "
        rows.append(
            f"| **{title}**<br>{' · '.join(others)} | ![{title}]({rel(path)}) | {dark_cell} |"
        )
    states = [(t, p) for t, p in shots if not any(p.name.endswith(f"x{s[1]}.png") for s in SIZES)]
    if states:
        rows += ["", "| State | |", "|---|---|"]
        rows += [f"| **{title}** | ![{title}]({rel(path)}) |" for title, path in states]
    gallery = "\n".join([README_START, "", *rows, "", ""])
    README.write_text(text[:start] + gallery + text[end:], encoding="utf-8")
    print("updated the gallery in README.md")


async def drive(args: argparse.Namespace, upstreams: Upstreams, outcome: dict[str, Any]) -> None:
    """Workload, then pictures, then a clean stop (as SIGTERM asks)."""
    try:
        window = await until(find_window, "the dashboard window", WINDOW_WAIT_S)
        facts = next(iter(window.pages.values())).context.facts
        base_url = facts.health_url.removesuffix("/health")
        print(f"app up at {base_url}; pages: {', '.join(window.pages)}")
        async with asyncio.timeout(WORKLOAD_TIMEOUT_S):
            running = await cli_jobs(base_url, upstreams)
            statuses = await api_traffic(base_url, args.requests)
        print(f"workload done: HTTP statuses {dict(sorted(statuses.items()))}")
        await set_budgets(window)
        made = await make_keys(window, base_url)
        await stage_playground(window, upstreams)
        await stage_mcp_servers(window)
        only = set(args.pages.split(",")) if args.pages else None
        guide = await capture_guide(args.out, only)
        # The stuck job first: it is killed by its idle timeout while the pages are taken.
        states = await capture_states(window, args.out, only, made)
        outcome["saved"] = guide + await capture(window, args.out, only)
        if only is None or REPLAY in only:
            outcome["saved"] += await capture_replay(window, base_url, upstreams, args.out)
        if only is None or "failure" in only:
            outcome["saved"] += await capture_failure(window, base_url, upstreams, args.out)
            outcome["saved"] += await capture_tray(window, args.out)
        outcome["saved"] += states
        if only is None and args.out == DEFAULT_OUT:
            update_readme(outcome["saved"])
        running.cancel()
    except BaseException as exc:
        outcome["error"] = exc
        raise
    finally:
        signal.raise_signal(signal.SIGTERM)  # the app's handler stops it in order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pages", default="", help="comma-separated page keys (default: all)")
    parser.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)

    xvfb: subprocess.Popen[bytes] | None = None
    tray_host: list[subprocess.Popen[bytes]] = []
    if args.offscreen or shutil.which("Xvfb") is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        display = os.environ.get("DISPLAY", "")
    else:
        xvfb, display = start_xvfb()
        tray_host = start_tray_host(display)
    upstreams = Upstreams()
    home = Path(tempfile.mkdtemp(prefix="llmgw-screens-"))
    outcome: dict[str, Any] = {}
    try:
        upstreams.start()
        if not upstreams.ready.wait(10):
            raise SystemExit("the scripted upstreams did not start")
        if xvfb is not None:
            os.environ["DISPLAY"] = display
        prepare_environment(home, upstreams)
        if xvfb is None:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        write_config(home / "config" / "config.toml", home / "workspaces" / "demo")
        # The app reuses this QApplication; it exists first so the driver can be scheduled
        # on the loop the app is about to run.
        app = QApplication([sys.argv[0]])
        if tray_host:
            # The app asks once, at start, whether there is a tray: wait until trayer holds
            # the tray's selection (its window shows a little before it does).
            deadline = time.monotonic() + TRAY_HOST_WAIT_S
            while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < deadline:
                time.sleep(0.1)
            print(f"system tray on the display: {QSystemTrayIcon.isSystemTrayAvailable()}")
        tasks: set[asyncio.Task[None]] = set()

        def start_driver() -> None:
            task = asyncio.get_event_loop().create_task(drive(args, upstreams, outcome))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        QTimer.singleShot(0, start_driver)
        _remember_apps()
        code = cli.main([])
        del app
    finally:
        upstreams.stop()
        for process in tray_host:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        if xvfb is not None:
            xvfb.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                xvfb.wait(5)
        if "error" in outcome:
            print(f"kept the app's config, data and log in {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    if "error" in outcome:
        print(f"failed: {outcome['error']!r}", file=sys.stderr)
        return 1
    print(f"app exited with {code}; wrote {len(outcome.get('saved', []))} image(s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
