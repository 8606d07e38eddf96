from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import keyring.backends.fail
import pytest

from llmgw_desktop.engine.vault import VaultLocked
from llmgw_desktop.engine.vault.master_key import (
    ENV_VAR,
    FILE_ENV_VAR,
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    EnvKeySource,
    FileKeySource,
    KeyringSource,
    KeySource,
    encode_key,
    parse_key,
    resolve_master_key,
)
from tests.engine.vault.support import BrokenKeyring, FakeKeyring

RAW = bytes(range(32))
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.mark.parametrize(
    "text",
    [
        RAW.hex(),
        RAW.hex().upper(),
        base64.urlsafe_b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
        f"  {RAW.hex()}\n",
    ],
)
def test_env_key_accepts_hex_and_urlsafe_base64(text: str) -> None:
    assert EnvKeySource({ENV_VAR: text}).load() == RAW


@pytest.mark.parametrize(
    "text",
    [
        "too-short",
        RAW.hex()[:-2],
        "zz" * 32,
        base64.b64encode(bytes(range(200, 232))).decode(),  # standard alphabet: '+' and '/'
        base64.urlsafe_b64encode(bytes(16)).decode(),
        "x" * 32,
    ],
)
def test_malformed_env_key_is_a_clear_error_without_the_value(text: str) -> None:
    with pytest.raises(VaultLocked) as caught:
        EnvKeySource({ENV_VAR: text}).load()
    message = caught.value.message
    assert ENV_VAR in message
    assert "64 hexadecimal characters" in message
    assert "base64 of 32 bytes" in message
    assert text not in message
    assert caught.value.code == "vault_locked"


def test_unset_or_empty_env_key_means_no_key_there() -> None:
    assert EnvKeySource({}).load() is None
    assert EnvKeySource({ENV_VAR: "  "}).load() is None
    assert EnvKeySource({ENV_VAR: RAW.hex()}).create(RAW) is None


def test_env_key_wins_over_keyring_and_file(tmp_path: Path) -> None:
    keyring = FakeKeyring()
    keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, encode_key(bytes(32)))
    (tmp_path / "vault.key").write_text(encode_key(bytes([7]) * 32))
    (tmp_path / "vault.key").chmod(0o600)
    sources: list[KeySource] = [
        EnvKeySource({ENV_VAR: RAW.hex()}),
        KeyringSource(keyring),
        FileKeySource(tmp_path / "vault.key"),
    ]
    master = resolve_master_key(sources, may_create=True)
    assert master is not None
    assert (master.key, master.source) == (RAW, "env")


@posix_only
def test_new_key_file_is_private_base64_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "vault.key"
    sources: list[KeySource] = [EnvKeySource({}), FileKeySource(path)]
    first = resolve_master_key(sources, may_create=True)
    assert first is not None and first.source == "file"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse_key(path.read_text()) == first.key
    assert [p.name for p in path.parent.iterdir()] == ["vault.key"]  # no temp file left

    again = resolve_master_key(sources, may_create=True)
    assert again is not None and again.key == first.key


def test_no_key_is_made_when_creating_is_not_allowed(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    assert resolve_master_key([FileKeySource(path)], may_create=False) is None
    assert not path.exists()


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "vault.key"
    path.write_text(encode_key(RAW))
    path.chmod(mode)
    with pytest.raises(VaultLocked) as caught:
        FileKeySource(path).load()
    assert str(path) in caught.value.message
    assert "chmod 600" in caught.value.message
    assert encode_key(RAW) not in caught.value.message


def test_key_file_holding_something_else_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    path.write_text("my notes")
    path.chmod(0o600)
    with pytest.raises(VaultLocked, match="does not hold a master key"):
        resolve_master_key([FileKeySource(path)], may_create=True)
    assert path.read_text() == "my notes"


def test_usable_keyring_is_preferred_over_the_file_for_a_new_key(tmp_path: Path) -> None:
    keyring = FakeKeyring()
    path = tmp_path / "vault.key"
    sources: list[KeySource] = [EnvKeySource({}), KeyringSource(keyring), FileKeySource(path)]
    master = resolve_master_key(sources, may_create=True)
    assert master is not None and master.source == "keyring"
    assert parse_key(keyring.entries[(KEYRING_SERVICE, KEYRING_USERNAME)]) == master.key
    assert not path.exists()


def test_key_in_the_keyring_is_preferred_over_a_key_file(tmp_path: Path) -> None:
    keyring = FakeKeyring()
    keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, RAW.hex())
    path = tmp_path / "vault.key"
    path.write_text(encode_key(bytes(32)))
    path.chmod(0o600)
    master = resolve_master_key([KeyringSource(keyring), FileKeySource(path)], may_create=True)
    assert master is not None and (master.key, master.source) == (RAW, "keyring")


