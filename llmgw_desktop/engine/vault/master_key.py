"""Where the vault's master key comes from: the environment, the OS keyring, or a key file.

Sources are asked in that order and the first one holding a key wins. A new key is made only
for a vault with nothing sealed yet, and kept in the keyring when a usable backend exists, else
in the key file. A source holding something that is not a key is an error, never skipped:
moving on to the next source would pick another key and lock the vault more confusingly.

Everything here blocks (keyring daemons, disk), so callers run it off the event loop.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.vault.crypto import KEY_BYTES
from llmgw_desktop.engine.vault.errors import VaultLocked

__all__ = [
    "ENV_VAR",
    "FILE_ENV_VAR",
    "KEYRING_SERVICE",
    "KEYRING_USERNAME",
    "KEY_FILE_NAME",
    "EnvKeySource",
    "FileKeySource",
    "KeySource",
    "KeyringBackend",
    "KeyringSource",
    "MasterKey",
    "default_key_sources",
    "encode_key",
    "parse_key",
    "resolve_master_key",
]

log = logging.getLogger(__name__)

ENV_VAR = "LLM_GATEWAY_MASTER_KEY"
FILE_ENV_VAR = "LLM_GATEWAY_MASTER_KEY_FILE"
KEYRING_SERVICE = "llmgw-desktop"
KEYRING_USERNAME = "vault-master-key"
KEY_FILE_NAME = "vault.key"
# Where the key is said to come from when an answer repeats it (never its value).
MASTER_KEY_SOURCE = "gateway:vault_master_key"
EXPECTED_FORMAT = (
    "64 hexadecimal characters, or URL-safe base64 of 32 bytes (43 characters, or 44 ending "
    "in '='); make one with: python -c \"import secrets; print(secrets.token_hex(32))\""
)
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_BASE64_KEY = re.compile(r"[A-Za-z0-9_-]{43}=?")


@dataclass(frozen=True)
class MasterKey:
    """The key the vault seals with, and which source it came from."""

    key: bytes = field(repr=False)
    source: str


class KeySource(Protocol):
    """One place a master key may live."""

    name: str  # "env", "keyring" or "file": what `Vault.status()["keySource"]` reports

    def describe(self) -> str:
        """Where this source looks, for messages."""
        ...

    def load(self) -> bytes | None:
        """The key held here, or None when this source holds none (or is unavailable).

        Raises:
            VaultLocked: something is here but it is not a usable key.
        """
        ...

    def create(self, key: bytes) -> bytes | None:
        """Keep a new `key` here; return the key now held (another process may have won).

        Returns None when this source cannot hold a key.
        """
        ...


class KeyringBackend(Protocol):
    """The part of a `keyring` backend the vault uses (tests pass a fake)."""

    @property
    def priority(self) -> float: ...

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...


def parse_key(text: str) -> bytes | None:
    """The 32-byte key written as hex or URL-safe base64, or None for anything else."""
    text = text.strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    if _BASE64_KEY.fullmatch(text):
        return base64.urlsafe_b64decode(text[:43] + "=")
    return None


def _key_in(text: str, not_a_key: str) -> bytes:
    """The key `text` holds, remembered as a secret first as written (in any spelling); one
    that holds none raises VaultLocked, saying `not_a_key`."""
    known_secrets.add(text.strip(), source=MASTER_KEY_SOURCE)
    key = parse_key(text)
    if key is None:
        raise VaultLocked(not_a_key)
    return key


def encode_key(key: bytes) -> str:
    """The form the keyring entry and the key file hold: URL-safe base64."""
    return base64.urlsafe_b64encode(key).decode("ascii")


class EnvKeySource:
    """`LLM_GATEWAY_MASTER_KEY`, or the file `LLM_GATEWAY_MASTER_KEY_FILE` names (a secret
    mounted as a file, as containers and systemd's credentials give one); read only, so a new
    key is never made here."""

    name = "env"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def describe(self) -> str:
        return f"the {ENV_VAR} environment variable (or {FILE_ENV_VAR})"

    def load(self) -> bytes | None:
        environ = os.environ if self._environ is None else self._environ
        text, where = environ.get(ENV_VAR, ""), ENV_VAR
        named = environ.get(FILE_ENV_VAR, "").strip()
        if named:
            if text.strip():
                raise VaultLocked(
                    f"both {ENV_VAR} and {FILE_ENV_VAR} are set: give the key or the file "
                    "holding it, not both."
                )
            text, where = _read_named_file(Path(named)), f"the file {named} ({FILE_ENV_VAR})"
        if not text.strip():
            return None
        return _key_in(
            text, f"{where} holds something that is not a master key: expected {EXPECTED_FORMAT}."
        )

    def create(self, key: bytes) -> bytes | None:
        return None


def _read_named_file(path: Path) -> str:
    """The text of the key file `LLM_GATEWAY_MASTER_KEY_FILE` names. Its mode is the secret
    store's to set (a container's secrets are often readable by the group the gateway runs in).

    Raises:
        VaultLocked: it cannot be read, or is not text.
    """
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise VaultLocked(
            f"cannot read the key file {path} that {FILE_ENV_VAR} names: {reason}."
        ) from None


class KeyringSource:
    """The OS keyring, when a usable backend exists; any keyring failure means "not here"."""

    name = "keyring"

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._given = backend

    def describe(self) -> str:
        return f'the OS keyring (service "{KEYRING_SERVICE}", user "{KEYRING_USERNAME}")'

    def _usable_backend(self) -> KeyringBackend | None:
        # Keyring backends fail in many ways (no D-Bus, a locked collection, a missing
        # package); each only means the key is not kept there, so any exception is caught.
        try:
            backend: Any = self._given
            if backend is None:
                import keyring

                backend = keyring.get_keyring()
            # The fail and null backends have priority 0 and -1: no keyring on this machine.
            return backend if float(backend.priority) > 0 else None
        except Exception as exc:
            log.warning("no usable OS keyring (%s); using the key file", type(exc).__name__)
            return None

    def load(self) -> bytes | None:
        backend = self._usable_backend()
        if backend is None:
            return None
        try:
            text = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        except Exception as exc:
            log.warning("the OS keyring could not be read (%s)", type(exc).__name__)
            return None
        if text is None:
            return None
        return _key_in(
            text,
            f"{self.describe()} holds something that is not a master key: expected "
            f"{EXPECTED_FORMAT}. It was left untouched; correct or remove that entry.",
        )

    def create(self, key: bytes) -> bytes | None:
        backend = self._usable_backend()
        if backend is None:
            return None
        try:
            backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, encode_key(key))
            # Read back: some backends accept a write they cannot return later.
            text = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        except Exception as exc:
            log.warning("the OS keyring could not keep the key (%s)", type(exc).__name__)
            return None
        return parse_key(text) if text is not None else None


class FileKeySource:
    """A key file readable only by its owner (default `<data_dir>/vault.key`)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"the key file {self.path}"

    def load(self) -> bytes | None:
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if os.name == "posix" and mode & 0o077:
                raise VaultLocked(
                    f"the key file {self.path} can be accessed by other users (mode "
                    f"{mode:04o}), so it is not used. Make it private with "
                    f"`chmod 600 '{self.path}'` and start again."
                )
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise VaultLocked(f"cannot read the key file {self.path}: {reason}.") from None
        return _key_in(
            text,
            f"the key file {self.path} does not hold a master key: expected {EXPECTED_FORMAT}. "
            "It was left untouched.",
        )

    def create(self, key: bytes) -> bytes | None:
        try:
            _create_private_file(self.path, encode_key(key) + "\n")
        except FileExistsError:
            return self.load()
        except OSError as exc:
            raise VaultLocked(
                f"cannot create the key file {self.path}: {exc.strerror}. Make its folder "
                f"writable, or set {ENV_VAR}."
            ) from None
        return key


