"""A write the disk refuses is `DiskRefused` (507 `disk_refused`, retryable), naming the disk.

A real refusal: the store's file lives on a small tmpfs the test mounts and fills (the tests
run as root here and in CI; elsewhere it skips). Before, SQLite's
"database or disk is full" reached the front doors as a bare exception, answered 500
`internal_error`, and `/health` showed peewee's "cannot rollback - no transaction is active"
(the error that hid it) instead of the disk's words.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from llmgw_desktop.engine.errors import DiskRefused, ErrorCode, disk_refusal
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.health import refused_by_disk
from tests.reliability._recfaults_support import fill, store_on_a_small_disk


async def _store_meta(db: Database, n: int) -> None:
    models = db.models

    def write() -> None:
        with models.database.atomic():
            models.StoreMeta.create(key=f"k{n}", value="v" * 2000)

    await db.run(write)


async def _until_refused(db: Database) -> DiskRefused:
    for n in range(200):  # a few writes may still fit in room the files already had
        try:
            await _store_meta(db, n)
        except DiskRefused as refused:
            return refused
    raise AssertionError("200 writes on a refusing disk all succeeded")


async def test_a_full_disk_is_disk_refused_naming_the_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with store_on_a_small_disk(data, "4m") as db:
        filler = fill(data, "filler.bin")
        refused = await _until_refused(db)
        assert refused.code == ErrorCode.DISK_REFUSED and refused.http_status == 507
        assert refused.retryable and refused.details["retry_after_s"] == 30
        assert refused.message.startswith(f"the disk holding the database {db.path}")
        assert "it is full (database or disk is full)" in refused.message
        assert db.health.reason == "store: database or disk is full"
        filler.unlink()
        await _store_meta(db, 999)  # room again


def test_sqlite_s_words_for_a_read_only_or_full_file_are_the_disk_s_refusal() -> None:
    # A read-only remount cannot be made under an open database (the mount is busy), so the
    # words SQLite answers with are checked as they come, hidden behind peewee's rollback too.
    try:
        try:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        except sqlite3.OperationalError:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except sqlite3.OperationalError as hidden:
        assert refused_by_disk(hidden) == (
            "it is read-only",
            "attempt to write a readonly database",
        )
    assert refused_by_disk(sqlite3.OperationalError("database or disk is full")) == (
        "it is full",
        "database or disk is full",
    )
    assert refused_by_disk(OSError(errno.EROFS, "Read-only file system")) == (
        "it is read-only",
        "Read-only file system",
    )
    assert refused_by_disk(sqlite3.DatabaseError("database disk image is malformed")) is None


def test_an_os_error_of_a_refusing_disk_anywhere_in_the_chain_is_named() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/data/conversations/x")
        except OSError as exc:
            raise RuntimeError("writing the conversation failed") from exc
    except RuntimeError as outer:
        refused = disk_refusal(outer)
    assert refused is not None
    assert refused.message.startswith(
        "the disk holding /data/conversations/x refused the write: it is full "
        "(No space left on device)"
    )
    quota = disk_refusal(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert quota is not None and "over its quota" in quota.message
    assert disk_refusal(OSError(errno.EACCES, "Permission denied")) is None
    assert disk_refusal(ValueError("no")) is None
