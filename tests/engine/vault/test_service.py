from __future__ import annotations

import asyncio
import base64
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.errors import InvalidRequest, NotFound
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database, StoreUnavailable
from llmgw_desktop.engine.vault import (
    ENV_VAR,
    EnvKeySource,
    FileKeySource,
    KeyringSource,
    KeySource,
    Vault,
    VaultCorrupt,
    VaultError,
    VaultLocked,
)
from llmgw_desktop.engine.vault.queries import KEY_CHECK_META
from tests.engine.vault.support import (
    KEY_A,
    KEY_B,
    FakeKeyring,
    env_sources,
)

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
ANTHROPIC_KEY = "sk-ant-api03-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"


async def _reopen(db: Database, sources: list[KeySource]) -> Vault:
    vault = Vault(db, sources)
    await vault.open()
    return vault


_DUMPED = (
    "SELECT * FROM vault_keys ORDER BY id",
    "SELECT * FROM vault_files ORDER BY id",
    "SELECT * FROM store_meta WHERE key LIKE 'vault.%%' ORDER BY key",
)


def _dump(db: Database) -> list[tuple[Any, ...]]:
    """Every vault row and the key check, read around the app's own connection."""
    if db.engine.name == "postgresql":
        import psycopg

        with psycopg.connect(db.engine.url) as server:  # type: ignore[attr-defined]
            return [tuple(row) for sql in _DUMPED for row in server.execute(sql).fetchall()]
    with sqlite3.connect(db.path) as raw:
        return [row for sql in _DUMPED for row in raw.execute(sql.replace("%%", "%")).fetchall()]


async def _set_sealed(db: Database, model_name: str, record_id: str, sealed: str) -> None:
    model = getattr(db.models, model_name)
    await db.run(lambda: model.update(sealed=sealed).where(model.id == record_id).execute())


async def _sealed(db: Database, model_name: str, record_id: str) -> str:
    model = getattr(db.models, model_name)
    return str(await db.run(lambda: model.get_by_id(record_id).sealed))


def _flip_a_byte(sealed: str) -> str:
    raw = bytearray(base64.b64decode(sealed))
    raw[len(raw) // 2] ^= 0x40
    return base64.b64encode(bytes(raw)).decode()


# -- API keys ---------------------------------------------------------------------------------


async def test_stored_key_is_listed_masked_resolved_and_deleted(vault: Vault) -> None:
    stored = await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    assert stored == {
        "id": stored["id"],
        "provider": "openai",
        "keyName": "default",
        "project": "_global",
    }

    [listed] = await vault.list_keys(OPERATOR)
    assert listed["id"] == stored["id"]
    assert listed["maskedValue"] == "sk-pro...***"
    assert listed["readable"] is True
    datetime.fromisoformat(listed["createdAt"])
    datetime.fromisoformat(listed["updatedAt"])
    assert OPENAI_KEY not in repr(listed)

    assert await vault.resolve_keys("openai") == [OPENAI_KEY]
    assert await vault.delete_key(OPERATOR, stored["id"]) is True
    assert await vault.resolve_keys("openai") == []
    assert await vault.list_keys(OPERATOR) == []


async def test_short_key_is_masked_completely(vault: Vault) -> None:
    await vault.store_key(OPERATOR, "local", "abc123")
    [listed] = await vault.list_keys(OPERATOR)
    assert listed["maskedValue"] == "***"


async def test_storing_the_same_identity_replaces_the_value(db: Database, tmp_path: Path) -> None:
    now = [1000.0]
    vault = Vault(db, env_sources(KEY_A, tmp_path), clock=lambda: now[0])
    await vault.open()
    first = await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    now[0] = 2000.0
    second = await vault.store_key(OPERATOR, "openai", "sk-proj-replacement-key-0123456789")

    assert second["id"] == first["id"]
    assert await vault.resolve_keys("openai") == ["sk-proj-replacement-key-0123456789"]
    [listed] = await vault.list_keys(OPERATOR)
    assert listed["createdAt"].startswith("1970-01-01T00:16:40")
    assert listed["updatedAt"].startswith("1970-01-01T00:33:20")


async def test_project_keys_come_first_then_global_each_by_name(vault: Vault) -> None:
    await vault.store_key(OPERATOR, "openai", "sk-global-b-0000000000000", key_name="b")
    await vault.store_key(OPERATOR, "openai", "sk-global-a-0000000000000", key_name="a")
    await vault.store_key(
        OPERATOR, "openai", "sk-proj-z-00000000000000", key_name="z", project="web"
    )
    await vault.store_key(
        OPERATOR, "openai", "sk-proj-c-00000000000000", key_name="c", project="web"
    )
    await vault.store_key(OPERATOR, "openai", "sk-other-0000000000000000", project="other")
    await vault.store_key(OPERATOR, "anthropic", ANTHROPIC_KEY)

    assert await vault.resolve_keys("openai", "web") == [
        "sk-proj-c-00000000000000",
        "sk-proj-z-00000000000000",
        "sk-global-a-0000000000000",
        "sk-global-b-0000000000000",
    ]
    assert await vault.resolve_keys("openai") == [
        "sk-global-a-0000000000000",
        "sk-global-b-0000000000000",
    ]
    assert await vault.resolve_keys("openai", "nobody") == await vault.resolve_keys("openai")


async def test_listing_for_a_project_shows_its_rows_and_the_global_ones(vault: Vault) -> None:
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY, project="web")
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY, project="other")
    await vault.store_file(OPERATOR, "codex", "auth.json", "{}")
    await vault.store_file(OPERATOR, "codex", "auth.json", "{}", project="web")
    await vault.store_file(OPERATOR, "codex", "auth.json", "{}", project="other")

    assert {k["project"] for k in await vault.list_keys(OPERATOR, "web")} == {"web", "_global"}
    assert {f["project"] for f in await vault.list_files(OPERATOR, "web")} == {"web", "_global"}
    assert len(await vault.list_keys(OPERATOR)) == 3
    assert len(await vault.list_files(OPERATOR)) == 3


