"""Whether a coding CLI can answer on its own login, in the CLI's own words: a CLI that says
it is logged out is not counted as answering until it is logged in again.

A CLI found on PATH is listed by `GET /v1/models` and counted by the one "what answers" fact
(`answering.py`); one that is installed but logged out would show as answering until its first
call failed. So each CLI of `LOGIN_STATUS` is looked at with the environment its calls get
(`child_env.py`, and the vault's login files for it where stored), and a "logged out" finding
becomes its lasting trouble (`trouble.py`, `LOGIN_SOURCE`), which holds its models back as a
refused key does. A call that names one of them is still tried, and its success clears the
trouble.

Three kinds of word:
- **The CLI is asked** where it can say (`LoginStatus.args`): Claude Code's `claude auth status
  --json` (which weighs its files, the macOS Keychain, `ANTHROPIC_API_KEY`, Bedrock and Vertex)
  and Grok's `grok models` ("You are not authenticated."). Its own files are read first
  (`account_files.read_account`, offline, on each look): where they hold a login or a key it is
  taken at their word, unasked. Where they suggest a logout it is asked, again when what its
  files say changes or after `RECHECK_S`, never on every look: each asking starts the CLI.
- **Its files decide** where no command says more and the files are all it reads (Codex's
  `auth.json` or `CODEX_API_KEY`, Mistral Vibe's `MISTRAL_API_KEY`, Gemini CLI's chosen sign-in
  or `GEMINI_API_KEY`, Copilot's login, a GitHub token or the `gh` CLI's login), read as a call
  would see them; a config file that may choose another provider, or Google Cloud's
  credentials, leave it in doubt.
- **The gateway's key is its login**: an ACP agent the gateway points at itself
  (`account_files.POINTED_AGENTS`; `auth/agent_callbacks.py` points every ACP run whose own
  settings do not send it elsewhere) makes its model calls with the gateway's key for its
  vendor, so it answers while that API provider does (switched on, holding a key, none
  refused), looked at on every look.

A CLI whose key is the very one an API provider refused (the same environment variable:
Claude Code on `ANTHROPIC_API_KEY` when Anthropic refused `env:ANTHROPIC_API_KEY`) is held with
it.

In doubt nothing is held back: an answer that cannot be read, a CLI that fails to say, a file
that cannot be read, or a gateway with a hard budget (whose CLI jobs may come back through the
gateway on its own API key, `calls/cli_spend.py`, and need no login of their own). OpenCode
(whose free models need no login), Antigravity (`agy`), an agent whose own settings choose its
route, and the operator's own ACP agents are not looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.config.api_catalog import API_PROVIDERS, switch_id_for
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.providers.account_files import (
    API_KEY,
    FROM_ENVIRONMENT,
    LOGGED_IN,
    POINTED_AGENTS,
    CliAccount,
    read_account,
    vendor_spec,
)
from llmgw_desktop.engine.providers.account_files import NOT_LOGGED_IN as NOT_LOGGED_IN_FILES
from llmgw_desktop.engine.providers.acp.gateway_env import own_route
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
    """How one CLI's login is found out, and what the person does about it (`fix`, after
    "<name> is not logged in: ")."""

    fix: str
    # The command that says it, and how to read its answer (True, False, or None when it cannot
    # be told); none where the CLI's files, read as its calls would read them, decide.
    args: tuple[str, ...] = ()
    logged_in: Callable[[bytes], bool | None] | None = None
    # The program the rule is for, where the provider has two (Gemini CLI, or Antigravity's
    # `agy`, which logs in its own way): another found in its place is not looked at.
    binary: str = ""
    # Whose login files it reads, when not its own id's (Gemini CLI over ACP reads Gemini's).
    files_of: str = ""


def _claude_logged_in(stdout: bytes) -> bool | None:
    """`claude auth status --json`: `{"loggedIn": false, "authMethod": "none", ...}`."""
    try:
        said = json.loads(stdout)
    except ValueError:
        return None
    answer = said.get("loggedIn") if isinstance(said, dict) else None
    return answer if isinstance(answer, bool) else None


def _grok_logged_in(stdout: bytes) -> bool | None:
    """`grok models` (0.2.111) begins "You are not authenticated." logged out, "You are using
    XAI_API_KEY." or the account's sign-in otherwise, then lists what it can run."""
    first = stdout.decode("utf-8", "replace").strip().splitlines()[:1]
    if not first:
        return None
    if first[0].startswith("You are not authenticated"):
        return False
    return True if first[0].startswith("You are ") else None