def test_key_file_is_still_found_when_the_keyring_holds_none(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    path.write_text(encode_key(RAW))
    path.chmod(0o600)
    keyring = FakeKeyring()
    master = resolve_master_key([KeyringSource(keyring), FileKeySource(path)], may_create=True)
    assert master is not None and (master.key, master.source) == (RAW, "file")
    assert keyring.entries == {}


@pytest.mark.parametrize(
    "backend",
    [keyring.backends.fail.Keyring(), FakeKeyring(priority=0), BrokenKeyring()],
    ids=["fail-backend", "priority-0", "raises"],
)
def test_unusable_keyring_falls_through_to_the_key_file(tmp_path: Path, backend: object) -> None:
    path = tmp_path / "vault.key"
    sources: list[KeySource] = [KeyringSource(backend), FileKeySource(path)]  # type: ignore[arg-type]
    master = resolve_master_key(sources, may_create=True)
    assert master is not None and master.source == "file"
    assert parse_key(path.read_text()) == master.key


def test_keyring_entry_that_is_not_a_key_is_an_error(tmp_path: Path) -> None:
    keyring = FakeKeyring()
    keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, "hunter2")
    with pytest.raises(VaultLocked, match="OS keyring") as caught:
        resolve_master_key([KeyringSource(keyring)], may_create=True)
    assert "hunter2" not in caught.value.message
    assert keyring.entries[(KEYRING_SERVICE, KEYRING_USERNAME)] == "hunter2"


def test_master_key_repr_hides_the_key() -> None:
    master = resolve_master_key([EnvKeySource({ENV_VAR: RAW.hex()})], may_create=False)
    assert master is not None
    assert RAW.hex() not in repr(master) and str(RAW) not in repr(master)


def test_the_key_comes_from_the_file_MASTER_KEY_FILE_names(tmp_path: Path) -> None:
    secret = tmp_path / "master-key"
    secret.write_text(RAW.hex() + "\n")
    secret.chmod(0o440)  # as a container's secret is mounted: the mode is the runtime's
    assert EnvKeySource({FILE_ENV_VAR: str(secret)}).load() == RAW


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({ENV_VAR: RAW.hex(), FILE_ENV_VAR: "{file}"}, "not both"),
        ({FILE_ENV_VAR: "{missing}"}, "cannot read the key file"),
        ({FILE_ENV_VAR: "{wrong}"}, "not a master key"),
    ],
)
def test_a_key_file_named_by_the_environment_that_cannot_be_used_locks_the_vault_saying_why(
    tmp_path: Path, environ: dict[str, str], words: str
) -> None:
    (tmp_path / "key").write_text(RAW.hex())
    (tmp_path / "wrong").write_text("not-a-key")
    places = {
        "{file}": tmp_path / "key",
        "{missing}": tmp_path / "nope",
        "{wrong}": tmp_path / "wrong",
    }
    given = {name: str(places.get(value, value)) for name, value in environ.items()}
    with pytest.raises(VaultLocked, match=words) as caught:
        EnvKeySource(given).load()
    assert RAW.hex() not in caught.value.message and "not-a-key" not in caught.value.message
