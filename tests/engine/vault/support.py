"""Vault test helpers: master keys, and a stand-in OS keyring."""

from __future__ import annotations

from pathlib import Path

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
