"""The credential vault: API keys and auth files, sealed at rest, scoped per project.

A record is found by its identity (provider, key or file name, project); storing the same
identity again replaces the value. A project sees its own records first and the global ones
(`_global`) after. Values leave the vault only through `resolve_*`; lists show metadata and
masked keys.

Storing, listing and deleting are the operator's alone: each takes the caller's principal and
refuses anyone else (`engine/auth/access.py`, capability `vault`). Resolving is the engine's own
business and takes none.

Opening finds the master key and checks it against the key check kept in `store_meta`. A
missing or wrong key locks the vault: every operation then raises `VaultLocked` explaining
what to do, and nothing stored is written or deleted until the right key is back. A store
that fails the open (unreachable, or refusing the key check's write) leaves the key unknown
rather than missing: each call that needs it is refused the store's retryable error and opens
again, and so does the store's redo once it answers (`engine/store/redo.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import EngineError, NotFound, first_line
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.vault import queries
from llmgw_desktop.engine.vault.crypto import key_check_opens, record_aad, seal, seal_key_check
from llmgw_desktop.engine.vault.errors import VaultCorrupt, VaultError, VaultLocked
from llmgw_desktop.engine.vault.master_key import KeySource, resolve_master_key
from llmgw_desktop.engine.vault.records import (
    DEFAULT_KEY_NAME,
    FILE_KIND,
    GLOBAL_PROJECT,
    KEY_KIND,
    check_api_key,
    check_content,
    check_file_name,
    check_identifier,
    check_record_id,
    file_view,
    key_view,
    mask,
    open_record,
)

__all__ = ["Vault"]

log = logging.getLogger(__name__)

_KEPT = (
    "The stored credentials are kept untouched: put the original key back there and restart. "
    "If that key is lost, the stored credentials cannot be decrypted by anyone and have to be "
    "stored again under a new key."
)


class Vault:
    """Stores, lists, resolves and deletes sealed credentials; all queries on the DB thread."""

    def __init__(
        self,
        db: Database,
        key_sources: Sequence[KeySource],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._sources = tuple(key_sources)
        self._clock = clock
        self._key: bytes | None = None
        self._key_source: str | None = None
        self._lock_reason: str | None = None
        # Bumped by every write, so readers may cache what they resolved until it changes.
        self.version = 0
        # An open running in the background (`open_later`): what needs the key waits for it.
        self._opening: asyncio.Task[None] | None = None
        # Set while the last open failed (its database could not be read, or a bug): the key
        # is unknown, not missing. Where the store was why, a call that needs the key opens
        # again (`_open_again`: one open at a time, shared by the calls that waited for it).
        self._unopened: Exception | None = None
        self._reopening = asyncio.Lock()
        self._opens = 0

    def __repr__(self) -> str:
        return f"Vault(state={self.status()['state']!r}, key_source={self._key_source!r})"

    @property
    def locked(self) -> bool:
        """True before `open`, and after an `open` that found no key or the wrong one."""
        return self._key is None

    def status(self) -> dict[str, Any]:
        """For health and the UI: state ("open", "opening", "locked", "not_open"), key source,
        reason."""
        if self._key is not None:
            state = "open"
        elif self._opening is not None and not self._opening.done():
            state = "opening"
        elif self._lock_reason is not None:
            state = "locked"
        else:
            state = "not_open"
        reason = self._lock_reason
        if reason is None and self._key is None and self._unopened is not None:
            reason = first_line(self._unopened)
        return {"state": state, "keySource": self._key_source, "reason": reason}

    # -- opening -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Find the master key and check it; a missing or wrong key leaves the vault locked.

        Raises:
            StoreError: the store is not open.
            StoreUnavailable: the database cannot be reached: the key is unknown until a call
                that needs it opens again.
        """
        self._key, self._key_source = None, None
        try:
            await self._find_key()
        except Exception as exc:
            self._unopened = exc
            raise
        self._unopened = None

    async def _find_key(self) -> None:
        models = self._db.models
        check, has_records = await self._db.run(lambda: queries.read_state(models))
        # A new key only for a vault with nothing sealed: any other key could open nothing.
        may_create = check is None and not has_records
        try:
            master = await asyncio.to_thread(
                resolve_master_key, self._sources, may_create=may_create
            )
        except VaultLocked as exc:
            self._lock(f"the vault is locked: {exc.message} Nothing stored was changed.")
            return
        if master is None:
            self._lock(
                "the vault is locked: no master key was found, but this vault holds "
                f"credentials sealed with one. {self._where()} {_KEPT}"
            )
            return
        self._key_source = master.source
        if check is None:
            check = await self._db.run(
                lambda: queries.adopt_key_check(
                    models,
                    lambda: seal_key_check(master.key),
                    lambda kind, row: _opens(master.key, kind, row),
                )
            )
        if check is None or not key_check_opens(master.key, check):
            self._lock(
                f"the vault is locked: the master key from {self._describe(master.source)} is "
                f"not the key this vault was created with. {self._where()} {_KEPT}"
            )
            return
        self._key, self._lock_reason = master.key, None
        log.info("vault open (master key from %s)", master.source)

    def open_later(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]) -> None:
        """Open in a task of `spawn`'s: finding the master key may ask the OS keyring (its
        import and backend probe were a tenth of the headless start), and nothing
        but the vault's own calls needs it; they wait for this open."""
        self._opening = spawn(self._open_or_owe())

    async def _open_or_owe(self) -> None:
        # A failure is kept (`_unopened`) and told to each call that needs the key; when the
        # store is why, the vault opens again once it answers, whether or not one calls.
        try:
            await self.open()
        except Exception as exc:
            self._db.redo_later(log, "the vault could not be opened", exc, self._open_when_back)

    async def _open_when_back(self) -> None:
        """Open again, as a call that needs the key would.

        Raises:
            StoreUnavailable: the database still cannot be read.
        """
        with contextlib.suppress(VaultLocked):  # a key missing or wrong: its state says so
            await self._key_when_open()

    async def settled(self) -> dict[str, Any]:
        """`status` once an open under way has finished (the desk asks at start whether the
        vault opened)."""
        opening = self._opening
        if opening is not None and not opening.done():
            await asyncio.shield(opening)
        return self.status()

    async def _key_when_open(self) -> bytes:
        """The master key, once an open under way has finished.

        Raises:
            VaultLocked: no key was found, or the wrong one.
            StoreUnavailable: the database could not be read to find out.
        """
        opening, failed = self._opening, self._unopened
        if opening is not None and not opening.done():
            await asyncio.shield(opening)
        elif self._key is None and failed is not None and self._db.is_write_failure(failed):
            await self._open_again()
        return self._require_key()

    async def _open_again(self) -> None:
        """Open again, the store having been why the last open failed: one open at a time;
        a call that waited while another's ran takes its outcome rather than opening anew."""
        seen = self._opens
        async with self._reopening:
            if self._opens == seen and self._key is None:
                self._opens += 1
                await self._open_or_owe()

    def _lock(self, reason: str) -> None:
        self._key, self._lock_reason = None, reason
        log.warning("%s", reason)

    def _describe(self, source_name: str) -> str:
        for source in self._sources:
            if source.name == source_name:
                return source.describe()
        return source_name

    def _where(self) -> str:
        places = "; ".join(source.describe() for source in self._sources)
        return f"The key is looked for in this order: {places}."

    def _require_key(self) -> bytes:
        failed = self._unopened
        if self._key is None and isinstance(failed, EngineError):  # the store's, retryable
            raise failed.with_traceback(None)
        if self._key is None and failed is not None:
            raise VaultError(f"the vault could not be opened ({first_line(failed)})")
        if self._key is None:
            raise VaultLocked(self._lock_reason or "the vault is not open yet")
        return self._key

    # -- API keys -----------------------------------------------------------------------------

    async def store_key(
        self,
        principal: Principal,
        provider: str,
        api_key: str,
        *,
        key_name: str = DEFAULT_KEY_NAME,
        project: str = GLOBAL_PROJECT,
    ) -> dict[str, Any]:
        """Seal and keep `api_key`, replacing the value stored under the same identity.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            InvalidRequest: a field is malformed (the message names it).
        """
        require(principal, Capability.VAULT)
        key = await self._key_when_open()
        provider = check_identifier(provider, "provider")
        key_name = check_identifier(key_name, "key_name")
        project = check_identifier(project, "project")
        value = check_api_key(api_key).encode("utf-8")
        sealed = seal(key, value, record_aad(KEY_KIND, provider, key_name, project))
        models, now = self._db.models, self._clock()
        record_id = await self._db.run(
            lambda: queries.upsert_key(models, provider, key_name, project, sealed, now)
        )
        self.version += 1
        log.info("vault: stored API key %s/%s (project %s)", provider, key_name, project)
        return {"id": record_id, "provider": provider, "keyName": key_name, "project": project}

    async def list_keys(
        self, principal: Principal, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Every API key (or `project`'s and the global ones), masked; never a value.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            InvalidRequest: `project` is malformed.
        """
        require(principal, Capability.VAULT)
        key = await self._key_when_open()
        scopes = None if project is None else _scopes(check_identifier(project, "project"))
        models = self._db.models
        views = []
        for row in await self._db.run(lambda: queries.key_rows(models, None, scopes)):
            try:
                masked = mask(open_record(key, KEY_KIND, row).decode("utf-8"))
            except VaultCorrupt as exc:
                log.warning("%s", exc.message)
                views.append(key_view(row, "***", readable=False))
            else:
                views.append(key_view(row, masked, readable=True))
        return views

    async def delete_key(self, principal: Principal, record_id: str) -> bool:
        """Remove one API key.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            NotFound: no API key has this id.
        """
        require(principal, Capability.VAULT)
        return await self._delete(KEY_KIND, record_id)

    async def resolve_keys(self, provider: str, project: str | None = None) -> list[str]:
        """The usable keys for `provider`: the project's first, then global, each by name.

        Unreadable records are skipped with a warning.

        Raises:
            VaultLocked: the vault is locked.
            VaultCorrupt: records exist but none of them decrypts.
            InvalidRequest: `provider` or `project` is malformed.
        """
        key = await self._key_when_open()
        provider = check_identifier(provider, "provider")
        scopes = _scopes(None if project is None else check_identifier(project, "project"))
        models = self._db.models
        rows = sorted(
            await self._db.run(lambda: queries.key_rows(models, provider, scopes)),
            key=lambda row: (scopes.index(row.project), row.key_name),
        )
        values: list[str] = []
        failures: list[VaultCorrupt] = []
        for row in rows:
            try:
                values.append(open_record(key, KEY_KIND, row).decode("utf-8"))
            except VaultCorrupt as exc:
                log.warning("%s; skipped", exc.message)
                failures.append(exc)
        if failures and not values:
            raise failures[0]
        return values

    # -- auth files ---------------------------------------------------------------------------

    async def store_file(
        self,
        principal: Principal,
        provider: str,
        file_name: str,
        content: str | bytes,
        *,
        project: str = GLOBAL_PROJECT,
    ) -> dict[str, Any]:
        """Seal and keep an auth file, replacing the one stored under the same identity.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            InvalidRequest: a field is malformed or the content is too large.
        """
        require(principal, Capability.VAULT)
        key = await self._key_when_open()
        provider = check_identifier(provider, "provider")
        file_name = check_file_name(file_name)
        project = check_identifier(project, "project")
        data = check_content(content)
        sealed = seal(key, data, record_aad(FILE_KIND, provider, file_name, project))
        models, now, size = self._db.models, self._clock(), len(data)
        record_id = await self._db.run(
            lambda: queries.upsert_file(models, provider, file_name, project, sealed, size, now)
        )
        self.version += 1
        log.info("vault: stored auth file %s/%s (project %s)", provider, file_name, project)
        return {
            "id": record_id,
            "provider": provider,
            "fileName": file_name,
            "project": project,
            "size": size,
        }

    async def list_files(
        self, principal: Principal, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Every auth file (or `project`'s and the global ones): metadata, never content.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            InvalidRequest: `project` is malformed.
        """
        require(principal, Capability.VAULT)
        await self._key_when_open()
        scopes = None if project is None else _scopes(check_identifier(project, "project"))
        models = self._db.models
        return [
            file_view(row)
            for row in await self._db.run(lambda: queries.file_summaries(models, scopes))
        ]

    async def delete_file(self, principal: Principal, record_id: str) -> bool:
        """Remove one auth file.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            VaultLocked: the vault is locked.
            NotFound: no auth file has this id.
        """
        require(principal, Capability.VAULT)
        return await self._delete(FILE_KIND, record_id)

    async def resolve_files(self, provider: str, project: str | None = None) -> dict[str, bytes]:
        """`provider`'s auth files by name; a project's file replaces a global one of that name.

        Raises:
            VaultLocked: the vault is locked.
            VaultCorrupt: a file that would be used does not decrypt (a damaged project file
                never falls back to the global one silently).
            InvalidRequest: `provider` or `project` is malformed.
        """
        key = await self._key_when_open()
        provider = check_identifier(provider, "provider")
        scopes = _scopes(None if project is None else check_identifier(project, "project"))
        models = self._db.models
        chosen: dict[str, Any] = {}
        for row in await self._db.run(lambda: queries.file_rows(models, provider, scopes)):
            current = chosen.get(row.file_name)
            if current is None or scopes.index(row.project) < scopes.index(current.project):
                chosen[row.file_name] = row
        return {name: open_record(key, FILE_KIND, row) for name, row in chosen.items()}

    async def _delete(self, kind: str, record_id: str) -> bool:
        await self._key_when_open()
        record_id = check_record_id(record_id)
        models = self._db.models
        if not await self._db.run(lambda: queries.delete_record(models, kind, record_id)):
            label = "API key" if kind == KEY_KIND else "auth file"
            raise NotFound(f"no {label} with id {record_id!r}", id=record_id)
        self.version += 1
        log.info("vault: deleted %s", record_id)
        return True


def _scopes(project: str | None) -> list[str]:
    """The projects a lookup sees, most specific first."""
    if project is None or project == GLOBAL_PROJECT:
        return [GLOBAL_PROJECT]
    return [project, GLOBAL_PROJECT]


def _opens(key: bytes, kind: str, row: Any) -> bool:
    try:
        open_record(key, kind, row)
    except VaultCorrupt:
        return False
    return True