async def test_deleting_an_unknown_id_is_not_found(vault: Vault) -> None:
    stored = await vault.store_file(OPERATOR, "codex", "auth.json", "{}")
    with pytest.raises(NotFound):
        await vault.delete_key(OPERATOR, "key-nope")
    with pytest.raises(NotFound):
        await vault.delete_key(OPERATOR, stored["id"])  # a file id is not an API key id
    with pytest.raises(NotFound):
        await vault.delete_file(OPERATOR, "file-nope")


# -- auth files -------------------------------------------------------------------------------


async def test_stored_file_is_listed_without_content_resolved_and_deleted(vault: Vault) -> None:
    content = '{"refresh_token": "rt-very-secret-value"}'
    stored = await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", content)
    assert stored["size"] == len(content)

    [listed] = await vault.list_files(OPERATOR)
    assert set(listed) == {
        "id",
        "provider",
        "fileName",
        "project",
        "size",
        "createdAt",
        "updatedAt",
    }
    assert listed["fileName"] == "oauth_creds.json"
    assert "rt-very-secret-value" not in repr(listed)

    assert await vault.resolve_files("gemini") == {"oauth_creds.json": content.encode()}
    assert await vault.delete_file(OPERATOR, stored["id"]) is True
    assert await vault.resolve_files("gemini") == {}


async def test_file_upsert_replaces_content_and_size(vault: Vault) -> None:
    first = await vault.store_file(OPERATOR, "codex", "auth.json", b"\x00\x01binary")
    second = await vault.store_file(OPERATOR, "codex", "auth.json", "short")
    assert second["id"] == first["id"]
    assert (await vault.list_files(OPERATOR))[0]["size"] == 5
    assert await vault.resolve_files("codex") == {"auth.json": b"short"}


async def test_project_file_replaces_the_global_one_of_the_same_name(vault: Vault) -> None:
    await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", "global")
    await vault.store_file(OPERATOR, "gemini", "settings.json", "global settings")
    await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", "web", project="web")

    assert await vault.resolve_files("gemini", "web") == {
        "oauth_creds.json": b"web",
        "settings.json": b"global settings",
    }
    assert (await vault.resolve_files("gemini"))["oauth_creds.json"] == b"global"


# -- master key and locking -------------------------------------------------------------------


async def test_first_open_stores_a_key_check_and_reports_the_source(
    vault: Vault, db: Database
) -> None:
    assert vault.status()["keySource"] == "env"
    assert vault.status() == {"state": "open", "keySource": "env", "reason": None}
    check = await db.run(lambda: db.models.StoreMeta.get_by_id(KEY_CHECK_META).value)
    assert check and KEY_A not in check


