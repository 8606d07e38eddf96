"""Verified gateway keys remembered until any process changes a key (SQLite stores).

A key's row was read from the store on every request so that a revocation written by the CLI,
another gateway process or the Access keys page counts at the next request. On SQLite that read is a
hop to the store's one thread, where it waits behind the recorder's flushes: the largest part
of authenticating a key under load (bench/request_stages.py). Every process that shares a
SQLite store shares its directory, so each write of a key (create, rotate, revoke) replaces a
marker file beside the database once the write has committed, and a verified key's row is kept
in memory for as long as the marker is the one it was read under. A request `stat`s the marker
(a few microseconds, no thread hop) before it trusts what it remembers; a row is re-read after
any change by anyone. Expiry and a rotated key's grace are times in the row, checked at each
use. A PostgreSQL store may be shared across machines, where no file is shared: there every
request still reads the row.

Order is what makes it safe: a verifier reads the marker, then the row; a writer commits the
row, then replaces the marker. A verifier that saw the marker a writer left therefore read the
row that writer committed, and one that raced it sees a new marker at its next request.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from llmgw_desktop.engine.auth.gateway_keys_store import KeyRecord

__all__ = ["MARKER_SUFFIX", "KeyChanges", "VerifiedKeys"]

# Beside the database file: `llmgw.db.keys-changed`.
MARKER_SUFFIX = ".keys-changed"
# Digests of verified keys remembered at most (a team's keys fit; then it starts over).
MAX_REMEMBERED = 4096

# What a stamp is: the marker's inode, modification time and size, or "none yet".
Stamp = tuple[int, int, int] | str


class KeyChanges:
    """The marker every write of a key replaces (None where no file is shared: PostgreSQL)."""

    def __init__(self, marker: Path | None) -> None:
        self.marker = marker
        # Stated once: every verified request stats the marker, and a Path's stat costs its
        # string conversion and a method's layers each time.
        self._marker_name = None if marker is None else os.fspath(marker)

    @classmethod
    def beside(cls, database: Path, *, url: str = "") -> KeyChanges:
        """The marker of the SQLite file `database`; none for a PostgreSQL `url`."""
        return cls(None if url else database.with_name(database.name + MARKER_SUFFIX))

    def stamp(self) -> Stamp | None:
        """The marker as it is now; None: nothing may be remembered (no marker to trust)."""
        if self._marker_name is None:
            return None
        try:
            seen = os.stat(self._marker_name)  # noqa: PTH116 (see __init__)
        except FileNotFoundError:
            return "none yet"
        except OSError:
            return None
        return (seen.st_ino, seen.st_mtime_ns, seen.st_size)

    def changed(self) -> None:
        """Say a key changed (after its write committed; blocks: run off the loop). Replacing
        the file gives it a new inode, so no two changes leave the same stamp."""
        if self.marker is None:
            return
        fresh = self.marker.with_name(f"{self.marker.name}.{secrets.token_hex(4)}")
        fresh.write_text(secrets.token_hex(8), encoding="ascii")
        fresh.replace(self.marker)


class VerifiedKeys:
    """Rows of keys verified under one stamp of the marker; dropped when it changes."""

    def __init__(self, changes: KeyChanges) -> None:
        self.changes = changes
        self._stamp: Stamp | None = None
        self._rows: dict[str, KeyRecord] = {}

    def stamp(self) -> Stamp | None:
        """The marker now (read before the store is, see the module docstring)."""
        return self.changes.stamp()

    def get(self, digest: str, stamp: Stamp | None) -> KeyRecord | None:
        """The row remembered for `digest` if nothing changed since it was read, else None."""
        if stamp is None or stamp != self._stamp:
            self._rows.clear()
            self._stamp = stamp
            return None
        return self._rows.get(digest)

    def put(self, digest: str, record: KeyRecord, stamp: Stamp | None) -> None:
        """Remember `record`, read under `stamp`."""
        if stamp is None or stamp != self._stamp:
            return  # read under another marker than the one remembered now: not kept
        if len(self._rows) >= MAX_REMEMBERED:
            self._rows.clear()
        self._rows[digest] = record

    def forget(self) -> None:
        """Drop everything (this process changed a key)."""
        self._rows.clear()
        self._stamp = None
