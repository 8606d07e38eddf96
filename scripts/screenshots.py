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
  environment, on this machine's PATH without its vendor CLIs (`tests/vendor_path.py`, as the
  test suite runs it: a developer's own `claude` would answer before any key is given).

Once the window is up, a driver on the app's own loop sends the workload through the gateway's
HTTP front door (a few hundred chat requests from several callers and projects, streamed and
not, some of them failing over, a few repeated at temperature 0 with the response cache on so
the cache answers them; jobs through the CLI bridge, one left running), then shows each page in
`MainWindow.pages` (whatever pages are registered when it runs, tabs included) at 1024x700 and
at 1120x740 (the window's default size), in the light and the dark look, and saves
`QWidget.grab()` as <out>/<page key>-<look>-<W>x<H>.png. The first-run guide, which a fresh
data folder shows over the window, is taken after the workload (state `first_run`: its key step
with a pasted key tested, then its CLI step), then skipped. Before anything, the app starts as
a person's first launch does, with no key and no coding CLI: the header, Overview and the
Playground saying no provider can answer are taken first, in both looks (state `no-provider`,
no-provider-*.png); then the keys are stored in the vault and the Mistral Vibe stand-in
installed, as a person would (`give_providers`). Then the states a review checks (each also a
--pages name): `stuck` (the Jobs page with the job left running marked stuck: it is silent past
`jobs.stuck_after_ms`, set to 5 s here; taken before the pages, since its idle timeout ends it)
and `dialogs` (a risky call's approval and an OAuth client's consent, the desk's two questions,
and the dialog a new gateway key ends on, as dialog-*.png). After the pages, `replay` (user job
6): a request to Anthropic kept by body capture, its Flight recorder detail with Replay on…,
and the Playground replaying it on OpenAI's model beside the recorded answer
(recorder-replay.png, playground-replay.png). Last, `stop`: the Playground with an answer held
mid-stream by the upstream, its Send reading Stop, in both looks (stop-playground-*.png), then
stopped. After the pages, the failure state (issue 25): the API upstream answers the next
`FAILED_CALLS` Anthropic requests with 500s, and Overview (its Failing line, the errors in the
totals and on the request chart, the health table's red row, errors and latency) is saved as
`overview-failing.png` and `overview-failing-health.png`. The budgets include a sub-cent dollar
budget, so the Budgets page shows amounts below a cent. Then it stops the app the way SIGTERM
does. A full run into docs/images also rewrites the gallery in README.md's "Screens" section
(between its markers) to show exactly those images. Asked for only (`--pages resting`, since it
adds a provider to every page): the resting state, xAI's base URL a loopback port nothing
listens on, its host rested after three refused connects, and the Providers page on its row,
Overview and the tray taken while the rest lasts (providers-resting.png, overview-resting.png,
tray-resting.png). With openbox and trayer installed (apt-get install openbox trayer), both run
on the Xvfb display, so the app has a real system tray: after the failure state the tray's
corner of the screen, with its red icon and its menu open, is saved as `tray-failing.png`.
Without them the app starts without a tray, and the run says so. With --offscreen (or no Xvfb
installed) Qt's offscreen platform stands in for X11: no tray.

This script starts the run and drives it; its parts are beside it: `_screens_stage.py` (the
display, the tray, the scripted upstreams, the app's config and environment),
`_screens_workload.py` (the traffic, jobs, sign-ins, budgets and keys), `_screens_pictures.py`
(every picture, and the README's gallery) and `_screens_common.py` (their shared names and
numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _screens_common import (
    DEFAULT_OUT,
    NO_PROVIDER,
    REPLAY,
    RESTING,
    STOP,
    TRAY_HOST_WAIT_S,
    WINDOW_WAIT_S,
    WORKLOAD_TIMEOUT_S,
    until,
)
from _screens_pictures import (
    capture,
    capture_failure,
    capture_guide,
    capture_no_provider,
    capture_replay,
    capture_resting,
    capture_states,
    capture_stop,
    capture_tray,
    remember_apps,
    update_readme,
)
from _screens_stage import (
    Upstreams,
    give_providers,
    prepare_environment,
    refused_url,
    start_tray_host,
    start_xvfb,
    write_config,
)
from _screens_workload import (
    api_traffic,
    cache_repeats,
    cli_jobs,
    make_keys,
    set_budgets,
    stage_mcp_servers,
    stage_playground,
)

from llmgw_desktop.shell.cli import main as cli
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.qt import QApplication, QSystemTrayIcon, QTimer


def find_window() -> MainWindow | None:
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return next((w for w in windows if w.isVisible()), None)


async def drive(args: argparse.Namespace, upstreams: Upstreams, outcome: dict[str, Any]) -> None:
    """Workload, then pictures, then a clean stop (as SIGTERM asks)."""
    try:
        window = await until(find_window, "the dashboard window", WINDOW_WAIT_S)
        facts = next(iter(window.pages.values())).context.facts
        base_url = facts.health_url.removesuffix("/health")
        print(f"app up at {base_url}; pages: {', '.join(window.pages)}")
        only = set(args.pages.split(",")) if args.pages else None
        # Nothing to answer with yet: taken first, then the keys and a CLI are given.
        first = await capture_no_provider(window, args.out) if _asked(only, NO_PROVIDER) else []
        await give_providers(window.overview.context.engine, args.home)
        async with asyncio.timeout(WORKLOAD_TIMEOUT_S):
            running = await cli_jobs(base_url, upstreams)
            statuses = await api_traffic(base_url, args.requests)
            cached = await cache_repeats(base_url)
        print(f"workload done: HTTP statuses {dict(sorted(statuses.items()))}; cache {cached}")
        await set_budgets(window)
        made = await make_keys(window, base_url)
        await stage_playground(window, upstreams)
        await stage_mcp_servers(window)
        guide = first + await capture_guide(args.out, only)
        # The stuck job first: it is killed by its idle timeout while the pages are taken.
        states = await capture_states(window, args.out, only, made)
        outcome["saved"] = guide + await capture(window, args.out, only)
        if only is None or REPLAY in only:
            outcome["saved"] += await capture_replay(window, base_url, upstreams, args.out)
        if only is None or "failure" in only:
            outcome["saved"] += await capture_failure(window, base_url, upstreams, args.out)
            outcome["saved"] += await capture_tray(window, args.out)
        # Last: a stopped stream is counted at its hold under the day's hard budget, which
        # the pictures before must not show as spent.
        if _asked(only, STOP):
            outcome["saved"] += await capture_stop(window, upstreams, args.out)
        if only is not None and RESTING in only:
            outcome["saved"] += await capture_resting(window, base_url, args.out)
        outcome["saved"] += states
        if only is None and args.out == DEFAULT_OUT:
            update_readme(outcome["saved"])
        running.cancel()
    except BaseException as exc:
        outcome["error"] = exc
        raise
    finally:
        signal.raise_signal(signal.SIGTERM)  # the app's handler stops it in order


def _asked(only: set[str] | None, state: str) -> bool:
    """Whether a state is taken: every one in a full run, else those `--pages` names."""
    return only is None or state in only


def wait_for_tray() -> None:
    """The app asks once, at start, whether there is a tray: wait until trayer holds the
    tray's selection (its window shows a little before it does)."""
    deadline = time.monotonic() + TRAY_HOST_WAIT_S
    while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"system tray on the display: {QSystemTrayIcon.isSystemTrayAvailable()}")


def stop_display(
    tray_host: list[subprocess.Popen[bytes]], xvfb: subprocess.Popen[bytes] | None
) -> None:
    """Stop the tray's host and the virtual display (when this script started them)."""
    for process in tray_host:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    if xvfb is not None:
        xvfb.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            xvfb.wait(5)


def parse_args() -> argparse.Namespace:
    """The command line: where the images go, how much traffic, which pages, which display."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pages", default="", help="comma-separated page keys (default: all)")
    parser.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
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
    home = args.home = Path(tempfile.mkdtemp(prefix="llmgw-screens-"))
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
        resting = RESTING in args.pages.split(",")
        write_config(
            home / "config" / "config.toml",
            home / "workspaces" / "demo",
            refused_url() if resting else "",
        )
        # The app reuses this QApplication; it exists first so the driver can be scheduled
        # on the loop the app is about to run.
        app = QApplication([sys.argv[0]])
        if tray_host:
            wait_for_tray()
        tasks: set[asyncio.Task[None]] = set()

        def start_driver() -> None:
            task = asyncio.get_event_loop().create_task(drive(args, upstreams, outcome))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        QTimer.singleShot(0, start_driver)
        remember_apps()
        code = cli.main([])
        del app
    finally:
        upstreams.stop()
        stop_display(tray_host, xvfb)
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
