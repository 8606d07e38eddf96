"""Which CLIs are installed, their versions and models, and how to upgrade them.

Versions are checked in parallel (each `--version` is a process start, up to 2 s for node
CLIs) and cached for a short time. Upgrades only run when explicitly asked; the default is a
dry run that shows the command. Upgrading, even as a plan, is the operator's alone: it runs a
package manager on the host (capability `cli.upgrade` in `engine/auth/access.py`).
The CLIs' adapters (their parsers) load with the first check, not with this module.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.config.cli_catalog import ProviderInfo
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.failures import tail
from llmgw_desktop.engine.providers.process import Invocation, RunLimits, run_process

__all__ = ["CliStatus", "Discovery", "UpgradeOutcome"]

log = logging.getLogger(__name__)

VERSION_LIMITS = RunLimits(timeout_s=15, kill_grace_s=1, max_output_bytes=1024 * 1024)
# A CLI's own model list: OpenCode's first `models` in a new home sets up its database (5 s on
# an idle machine, past 15 s on a loaded one), and the fallback is only its bridge's list.
LISTING_LIMITS = RunLimits(timeout_s=45, kill_grace_s=1, max_output_bytes=1024 * 1024)
UPGRADE_LIMITS = RunLimits(timeout_s=600, idle_timeout_s=300, kill_grace_s=5)
LOCATE_CACHE_S = 30.0
# Listing commands that work offline from the CLI's bundled catalog.
MODEL_LISTINGS: dict[str, tuple[str, ...]] = {
    "codex": ("debug", "models"),
    "opencode": ("models",),
}


@dataclass(frozen=True)
class CliStatus:
    """One CLI as found on this machine."""

    provider: str
    installed: bool
    executable: str | None = None
    version: str | None = None
    error: str | None = None
    install_command: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UpgradeOutcome:
    provider: str
    command: list[str]
    dry_run: bool
    ran: bool = False
    exit_code: int | None = None
    output_tail: str = ""
    version_before: str | None = None
    version_after: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Discovery:
    """Finds the CLIs and remembers their versions for `cache_s` seconds."""

    def __init__(
        self,
        *,
        search_path: Sequence[str] = (),
        cache_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        catalog: ProviderCatalog = SHIPPED_CATALOG,
    ) -> None:
        """`catalog`: the engine's (an ACP agent's `command` from `[providers.acp.NAME]` is
        its binary there)."""
        self._search_path = [str(Path(p).expanduser()) for p in search_path]
        self.catalog = catalog
        self._cache_s = cache_s
        self._clock = clock
        self._versions: dict[str, tuple[float, CliStatus]] = {}
        self._located: dict[str, tuple[float, str | None]] = {}
        self._lock = asyncio.Lock()

    async def locate(self, provider: str) -> str | None:
        """`executable()` off the loop, remembered briefly: every call asks, and PATH rarely
        changes between calls."""
        now = self._clock()
        cached = self._located.get(provider)
        if cached is not None and now - cached[0] < LOCATE_CACHE_S:
            return cached[1]
        found = await asyncio.to_thread(self.executable, provider)
        self._located[provider] = (now, found)
        return found

    def executable(self, provider: str) -> str | None:
        """The full path of the provider's CLI, or None. Looks in cli_path, then PATH, then
        where its vendor's installer puts it."""
        info = self.catalog.info(provider)
        homes = [str(Path(d).expanduser()) for d in info.home_dirs]
        path = os.pathsep.join([*self._search_path, os.environ.get("PATH", ""), *homes])
        for binary in info.binaries:
            found = shutil.which(binary, path=path)
            if found:
                return found
        return None

    async def status(self, provider: str, *, refresh: bool = False) -> CliStatus:
        return (await self.statuses([provider], refresh=refresh))[0]

    async def statuses(
        self, providers: Sequence[str] | None = None, *, refresh: bool = False
    ) -> list[CliStatus]:
        """Installed state and version of each provider's CLI, checked in parallel."""
        wanted = list(providers) if providers is not None else list(self.catalog.ids)
        async with self._lock:
            now = self._clock()
            stale = [
                p
                for p in wanted
                if refresh or p not in self._versions or now - self._versions[p][0] > self._cache_s
            ]
            fresh = await asyncio.gather(*(self._check(self.catalog.info(p)) for p in stale))
            for status in fresh:
                self._versions[status.provider] = (self._clock(), status)
                # Where it was found is news too: a CLI installed a moment ago is not "not
                # installed" to the calls for the rest of `LOCATE_CACHE_S`.
                self._located[status.provider] = (self._clock(), status.executable)
        return [self._versions[p][1] for p in wanted]

    async def _check(self, info: ProviderInfo) -> CliStatus:
        executable = await asyncio.to_thread(self.executable, info.id)
        if executable is None:
            return CliStatus(info.id, False, install_command=info.install_command)
        if info.speaks_acp:
            # An ACP agent need not take `--version` (codex-acp 0.16 refuses it, exit 2;
            # claude-agent-acp 0.23.1 prints nothing): its npm package says, without a start.
            version = await asyncio.to_thread(_package_version, executable, info)
            if version is not None:
                return CliStatus(info.id, True, executable, version=version)
        from llmgw_desktop.engine.providers.cli_adapters import adapter_for  # the CLIs' parsers

        argv = (executable, *adapter_for(info.id, self.catalog).version_args())
        try:
            outcome = await run_process(
                Invocation(argv=argv), VERSION_LIMITS, environment=child_environment(info.id)
            )
        except OSError as exc:
            return CliStatus(info.id, False, executable, error=str(exc))
        text = outcome.stdout.decode("utf-8", errors="replace").strip()
        if outcome.ended_by != "exit" or outcome.exit_code != 0:
            problem = tail(outcome.stderr_tail, 300) or f"ended by {outcome.ended_by}"
            return CliStatus(info.id, True, executable, error=problem)
        version = _first_version(text) or next(iter(text.splitlines()), None)
        if version is None:  # it printed nothing: its package may say
            version = await asyncio.to_thread(_package_version, executable, info)
        return CliStatus(info.id, True, executable, version=version)

    async def models(self, provider: str) -> list[str]:
        """Model names for `provider`: listed by the CLI where it can, else its bridge's (the
        one list `/v1/models` offers, `api_catalog.CLI_BRIDGES`).

        Raises:
            KeyError: `provider` is not a CLI or agent of this catalog.
        """
        known = list(self.catalog.bridge_of(provider).models)
        listing = MODEL_LISTINGS.get(provider)
        executable = await asyncio.to_thread(self.executable, provider)
        if listing and executable:
            try:
                outcome = await run_process(
                    Invocation(argv=(executable, *listing)),
                    LISTING_LIMITS,
                    environment=child_environment(provider),
                )
            except OSError as exc:
                why = str(exc)
            else:
                why = f"ended by {outcome.ended_by}, exit {outcome.exit_code}"
                if outcome.exit_code == 0:
                    text = outcome.stdout.decode("utf-8", errors="replace")
                    if parsed := _parse_model_listing(text):
                        return parsed
                    why = "it listed none"
            log.warning(
                "%s: could not list its models (%s); answering with its known ones",
                provider,
                why,
            )
        return known

    async def upgrade(
        self, principal: Principal, provider: str, *, dry_run: bool = True
    ) -> UpgradeOutcome:
        """Upgrade the provider's CLI with its package manager; only a plan when `dry_run`.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.CLI_UPGRADE)
        info = self.catalog.info(provider)
        command = list(info.upgrade_argv)
        before = (await self.status(provider)).version
        notes = []
        executable = await asyncio.to_thread(self.executable, provider)
        # A global npm install puts its command in <prefix>/bin; node_modules/.bin is a
        # project-local install, which `npm install -g` does not touch.
        if executable and info.installer == "npm" and "node_modules/.bin" in executable:
            notes.append(
                f"{executable} is a project-local install; `npm install -g` upgrades the "
                "global copy, not that one"
            )
        if not command:
            notes.append(
                f"the gateway knows no package for {info.display_name}: {info.install_command}"
            )
            return UpgradeOutcome(provider, command, dry_run, version_before=before, notes=notes)
        if dry_run:
            return UpgradeOutcome(provider, command, True, version_before=before, notes=notes)
        # A CLI that updates itself is run where it was found (~/.grok/bin is not on PATH).
        runner = executable if info.self_update else shutil.which(command[0])
        if runner is None:
            return UpgradeOutcome(
                provider,
                command,
                False,
                version_before=before,
                notes=[*notes, f"{command[0]} is not installed, so the upgrade cannot run"],
            )
        outcome = await run_process(
            Invocation(argv=(runner, *command[1:])),
            UPGRADE_LIMITS,
            environment=child_environment(info.installer),
        )
        after = (await self.status(provider, refresh=True)).version
        log.info("upgraded %s: %s -> %s (exit %s)", provider, before, after, outcome.exit_code)
        return UpgradeOutcome(
            provider,
            command,
            False,
            ran=True,
            exit_code=outcome.exit_code,
            output_tail=tail(outcome.stdout + outcome.stderr_tail, 2000),
            version_before=before,
            version_after=after,
            notes=notes,
        )


def _package_version(executable: str, info: ProviderInfo) -> str | None:
    """The version in the `package.json` of the npm package `executable` belongs to (found by
    its real path, a few folders up), None where there is none (blocking: small files)."""
    if info.installer != "npm":
        return None
    try:
        folder = Path(executable).resolve().parent
    except OSError:
        return None
    for candidate in (folder, *list(folder.parents)[:4]):
        try:
            data = json.loads((candidate / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("name") == info.package:
            version = data.get("version")
            return version if isinstance(version, str) and version else None
    return None


def _first_version(text: str) -> str | None:
    for word in text.replace("(", " ").replace(")", " ").split():
        candidate = word.lstrip("v").rstrip(".,")
        parts = candidate.split(".")
        if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]):
            return candidate
    return None


def _parse_model_listing(text: str) -> list[str]:
    """Model ids from `codex debug models` (JSON) or `opencode models` (one per line)."""
    try:
        data = json.loads(text)
    except ValueError:
        return [line.strip() for line in text.splitlines() if line.strip() and " " not in line]
    models = data.get("models") if isinstance(data, dict) else data
    out = []
    for entry in models or []:
        if isinstance(entry, dict) and entry.get("slug"):
            out.append(str(entry["slug"]))
        elif isinstance(entry, str):
            out.append(entry)
    return out