async def test_wrong_master_key_locks_the_vault_and_keeps_everything(
    vault: Vault, db: Database, tmp_path: Path
) -> None:
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    await vault.store_file(OPERATOR, "codex", "auth.json", "{}")
    before = _dump(db)

    wrong = await _reopen(db, env_sources(KEY_B, tmp_path))
    assert wrong.locked and wrong.status()["state"] == "locked"
    calls = [
        wrong.store_key(OPERATOR, "openai", OPENAI_KEY),
        wrong.list_keys(OPERATOR),
        wrong.resolve_keys("openai"),
        wrong.delete_key(OPERATOR, "key-x"),
        wrong.store_file(OPERATOR, "codex", "auth.json", "{}"),
        wrong.list_files(OPERATOR),
        wrong.resolve_files("codex"),
        wrong.delete_file(OPERATOR, "file-x"),
    ]
    for call in calls:
        with pytest.raises(VaultLocked) as caught:
            await call
        assert caught.value.code == "vault_locked"

    message = caught.value.message
    assert "not the key this vault was created with" in message
    assert ENV_VAR in message
    assert "OS keyring" not in message  # only the sources this vault was given are named
    assert str(tmp_path / "keys" / "vault.key") in message
    assert "kept untouched" in message
    assert KEY_A not in message and KEY_B not in message and OPENAI_KEY not in message
    assert _dump(db) == before

    right = await _reopen(db, env_sources(KEY_A, tmp_path))
    assert await right.resolve_keys("openai") == [OPENAI_KEY]


async def test_locked_message_names_every_place_a_key_is_looked_for(
    vault: Vault, db: Database, tmp_path: Path
) -> None:
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    key_file = tmp_path / "data" / "vault.key"
    sources: list[KeySource] = [
        EnvKeySource({}),
        KeyringSource(FakeKeyring()),
        FileKeySource(key_file),
    ]
    missing = await _reopen(db, sources)
    reason = missing.status()["reason"]
    assert "no master key was found" in reason
    assert ENV_VAR in reason and "OS keyring" in reason and str(key_file) in reason
    assert "cannot be decrypted" in reason  # what losing the key means
    # A new key would open nothing: none is made while records exist.
    assert not key_file.exists()


async def test_malformed_env_key_locks_the_vault_with_the_expected_format(
    db: Database, tmp_path: Path
) -> None:
    vault = await _reopen(db, env_sources("not-a-key", tmp_path))
    with pytest.raises(VaultLocked, match="64 hexadecimal characters") as caught:
        await vault.list_keys(OPERATOR)
    assert "not-a-key" not in caught.value.message
    assert await db.run(lambda: db.models.StoreMeta.get_or_none(key=KEY_CHECK_META)) is None


async def test_key_file_source_is_reported_and_reused(db: Database, tmp_path: Path) -> None:
    sources: list[KeySource] = [EnvKeySource({}), FileKeySource(tmp_path / "vault.key")]
    first = await _reopen(db, sources)
    await first.store_key(OPERATOR, "openai", OPENAI_KEY)
    assert first.status()["keySource"] == "file"

    again = await _reopen(db, sources)
    assert again.status()["keySource"] == "file"
    assert await again.resolve_keys("openai") == [OPENAI_KEY]


async def test_keyring_source_is_reported(db: Database, tmp_path: Path) -> None:
    sources: list[KeySource] = [
        EnvKeySource({}),
        KeyringSource(FakeKeyring()),
        FileKeySource(tmp_path / "vault.key"),
    ]
    vault = await _reopen(db, sources)
    assert vault.status()["keySource"] == "keyring"
    assert not (tmp_path / "vault.key").exists()


async def test_use_before_open_is_a_locked_error(db: Database, tmp_path: Path) -> None:
    vault = Vault(db, env_sources(KEY_A, tmp_path))
    assert vault.status()["state"] == "not_open"
    with pytest.raises(VaultLocked, match="not open"):
        await vault.list_keys(OPERATOR)


async def test_records_without_a_key_check_are_adopted_only_by_their_key(
    vault: Vault, db: Database, tmp_path: Path
) -> None:
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    await db.run(lambda: db.models.StoreMeta.delete_by_id(KEY_CHECK_META))

    wrong = await _reopen(db, env_sources(KEY_B, tmp_path))
    assert wrong.locked
    assert await db.run(lambda: db.models.StoreMeta.get_or_none(key=KEY_CHECK_META)) is None

    right = await _reopen(db, env_sources(KEY_A, tmp_path))
    assert await right.resolve_keys("openai") == [OPENAI_KEY]
    assert await db.run(lambda: db.models.StoreMeta.get_or_none(key=KEY_CHECK_META)) is not None


# -- damaged records --------------------------------------------------------------------------