_GEMINI = LoginStatus(
    "run `gemini` and choose a sign-in, or set GEMINI_API_KEY before starting the gateway",
    binary="gemini",
)
LOGIN_STATUS: dict[str, LoginStatus] = {
    "claude": LoginStatus(
        "run `claude` and type /login, or set ANTHROPIC_API_KEY before starting the gateway",
        ("auth", "status", "--json"),
        _claude_logged_in,
    ),
    "grok": LoginStatus(
        "run `grok login`, or set XAI_API_KEY before starting the gateway",
        ("models",),
        _grok_logged_in,
    ),
    "codex": LoginStatus("run `codex login`, or set CODEX_API_KEY before starting the gateway"),
    "mistral": LoginStatus(
        "run `vibe --setup`, or set MISTRAL_API_KEY before starting the gateway"
    ),
    "gemini": _GEMINI,
    "gemini-acp": dataclasses.replace(_GEMINI, files_of="gemini"),
    "copilot": LoginStatus(
        "run `copilot` and type /login, or `gh auth login`, or set COPILOT_GITHUB_TOKEN (or "
        "COPILOT_PROVIDER_BASE_URL, for a model provider of its own) before starting the gateway"
    ),
}

# The API providers by their switch ids (`mistral-api`), for a refused key's provider's name.
_BY_SWITCH = {switch_id_for(spec.id): spec for spec in API_PROVIDERS}


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
        has_key: Callable[[str], Awaitable[bool]] | None = None,
        door_open: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`auth_files`: the vault's login files for a CLI (written under `auth_root` while it
        is asked); `has_key(vendor)`: whether the gateway holds a key for that API provider
        (`KeyChain.has_key`), and `door_open()` whether its HTTP door is bound: where either
        is missing, the ACP agents are not taken for pointed at the gateway."""
        self._discovery = discovery
        self._trouble = trouble
        self._is_enabled = is_enabled
        self._any_hard_budget = any_hard_budget
        self._environ = environ
        self._auth_files = auth_files
        self._auth_root = auth_root
        self._has_key = has_key
        self._door_open = door_open
        self._clock = clock
        # Per CLI: what its files said, where it was found and the vault's version when last
        # looked at, and when.
        self._asked: dict[str, tuple[tuple[str, CliAccount, object], float]] = {}
        # Per CLI: whether the last look found it installed.
        self._found: dict[str, bool] = {}
        # One asking at a time: the watch's look and the start banner's first look may come
        # together, and the second then finds the first's answer fresh.
        self._lock = asyncio.Lock()
        # The agents the last look found pointed at the gateway (installed, switched on): their
        # health shows their vendor's (`providers/health.through_vendor`).
        self.pointed: frozenset[str] = frozenset()

    async def check(self) -> None:
        """Look at the CLIs that are due (see the module's doc); quick when none is."""
        async with self._lock:
            pointed = await self._pointed()
            looked = []
            for provider in dict.fromkeys((*LOGIN_STATUS, *POINTED_AGENTS)):
                if await self._check_one(provider, provider in pointed):
                    looked.append(provider)
            self.pointed = frozenset(looked)

    async def _check_one(self, provider: str, pointed: bool) -> bool:
        """Look at `provider` if it is due; whether it is an agent pointed at the gateway
        that can run (installed and switched on)."""
        executable = await self._discovery.locate(provider)
        status = LOGIN_STATUS.get(provider)
        binary = status.binary if status is not None else ""
        if binary and executable is not None and Path(executable).stem != binary:
            executable = None  # another program in its place (`agy`): not looked at
        was_found, self._found[provider] = self._found.get(provider), executable is not None
        if executable is not None and was_found is False:  # installed since the last look
            self._trouble.note_set_right(provider, ErrorCode.NOT_INSTALLED)
        runs = executable is not None and self._is_enabled(provider)
        if executable is None or not runs or self._any_hard_budget():
            self._asked.pop(provider, None)
            self._trouble.note_login(provider, None)
            return runs and pointed
        if pointed:
            # Its login is the gateway's key for its vendor: whether that answers, each look.
            self._asked.pop(provider, None)
            problem = await self._vendor_problem(provider)
            self._trouble.note_login(provider, problem, pointed=True)
            return True
        if status is None:
            self._trouble.note_login(provider, None)  # its own settings decide: in doubt
            return False
        home = Path(self._environ.get("HOME") or Path.home())
        files = await asyncio.to_thread(
            read_account, status.files_of or provider, self._environ, home
        )
        refused = self._refused_key(files)
        if refused is not None:
            self._asked.pop(provider, None)  # looked at afresh once the key is not refused
            self._trouble.note_login(provider, refused)
            return False
        # The vault's login files count as the user's own: storing or deleting one is a change.
        seen = (executable, files, getattr(self._auth_files, "version", None))
        asked = self._asked.get(provider)
        if asked is not None and asked[0] == seen and self._clock() - asked[1] < RECHECK_S:
            return False
        self._asked[provider] = (seen, self._clock())
        changed = asked is not None and asked[0] != seen
        try:
            logged_in, own_word = await self._logged_in(provider, executable, status, files, home)
        except EngineError as exc:
            if exc.code != ErrorCode.STORE_UNAVAILABLE:
                raise
            # Its login files in the vault could not be read: in doubt, and looked at again
            # at the next look (the vault's coming back changes none of `seen`).
            self._asked.pop(provider, None)
            self._trouble.note_login(provider, None)
            return False
        if logged_in and (own_word or changed):
            # Logged in since a call was refused its login. Files unchanged and taken at their
            # word are the ones a revoked token leaves: the call's word stands then.
            self._trouble.note_set_right(provider, ErrorCode.AUTH_REQUIRED)
        self._trouble.note_login(
            provider, None if logged_in is not False else NOT_LOGGED_IN + status.fix
        )
        return False

    async def _logged_in(
        self, provider: str, executable: str, status: LoginStatus, files: CliAccount, home: Path
    ) -> tuple[bool | None, bool]:
        """Whether the CLI is logged in, as its files or its own answer say (None: unknown),
        and whether that is the CLI's own answer.

        Raises:
            EngineError: its vault login files could not be read (`store_unavailable`).
        """
        if not status.args:
            return await self._files_say(provider, status.files_of or provider, home), False
        if files.state in (LOGGED_IN, API_KEY):
            # Its files hold a login or a key: taken at their word, as before (a token revoked
            # since still fails its first call, which marks it). Only a logout they suggest is
            # worth a start of the CLI to confirm: its environment may log it in otherwise.
            return True, False
        return await self._ask(provider, executable, status), True

    def _refused_key(self, files: CliAccount) -> str | None:
        """The CLI's key, where it is the very key an API provider refused (read from the same
        environment variable), said as its trouble; None otherwise."""
        if files.state != API_KEY or files.detail != FROM_ENVIRONMENT:
            return None
        found = self._trouble.refused_key(f"env:{files.method}")
        if found is None:
            return None
        switch, trouble = found
        name = _BY_SWITCH[switch].name if switch in _BY_SWITCH else switch
        return (
            f"on the key {name} refused ({files.method}, "
            f"{trouble.code.removeprefix('upstream_')}); set a working one and start the "
            "gateway again, or log the CLI in with an account"
        )

    async def _pointed(self) -> frozenset[str]:
        """The ACP agents whose model calls come back through the gateway now
        (`auth/agent_callbacks.py`): its HTTP door is open and their own settings do not send
        them elsewhere (small files, all read in one hop off the loop)."""
        if self._has_key is None or not self._door_open():
            return frozenset()

        def read() -> frozenset[str]:
            return frozenset(p for p in POINTED_AGENTS if own_route(p, self._environ) is None)

        return await asyncio.to_thread(read)

    async def _vendor_problem(self, provider: str) -> str | None:
        """Why the API provider a pointed agent's calls go through answers nothing (switched
        off, no key, its key refused), said as the agent's trouble; None when it answers."""
        assert self._has_key is not None  # `_pointed` found it pointed
        spec = vendor_spec(provider)
        switch = switch_id_for(spec.id)
        name = spec.name
        where = f"pointed at the gateway's {name} provider, which "
        if not self._is_enabled(switch):
            return f"{where}is switched off; switch it on, or use another agent"
        if not await self._has_key(spec.id):
            variable = next(iter(spec.key_env), "its key variable")
            return (
                f"{where}has no key; set {variable} before starting the gateway, or store a "
                f"key for {name} in the vault"
            )
        trouble = self._trouble.of(switch)
        if trouble is not None and trouble.holds_back and not trouble.set_up_wanted:
            return f"{where}fails: {trouble.describe()}"
        return None

    @contextlib.asynccontextmanager
    async def _call_environment(self, provider: str) -> AsyncIterator[dict[str, str]]:
        """The environment a call of `provider` starts with: the child's, and the vault's
        login files for it (in a private directory while the block runs)."""
        environment = child_environment(provider)
        if self._auth_files is None:
            yield environment
            return
        # The vault's part loads with the first look, as a call's does (not at start).
        from llmgw_desktop.engine.providers.auth_home import cli_auth_environment

        async with cli_auth_environment(
            self._auth_files, provider, None, root=self._auth_root, unknown_fails=True
        ) as auth_env:
            yield {**environment, **auth_env}

    async def _files_say(self, provider: str, files_of: str, home: Path) -> bool | None:
        """What the CLI's files (`files_of`'s) say, read as its calls would read them."""
        async with self._call_environment(provider) as environment:
            account = await asyncio.to_thread(read_account, files_of, environment, home)
        if account.state == NOT_LOGGED_IN_FILES:
            return False
        return True if account.state in (LOGGED_IN, API_KEY) else None

    async def _ask(self, provider: str, executable: str, status: LoginStatus) -> bool | None:
        """The CLI's own answer, with the environment and vault files its calls get."""
        async with self._call_environment(provider) as environment:
            try:
                outcome = await run_process(
                    Invocation(argv=(executable, *status.args)),
                    VERSION_LIMITS,
                    environment=environment,
                )
            except OSError:
                return None
        if outcome.ended_by != "exit" or status.logged_in is None:
            return None
        return status.logged_in(outcome.stdout)
