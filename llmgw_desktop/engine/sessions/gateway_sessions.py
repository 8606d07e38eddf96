"""Gateway sessions: conversations a caller names and continues, through each CLI's resume.

A gateway session (`gw-...`), made with `session_create`, names a conversation the caller wants
to continue; it learns the CLI's own session id after its first call. Each caller (the MCP
client's own name, or `X-Caller`) of a principal has its own active session per provider,
which its calls without a `sessionId` continue: two agents of one user never share a
conversation unless one names the other's session. Records are owned by a principal and hold
ids and metadata only, never the conversation itself (the CLI keeps that). The CLI
conversations themselves are `provider_sessions.py`; a gateway id is never handed to a CLI as
if it were the CLI's own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, NotFound
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.sessions.provider_sessions import ProviderSessions
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GATEWAY_PREFIX", "SessionStore", "SessionView"]

GATEWAY_PREFIX = "gw-"
MAX_TITLE = 200


@dataclass(frozen=True)
class SessionView:
    """A gateway session as its owner sees it."""

    id: str
    provider: str
    title: str
    active: bool  # for the caller who asked: its calls without a sessionId continue this one
    provider_session_id: str | None
    created_at: float
    updated_at: float
    last_used_at: float | None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "provider": self.provider,
            "title": self.title,
            "active": self.active,
            "providerSessionId": self.provider_session_id,
            "workingDir": self.metadata.get("working_dir"),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "lastUsedAt": self.last_used_at,
        }


class SessionStore:
    """Reads and writes gateway sessions, always per principal; `provider_sessions` holds the
    CLI conversations they (and session-less calls) ran."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        catalog: ProviderCatalog = SHIPPED_CATALOG,
    ) -> None:
        """`catalog`: the CLIs a session may belong to (the engine's)."""
        self._db = db
        self._catalog = catalog
        self._clock = clock
        self.provider_sessions = ProviderSessions(db, clock)

    # -- gateway sessions --------------------------------------------------------------------

    async def create(
        self,
        principal: str,
        provider: str,
        *,
        caller: str = "",
        title: str = "",
        working_dir: str | None = None,
        set_active: bool = True,
    ) -> SessionView:
        """A new gateway session for `provider`; by default it becomes `caller`'s active one.

        Raises:
            InvalidRequest: unknown provider or a title that is too long.
        """
        _check_provider(provider, self._catalog)
        if len(title) > MAX_TITLE:
            raise InvalidRequest(f"title is longer than {MAX_TITLE} characters", param="title")
        Session = self._db.models.Session
        now = self._clock()
        session_id = f"{GATEWAY_PREFIX}{uuid.uuid4()}"
        metadata = {"working_dir": working_dir} if working_dir else {}

        def write() -> Any:
            with self._db.models.database.atomic():
                row = Session.create(
                    id=session_id,
                    owner_principal=principal,
                    provider=provider,
                    title=redact(title),  # a caller's text, kept like every other
                    metadata_json=json.dumps(metadata),
                    created_at=now,
                    updated_at=now,
                )
                if set_active:
                    self._make_active(principal, caller, provider, session_id)
                return row

        return _view(await self._db.run(write), set_active)

    async def get(self, principal: str, session_id: str, *, caller: str = "") -> SessionView:
        """The session, `active` meaning active for `caller`.

        Raises:
            NotFound: no such session for this principal.
        """
        return (await self._rows(principal, caller, id_=session_id))[0]

    async def list_sessions(
        self, principal: str, provider: str | None = None, *, caller: str = ""
    ) -> list[SessionView]:
        """The principal's sessions, newest first, `active` meaning active for `caller`."""
        if provider is not None:
            _check_provider(provider, self._catalog)
        return await self._rows(principal, caller, provider=provider)

    async def active(
        self, principal: str, provider: str, *, caller: str = ""
    ) -> SessionView | None:
        """The session `caller`'s calls to `provider` continue when they name none."""
        Session, Active = self._db.models.Session, self._db.models.ActiveSession
        row = await self._db.run(
            lambda: (
                Session.select()
                .join(Active, on=(Active.session_id == Session.id))
                .where(
                    (Active.owner_principal == principal)
                    & (Active.caller == caller)
                    & (Active.provider == provider)
                    & (Session.owner_principal == principal)
                )
                .first()
            )
        )
        return None if row is None else _view(row, True)

    async def set_active(self, principal: str, session_id: str, *, caller: str = "") -> SessionView:
        """Make this the session `caller`'s calls to its provider continue by default (other
        callers keep theirs).

        Raises:
            NotFound: no such session for this principal.
        """
        session = await self.get(principal, session_id, caller=caller)
        Session = self._db.models.Session

        def write() -> None:
            with self._db.models.database.atomic():
                self._make_active(principal, caller, session.provider, session_id)
                Session.update(updated_at=self._clock()).where(Session.id == session_id).execute()

        await self._db.run(write)
        return await self.get(principal, session_id, caller=caller)

    async def delete(self, principal: str, session_id: str) -> SessionView:
        """Forget a gateway session (the CLI's own history is left alone).

        Raises:
            NotFound: no such session for this principal.
        """
        session = await self.get(principal, session_id)
        Session = self._db.models.Session
        # Whoever had it active loses it with it (the foreign key cascades).
        await self._db.run(lambda: Session.delete().where(Session.id == session_id).execute())
        return session

    async def clear(self, principal: str, provider: str | None = None) -> int:
        """Forget all of this principal's gateway sessions (for one provider, if given)."""
        Session = self._db.models.Session
        where = Session.owner_principal == principal
        if provider is not None:
            _check_provider(provider, self._catalog)
            where &= Session.provider == provider
        return int(await self._db.run(lambda: Session.delete().where(where).execute()))

    async def _rows(
        self,
        principal: str,
        caller: str,
        *,
        id_: str | None = None,
        provider: str | None = None,
    ) -> list[SessionView]:
        """Sessions of `principal` with whether each is `caller`'s active one.

        Raises:
            NotFound: `id_` was asked for and is not this principal's.
        """
        Session, Active = self._db.models.Session, self._db.models.ActiveSession
        where = Session.owner_principal == principal
        if id_ is not None:
            where &= Session.id == id_
        if provider is not None:
            where &= Session.provider == provider

        def read() -> tuple[list[Any], set[str]]:
            rows = list(Session.select().where(where).order_by(Session.updated_at.desc()))
            mine = Active.select(Active.session_id).where(
                (Active.owner_principal == principal) & (Active.caller == caller)
            )
            return rows, {a.session_id for a in mine}

        rows, active_ids = await self._db.run(read)
        if id_ is not None and not rows:
            raise NotFound(f"no session {id_!r}", session_id=id_)
        return [_view(r, r.id in active_ids) for r in rows]

    def turn_writer(
        self,
        principal: str,
        provider: str,
        provider_session_id: str | None,
        *,
        working_dir: str,
        owns_dir: bool,
        usage_totals: Usage,
        gateway_session_id: str | None,
    ) -> Callable[[], None]:
        """The database writes that record a finished call's conversation and gateway session,
        as a plain function for the job store to run in the job's final transaction."""

        def write() -> None:
            if provider_session_id:
                self.provider_sessions.record_on_db_thread(
                    principal, provider, provider_session_id, working_dir, owns_dir, usage_totals
                )
            if gateway_session_id:
                self._record_use(gateway_session_id, provider_session_id, working_dir)

        return write

    def _record_use(
        self, session_id: str, provider_session_id: str | None, working_dir: str | None
    ) -> None:
        Session = self._db.models.Session
        row = Session.get_or_none(Session.id == session_id)
        if row is None:
            return  # deleted while the call ran
        metadata = json.loads(row.metadata_json or "{}")
        if working_dir:
            metadata["working_dir"] = working_dir
        now = self._clock()
        Session.update(
            provider_session_id=provider_session_id or row.provider_session_id,
            metadata_json=json.dumps(metadata),
            last_used_at=now,
            updated_at=now,
        ).where(Session.id == session_id).execute()

    def _make_active(self, principal: str, caller: str, provider: str, session_id: str) -> None:
        """On the DB thread: `caller`'s calls to `provider` continue `session_id` from now on."""
        active = self._db.models.ActiveSession
        # An upsert on the key (not SQLite's `INSERT OR REPLACE`): the same on both engines.
        active.insert(
            owner_principal=principal,
            caller=caller,
            provider=provider,
            session_id=session_id,
            set_at=self._clock(),
        ).on_conflict(
            conflict_target=[active.owner_principal, active.caller, active.provider],
            update={active.session_id: session_id, active.set_at: self._clock()},
        ).execute()


def _check_provider(provider: str, catalog: ProviderCatalog) -> None:
    if provider not in catalog:
        raise InvalidRequest(
            f"unknown provider {provider!r}; known: {', '.join(catalog.ids)}",
            code=ErrorCode.UNKNOWN_PROVIDER,
            param="provider",
        )


def _view(row: Any, active: bool) -> SessionView:
    return SessionView(
        id=row.id,
        provider=row.provider,
        title=row.title,
        active=active,
        provider_session_id=row.provider_session_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        metadata=json.loads(row.metadata_json or "{}"),
    )
