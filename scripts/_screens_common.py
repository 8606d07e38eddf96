"""What the parts of `screenshots.py` share: where things are, the run's names and numbers.

Imported by `screenshots.py`, which puts the repository on `sys.path` first; each constant says
what it is for in the run the script's docstring describes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmgw_desktop.ui.qt import Qt

ROOT = Path(__file__).resolve().parent.parent
MCP_SERVERS_BIN = ROOT / ".mcp-servers" / "node_modules" / ".bin"
DEFAULT_OUT = ROOT / "docs" / "images"
README = ROOT / "README.md"
README_START = "<!-- screens: written by scripts/screenshots.py -->"
README_END = "<!-- /screens -->"
SCREEN = "2048x1280x24"
# Every page is taken at a laptop's smallest window and the window's default size, in both
# looks.
SIZES = ((1024, 700), (1120, 740))
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
# Nothing to answer with (taken first, before the keys and the CLI are given), and the
# Playground's answer held mid-stream with Stop: states in --pages too.
NO_PROVIDER, STOP = "no-provider", "stop"
STOP_ANSWER = (
    "Sea otters sleep on their backs, floating on the water. To keep from drifting apart while "
    "they sleep, they hold paws, and a mother holds her pup on her chest. Some wrap themselves "
    "in kelp, which is anchored to the sea floor, so the current does not carry them away. A "
    "group resting together like this is called a raft, and it can be a hundred otters strong."
)
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
# The resting state (`--pages resting` only: it adds a provider to every page): xAI's base URL is
# a loopback port nothing listens on, so its connects are refused and its host rests.
RESTING = "resting"
RESTING_PROVIDER = "xai"
RESTING_MODEL = "grok-4"
MAX_RESTING_TRIES = 10  # requests sent to make its host rest (3 do it; a rest over, 1 more)
SUB_CENT_BUDGET = {"scope": "agent=claude-code", "unit": "usd", "period": "daily", "hard": 0.003}
DAY_BUDGET = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
# Asked at temperature 0 (cached by default) after the traffic, each `CACHE_ASKS` times: the first
# answered by its provider, the rest from the response cache (`[cache]` is on in this run). The
# traffic itself names no temperature (sampled, as most SDKs send), so the Overview says why it
# was not cached.
CACHED_ASKS = (("claude-sonnet-4-5", False), ("gpt-4o-mini", True))
CACHE_ASKS = 3
PROMPTS = (
    "Summarise this diff in one line.",
    "Write a unit test for parse_header().",
    "Why does this query take 3 seconds?",
    "Rename the variable to something clearer.",
)


TRAY_HOST_WAIT_S = 10.0
TRAY_HEIGHT = 32  # trayer's strip, at the top right of the screen
TRAY_MARGIN = 24  # px of screen saved around the tray's icon and its open menu


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