async def test_tampered_key_names_the_record_and_spares_the_others(
    vault: Vault, db: Database
) -> None:
    bad = await vault.store_key(OPERATOR, "openai", OPENAI_KEY, key_name="a")
    await vault.store_key(OPERATOR, "openai", "sk-proj-second-key-0123456789", key_name="b")
    await vault.store_key(OPERATOR, "anthropic", ANTHROPIC_KEY)
    await _set_sealed(
        db, "VaultKey", bad["id"], _flip_a_byte(await _sealed(db, "VaultKey", bad["id"]))
    )

    assert await vault.resolve_keys("openai") == ["sk-proj-second-key-0123456789"]
    assert await vault.resolve_keys("anthropic") == [ANTHROPIC_KEY]
    listed = {k["keyName"]: k for k in await vault.list_keys(OPERATOR) if k["provider"] == "openai"}
    assert (listed["a"]["readable"], listed["a"]["maskedValue"]) == (False, "***")
    assert listed["b"]["readable"] is True

    await vault.delete_key(OPERATOR, listed["b"]["id"])
    with pytest.raises(VaultCorrupt) as caught:
        await vault.resolve_keys("openai")
    error = caught.value
    assert isinstance(error, VaultError) and error.code == "vault_corrupt"
    for part in ("'openai'", "'a'", "'_global'", bad["id"]):
        assert part in error.message
    assert error.details["id"] == bad["id"]
    assert OPENAI_KEY not in error.message


async def test_tampered_file_raises_for_that_file_only(vault: Vault, db: Database) -> None:
    bad = await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", "creds")
    await vault.store_file(OPERATOR, "codex", "auth.json", "codex creds")
    await _set_sealed(
        db, "VaultFile", bad["id"], _flip_a_byte(await _sealed(db, "VaultFile", bad["id"]))
    )

    with pytest.raises(VaultCorrupt, match=r"oauth_creds\.json"):
        await vault.resolve_files("gemini")
    assert await vault.resolve_files("codex") == {"auth.json": b"codex creds"}


async def test_damaged_project_file_does_not_fall_back_to_the_global_one(
    vault: Vault, db: Database
) -> None:
    await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", "global")
    bad = await vault.store_file(OPERATOR, "gemini", "oauth_creds.json", "web", project="web")
    await _set_sealed(db, "VaultFile", bad["id"], "garbage")
    with pytest.raises(VaultCorrupt, match="'web'"):
        await vault.resolve_files("gemini", "web")


async def test_ciphertext_moved_to_another_row_does_not_decrypt(vault: Vault, db: Database) -> None:
    source = await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    target = await vault.store_key(OPERATOR, "anthropic", ANTHROPIC_KEY)
    await _set_sealed(db, "VaultKey", target["id"], await _sealed(db, "VaultKey", source["id"]))

    with pytest.raises(VaultCorrupt, match="'anthropic'"):
        await vault.resolve_keys("anthropic")
    assert await vault.resolve_keys("openai") == [OPENAI_KEY]