def _create_private_file(path: Path, text: str) -> None:
    """Write `path` (mode 0600) all at once, never replacing a file that is already there.

    Raises:
        FileExistsError: `path` exists (another process made its key first).
        OSError: the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # A hard link, unlike a rename, fails when the target exists.
        os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    if os.name == "posix":
        # Losing the key after a crash would lose every record sealed with it.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def default_key_sources(
    data_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[KeySource, ...]:
    """The environment, the OS keyring and `<data_dir>/vault.key`, in that order."""
    return (EnvKeySource(environ), KeyringSource(), FileKeySource(data_dir / KEY_FILE_NAME))


def resolve_master_key(sources: Sequence[KeySource], *, may_create: bool) -> MasterKey | None:
    """The first key any source holds; else, if `may_create`, a new key kept in the first
    source that can hold one; else None.

    Raises:
        VaultLocked: a source holds something unusable, or no source can keep a new key.
    """
    for source in sources:
        key = source.load()
        if key is not None:
            _mask_from_now_on(key)
            return MasterKey(key, source.name)
    if not may_create:
        return None
    new_key = secrets.token_bytes(KEY_BYTES)
    for source in sources:
        held = source.create(new_key)
        if held is not None:
            log.info("made a new vault master key, kept in %s", source.describe())
            _mask_from_now_on(held)
            return MasterKey(held, source.name)
    where = ", ".join(source.describe() for source in sources)
    raise VaultLocked(f"no place to keep a new master key (tried {where}); set {ENV_VAR}.")


def _mask_from_now_on(key: bytes) -> None:
    """The redactor masks the key in each spelling it is kept or set in (it has no shape a
    pattern could find: an answer holding it was stored and shown as it was)."""
    encoded = encode_key(key)
    known_secrets.add(encoded, encoded.rstrip("="), key.hex(), source=MASTER_KEY_SOURCE)
