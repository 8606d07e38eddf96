"""Provider sessions: every CLI conversation the gateway has run, per principal.

Each holds the directory it ran in (Claude, Gemini and OpenCode find a conversation only from
that directory) and the usage totals last seen (Codex, Copilot and Vibe report totals over the
whole conversation): ids and metadata only, never the conversation itself (the CLI keeps that).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["ProviderSessionInfo", "ProviderSessions"]


@dataclass(frozen=True)
class ProviderSessionInfo:
    """A CLI conversation the gateway ran: where, and the usage totals it last saw."""

    provider: str
    provider_session_id: str
    working_dir: str
    owns_dir: bool
    usage_totals: Usage
    last_used_at: float


class ProviderSessions:
    """Reads and writes the CLI conversations the gateway ran, always per principal."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def get(
        self, principal: str, provider: str, provider_session_id: str
    ) -> ProviderSessionInfo | None:
        """What the gateway knows of a CLI conversation this principal ran, or None."""
        PS = self._db.models.ProviderSession
        row = await self._db.run(
            lambda: PS.get_or_none(
                (PS.provider == provider)
                & (PS.provider_session_id == provider_session_id)
                & (PS.owner_principal == principal)
            )
        )
        return None if row is None else _provider_view(row)

    async def latest(
        self, principal: str, provider: str, working_dir: str | None = None
    ) -> ProviderSessionInfo | None:
        """The principal's most recently used conversation with `provider` (in a dir, if given)."""
        PS = self._db.models.ProviderSession
        where = (PS.owner_principal == principal) & (PS.provider == provider)
        if working_dir is not None:
            where &= PS.working_dir == working_dir
        row = await self._db.run(
            lambda: PS.select().where(where).order_by(PS.last_used_at.desc()).first()
        )
        return None if row is None else _provider_view(row)

    async def record(
        self,
        principal: str,
        provider: str,
        provider_session_id: str,
        *,
        working_dir: str,
        owns_dir: bool,
        usage_totals: Usage,
    ) -> None:
        """Remember a conversation the principal ran: where, and its usage totals so far."""
        await self._db.run(
            lambda: self.record_on_db_thread(
                principal, provider, provider_session_id, working_dir, owns_dir, usage_totals
            )
        )

    def record_on_db_thread(
        self,
        principal: str,
        provider: str,
        provider_session_id: str,
        working_dir: str,
        owns_dir: bool,
        usage_totals: Usage,
    ) -> None:
        """`record`, on the DB thread (the job store runs it in the job's final transaction)."""
        PS = self._db.models.ProviderSession
        now = self._clock()
        totals = json.dumps(usage_totals.as_dict())
        updated = (
            PS.update(usage_totals_json=totals, last_used_at=now, working_dir=working_dir)
            .where((PS.provider == provider) & (PS.provider_session_id == provider_session_id))
            .execute()
        )
        if not updated:
            PS.insert(
                provider=provider,
                provider_session_id=provider_session_id,
                owner_principal=principal,
                working_dir=working_dir,
                owns_dir=owns_dir,
                usage_totals_json=totals,
                created_at=now,
                last_used_at=now,
            ).execute()

    async def expire(self, used_before: float) -> list[ProviderSessionInfo]:
        """Forget conversations unused since `used_before`; returns them (to remove their dirs)."""
        PS = self._db.models.ProviderSession

        def expire() -> list[Any]:
            with self._db.models.database.atomic():
                rows = list(PS.select().where(PS.last_used_at < used_before))
                PS.delete().where(PS.last_used_at < used_before).execute()
                return rows

        return [_provider_view(r) for r in await self._db.run(expire)]


def _provider_view(row: Any) -> ProviderSessionInfo:
    totals = json.loads(row.usage_totals_json or "{}")
    return ProviderSessionInfo(
        provider=row.provider,
        provider_session_id=row.provider_session_id,
        working_dir=row.working_dir,
        owns_dir=bool(row.owns_dir),
        usage_totals=Usage(
            **{k: int(v) for k, v in totals.items() if k in Usage.__dataclass_fields__}
        ),
        last_used_at=row.last_used_at,
    )