# -- input checks and secrecy -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda v: v.store_key(OPERATOR, "", OPENAI_KEY), "provider"),
        (lambda v: v.store_key(OPERATOR, "open ai", OPENAI_KEY), "provider"),
        (lambda v: v.store_key(OPERATOR, "../x", OPENAI_KEY), "provider"),
        (lambda v: v.store_key(OPERATOR, "p" * 65, OPENAI_KEY), "provider"),
        (lambda v: v.store_key(OPERATOR, "openai", OPENAI_KEY, key_name="a/b"), "key_name"),
        (lambda v: v.store_key(OPERATOR, "openai", OPENAI_KEY, project=""), "project"),
        (lambda v: v.store_key(OPERATOR, "openai", ""), "api_key"),
        (lambda v: v.store_key(OPERATOR, "openai", "sk-two\nlines"), "api_key"),
        (lambda v: v.store_key(OPERATOR, "openai", " sk-padded"), "api_key"),
        (lambda v: v.store_key(OPERATOR, "openai", "k" * (16 * 1024 + 1)), "api_key"),
        (lambda v: v.store_key(OPERATOR, "openai", 12345), "api_key"),
        (lambda v: v.store_key(OPERATOR, "openai", "sk-\ud800-lone-surrogate"), "api_key"),
        (lambda v: v.store_file(OPERATOR, "codex", "", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", "dir/auth.json", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", "dir\\auth.json", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", "..", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", "a..json", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", ".", "{}"), "file_name"),
        (lambda v: v.store_file(OPERATOR, "codex", "f" * 129, "{}"), "file_name"),
        (
            lambda v: v.store_file(OPERATOR, "codex", "auth.json", b"x" * (1024 * 1024 + 1)),
            "content",
        ),
        (lambda v: v.store_file(OPERATOR, "codex", "auth.json", {"a": 1}), "content"),
        (lambda v: v.resolve_keys("openai", "bad project"), "project"),
        (lambda v: v.list_files(OPERATOR, "bad/project"), "project"),
        (lambda v: v.delete_key(OPERATOR, ""), "id"),
    ],
)
async def test_bad_input_is_an_invalid_request_naming_the_field(
    vault: Vault, call: Any, field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await call(vault)
    assert caught.value.details["param"] == field
    assert caught.value.message.startswith(field)
    assert await vault.list_keys(OPERATOR) == [] and await vault.list_files(OPERATOR) == []


async def test_largest_allowed_values_are_accepted(vault: Vault) -> None:
    await vault.store_key(OPERATOR, "openai", "k" * (16 * 1024))
    await vault.store_file(OPERATOR, "codex", "f" * 128, b"x" * (1024 * 1024))
    assert (await vault.list_files(OPERATOR))[0]["size"] == 1024 * 1024


async def test_secrets_never_show_in_lists_errors_reprs_or_logs(
    vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    file_secret = "refresh-token-0123456789abcdef"
    await vault.store_key(OPERATOR, "openai", OPENAI_KEY)
    await vault.store_file(OPERATOR, "codex", "auth.json", file_secret)
    with pytest.raises(InvalidRequest) as caught:
        await vault.store_key(OPERATOR, "openai", OPENAI_KEY + "\n")

    shown = repr(
        [
            await vault.list_keys(OPERATOR),
            await vault.list_files(OPERATOR),
            vault,
            caught.value.to_dict(),
            vault.status(),
        ]
    )
    for secret in (OPENAI_KEY, file_secret, KEY_A):
        assert secret not in shown
        assert secret not in caplog.text
    # Should a key reach a log line anyway, the redactor masks its shape.
    assert OPENAI_KEY not in redact(f"calling with {OPENAI_KEY}")


async def test_an_open_in_the_background_keeps_key_calls_waiting_not_failing(
    tmp_path: Path,
) -> None:
    # Issue 42: the OS keyring is asked while the front door opens; a call that needs the key
    # meanwhile waits for the open instead of failing as "not open yet".
    db = Database(tmp_path / "v.db")
    await db.open()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    class SlowKeyring(KeyringSource):
        def load(self) -> bytes | None:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)
            return super().load()

    keyring = FakeKeyring()
    tasks: list[asyncio.Task[None]] = []
    try:
        first = Vault(db, env_sources(KEY_A, tmp_path))
        await first.open()
        await first.store_key(OPERATOR, "openai", OPENAI_KEY)
        vault = Vault(db, [SlowKeyring(keyring), *env_sources(KEY_A, tmp_path)])
        vault.open_later(lambda coro: tasks.append(asyncio.ensure_future(coro)) or tasks[-1])
        assert vault.status()["state"] == "opening"
        waiting = asyncio.ensure_future(vault.resolve_keys("openai"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        release.set()
        assert await asyncio.wait_for(waiting, 30) == [OPENAI_KEY]
        assert vault.status()["state"] == "open"
    finally:
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()


@pytest.mark.parametrize("background", [True, False], ids=["open_later", "open"])
async def test_an_open_that_met_the_database_down_opens_once_the_database_is_back(
    tmp_path: Path, background: bool
) -> None:
    # The store-outage suite saw it (a member whose PostgreSQL stopped before the vault's
    # background open read it): every later call was refused "not open yet" (its keys taken
    # for absent), and the vault never opened again. Its keys are unknown while the database
    # is down, and read once it answers.
    db = Database(tmp_path / "v.db")
    await db.open()
    tasks: list[asyncio.Task[None]] = []
    try:
        first = Vault(db, env_sources(KEY_A, tmp_path))
        await first.open()
        await first.store_key(OPERATOR, "openai", OPENAI_KEY)
        run = db.run

        async def down(fn: Any) -> Any:
            raise StoreUnavailable("the test's store", "the server is stopped")

        db.run = down  # type: ignore[method-assign]
        vault = Vault(db, env_sources(KEY_A, tmp_path))
        if background:
            vault.open_later(lambda coro: tasks.append(asyncio.ensure_future(coro)) or tasks[-1])
        else:
            with pytest.raises(StoreUnavailable):
                await vault.open()
        for _ in range(2):  # the open's own waiter (in the background), then a call after it
            with pytest.raises(StoreUnavailable):
                await vault.resolve_keys("openai")
        status = vault.status()
        assert status["state"] == "not_open"
        assert "cannot be reached" in status["reason"]
        db.run = run  # type: ignore[method-assign]
        assert await vault.resolve_keys("openai") == [OPENAI_KEY]
        assert vault.status()["state"] == "open"
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()
