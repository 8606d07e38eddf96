"""Whether a coding CLI can answer on its own login, in the CLI's own words: a CLI that says
it is logged out is not counted as answering until it is logged in again.

A CLI found on PATH is listed by `GET /v1/models` and counted by the one "what answers" fact
(`answering.py`); one that is installed but logged out would show as answering until its first
call failed. So each CLI that can say whether it is logged in (`LOGIN_STATUS`: Claude Code's
`claude auth status --json`, which weighs its files, the macOS Keychain and its environment
variables, `ANTHROPIC_API_KEY`, Bedrock and Vertex alike) is asked with the environment its
calls get (`child_env.py`, and the vault's login files for it where stored), and a "logged out"
answer becomes its lasting trouble (`trouble.py`, `LOGIN_SOURCE`), which holds its models back
as a refused key does. A call that names one of them is still tried, and its success clears the
trouble.

Its own files are read first (`account_files.read_account`, offline, on each look): where they
hold a login or a key the CLI is taken at their word, unasked. Where they suggest a logout, the
CLI is asked (its environment may log it in otherwise), and asked again when what its files say
changes or after `RECHECK_S`, never on every look: each asking starts the CLI.
In doubt nothing is held back: an answer that cannot be read, a CLI that fails to say, or a
gateway with a hard budget (whose CLI jobs may come back through the gateway on its own API
key, `calls/cli_spend.py`, and need no login of their own).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.engine.providers.account_files import (
    API_KEY,
    LOGGED_IN,
    CliAccount,
    read_account,
)
from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.discovery import VERSION_LIMITS, Discovery
from llmgw_desktop.engine.providers.process import Invocation, run_process
from llmgw_desktop.engine.providers.trouble import ProviderTrouble

if TYPE_CHECKING:
    from llmgw_desktop.engine.providers.auth_home import AuthFileSource

__all__ = ["LOGIN_STATUS", "RECHECK_S", "CliLogins", "LoginStatus"]

# The trouble's words, before what to do: "Claude Code is " comes first where it is named.
NOT_LOGGED_IN = "not logged in: "
# A CLI is asked again this often while its files say the same (each asking starts it: about
# 0.5 s of CPU for Claude Code, so not often while the gateway idles).
RECHECK_S = 1800.0


@dataclass(frozen=True)
class LoginStatus:
    """How one CLI says whether it is logged in: its arguments, and how to read the answer
    (`logged_in(stdout)`: True, False, or None when it cannot be told)."""

    args: tuple[str, ...]
    logged_in: Callable[[bytes], bool | None]
    # What the person does about it, after "<name> is not logged in: ".
    fix: str


def _claude_logged_in(stdout: bytes) -> bool | None:
    """`claude auth status --json`: `{"loggedIn": false, "authMethod": "none", ...}`."""
    try:
        said = json.loads(stdout)
    except ValueError:
        return None
    answer = said.get("loggedIn") if isinstance(said, dict) else None
    return answer if isinstance(answer, bool) else None


LOGIN_STATUS: dict[str, LoginStatus] = {
    "claude": LoginStatus(
        ("auth", "status", "--json"),
        _claude_logged_in,
        "run `claude` and type /login, or set ANTHROPIC_API_KEY before starting the gateway",
    ),
}


class CliLogins:
    """Asks each installed CLI of `LOGIN_STATUS` whether it is logged in, and keeps the answer
    in the providers' trouble."""

    def __init__(
        self,
        *,
        discovery: Discovery,
        trouble: ProviderTrouble,
        is_enabled: Callable[[str], bool],
        any_hard_budget: Callable[[], bool],
        environ: Mapping[str, str],
        auth_files: AuthFileSource | None = None,
        auth_root: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`auth_files`: the vault's login files for a CLI (written under `auth_root` while it
        is asked)."""
        self._discovery = discovery
        self._trouble = trouble
        self._is_enabled = is_enabled
        self._any_hard_budget = any_hard_budget
        self._environ = environ
        self._auth_files = auth_files
        self._auth_root = auth_root
        self._clock = clock
        # Per CLI: what its files said and where it was found when last asked, and when.
        self._asked: dict[str, tuple[tuple[str, CliAccount], float]] = {}
        # One asking at a time: the watch's look and the start banner's first look may come
        # together, and the second then finds the first's answer fresh.
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Ask the CLIs that are due (see the module's doc); quick when none is."""
        async with self._lock:
            for provider in LOGIN_STATUS:
                await self._check_one(provider)

    async def _check_one(self, provider: str) -> None:
        executable = await self._discovery.locate(provider)
        if executable is None or not self._is_enabled(provider) or self._any_hard_budget():
            self._asked.pop(provider, None)
            self._trouble.note_login(provider, None)
            return
        home = Path(self._environ.get("HOME") or Path.home())
        files = await asyncio.to_thread(read_account, provider, self._environ, home)
        seen = (executable, files)
        asked = self._asked.get(provider)
        if asked is not None and asked[0] == seen and self._clock() - asked[1] < RECHECK_S:
            return
        self._asked[provider] = (seen, self._clock())
        if files.state in (LOGGED_IN, API_KEY):
            # Its files hold a login or a key: taken at their word, as before (a token revoked
            # since still fails its first call, which marks it). Only a logout they suggest is
            # worth a start of the CLI to confirm: its environment may log it in otherwise.
            self._trouble.note_login(provider, None)
            return
        logged_in = await self._ask(provider, executable)
        fix = LOGIN_STATUS[provider].fix
        self._trouble.note_login(provider, None if logged_in is not False else NOT_LOGGED_IN + fix)

    async def _ask(self, provider: str, executable: str) -> bool | None:
        """The CLI's own answer, with the environment and vault files its calls get."""
        status = LOGIN_STATUS[provider]
        if self._auth_files is None:
            return await self._run(provider, executable, status, {})
        # The vault's part loads with the first asking, as a call's does (not at start).
        from llmgw_desktop.engine.providers.auth_home import cli_auth_environment

        async with cli_auth_environment(
            self._auth_files, provider, None, root=self._auth_root
        ) as auth_env:
            return await self._run(provider, executable, status, auth_env)

    @staticmethod
    async def _run(
        provider: str, executable: str, status: LoginStatus, extra: Mapping[str, str]
    ) -> bool | None:
        try:
            outcome = await run_process(
                Invocation(argv=(executable, *status.args)),
                VERSION_LIMITS,
                environment={**child_environment(provider), **extra},
            )
        except OSError:
            return None
        if outcome.ended_by != "exit":
            return None
        return status.logged_in(outcome.stdout)
