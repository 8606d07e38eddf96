"""Vault test helpers: master keys, a stand-in OS keyring, and a block of files cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from llmgw_desktop.engine.vault import ENV_VAR, EnvKeySource, FileKeySource, KeySource

KEY_A = "11" * 32
KEY_B = "22" * 32


class FakeKeyring:
    """An in-memory stand-in for the OS keyring: no keyring daemon runs where tests run."""

    def __init__(self, priority: float = 1.0) -> None:
        self.priority = priority
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password


class BrokenKeyring(FakeKeyring):
    """A keyring backend that claims to work and then fails, like a locked D-Bus collection."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("collection is locked")


def env_sources(key: str, tmp_path: Path) -> list[KeySource]:
    """An env key first, then a key file nobody writes (the vault has a key from the env)."""
    return [EnvKeySource({ENV_VAR: key}), FileKeySource(tmp_path / "keys" / "vault.key")]


async def folder_after_a_cancel(
    files: Callable[[], AbstractAsyncContextManager[Path]],
) -> Path:
    """The folder `files()` gave a block that was cancelled while inside it (as a CLI's run
    is), once the cancel has gone through."""
    inside = asyncio.Event()
    seen: list[Path] = []

    async def use_files() -> None:
        async with files() as path:
            seen.append(path)
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(use_files())
    await asyncio.wait_for(inside.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return seen[0]
