"""Where each CLI looks for its auth files, so vault files can be handed to one call.

A CLI whose auth files are in the vault runs with one environment variable pointing at a
private temp directory holding them (`vault.auth_files.private_auth_dir`), instead of the user's
own config directory. The directory exists for that call only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.vault.auth_files import private_auth_dir

__all__ = ["AUTH_HOMES", "AuthFileSource", "AuthHome", "cli_auth_environment"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthHome:
    """The variable that moves a CLI's config home, and where its files sit below it."""

    env_var: str
    subdir: str = ""

    def environment(self, directory: Path) -> dict[str, str]:
        return {self.env_var: str(directory)}


AUTH_HOMES: dict[str, AuthHome] = {
    "claude": AuthHome("CLAUDE_CONFIG_DIR"),  # .credentials.json
    "codex": AuthHome("CODEX_HOME"),  # auth.json
    "gemini": AuthHome("GEMINI_CLI_HOME", ".gemini"),  # oauth_creds.json, settings.json
    "opencode": AuthHome("XDG_DATA_HOME", "opencode"),  # auth.json
    "copilot": AuthHome("COPILOT_HOME"),  # config.json
    "grok": AuthHome("GROK_HOME"),  # auth.json (and its config.toml, if stored)
    "mistral": AuthHome("VIBE_HOME"),  # .env, config.toml
}


class AuthFileSource(Protocol):
    async def resolve_files(
        self, provider: str, project: str | None = None
    ) -> dict[str, bytes]: ...


@contextlib.asynccontextmanager
async def cli_auth_environment(
    vault: AuthFileSource,
    provider: str,
    project: str | None,
    *,
    root: Path | None = None,
    unknown_fails: bool = False,
) -> AsyncIterator[dict[str, str]]:
    """The environment that hands `provider` its vault auth files for one call (or nothing).

    The files' directory is removed when the block ends, also on failure or cancellation.
    A locked or damaged vault leaves the CLI on its own configuration, with a warning; so
    does one whose database cannot be read now, unless `unknown_fails` (a look at whether
    the CLI is logged in, which must not conclude from files it could not read).

    Raises:
        EngineError: `unknown_fails`, and the vault's files are unknown (`store_unavailable`).
    """
    home = AUTH_HOMES.get(provider)
    files: dict[str, bytes] = {}
    if home is not None:
        try:
            files = await vault.resolve_files(provider, project)
        except EngineError as exc:
            if unknown_fails and exc.code == ErrorCode.STORE_UNAVAILABLE:
                raise
            log.warning("vault auth files for %s not used: %s", provider, exc.code)
    if home is None or not files:
        yield {}
        return
    async with private_auth_dir(files, root=root, subdir=home.subdir) as directory:
        yield home.environment(directory)
