"""Request and response bodies, kept only where the person asked (`recorder.capture`).

Off by default: a flight-recorder row holds numbers, codes and routes. A person debugging a
provider, an agent or a project names it in `[recorder.capture]`, and from then on (no restart:
`apply` takes a saved setting) the gateway hands the bodies of those requests here. They wait in
memory for the recorder's next flush (a bounded count: past it the newest are dropped and
counted), and are written by it on the database thread, each text redacted as every other text
the recorder keeps (`engine/redact.py`: shapes of keys, named secrets, the process's own) and
cut to `max_chars` with a marker saying how much was cut. The recorder's prune deletes those
older than `retention_hours`. Reads filter by principal for anyone but the desk, so a remote
principal never sees another's bodies (and no front door offers them today).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.outage import Outage
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = [
    "CAPTURE_KEYS",
    "BodyCapture",
    "CapturePolicy",
    "KeptBodies",
    "cut_marker",
]

log = logging.getLogger(__name__)

# Bodies waiting for a flush; beyond this (a store that refuses writes for long) they are dropped.
MAX_PENDING_BODIES = 500
# Characters kept past `max_chars` before redaction, so a secret lying across the cut is still
# seen whole by the redactor (the cut then falls inside its mask, never inside the secret).
REDACT_MARGIN = 1024
PRUNE_BATCH = 2_000
ANY = "*"
# The settings behind a policy: key -> the policy field it sets.
CAPTURE_KEYS: Mapping[str, str] = {
    "recorder.capture.providers": "providers",
    "recorder.capture.agents": "agents",
    "recorder.capture.projects": "projects",
    "recorder.capture.retention_hours": "retention_hours",
    "recorder.capture.max_body_bytes": "max_chars",
}


def cut_marker(cut: int) -> str:
    """What ends a body that was cut: how many characters are not kept."""
    return f"\n…[cut by the gateway: {cut:,} more characters not kept]"


@dataclass(frozen=True)
class CapturePolicy:
    """Whose bodies are kept, for how long, and how much of each."""

    providers: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    retention_hours: float = 24.0
    max_chars: int = 256 * 1024

    @property
    def on(self) -> bool:
        """Whether any request can have its bodies kept."""
        return bool(self.providers or self.agents or self.projects)

    def wants(self, provider: str, agent: str, project: str | None) -> bool:
        """Whether a request answered by `provider`, from `agent`, in `project` is kept."""
        if not (self.providers or self.agents or self.projects):
            return False  # off, as by default: every request asks
        agent = agent.lower()
        return (
            _named(self.providers, provider.lower())
            or any(name == ANY or (name and agent.startswith(name)) for name in self.agents)
            or (project is not None and _named(self.projects, project.lower()))
        )

    def describe(self) -> str:
        """The policy in one line, for the recorder page."""
        if not self.on:
            return "off"
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("providers", self.providers),
                ("agents", self.agents),
                ("projects", self.projects),
            )
            if names
        ]
        return f"on for {'; '.join(parts)} · kept {self.retention_hours:g} h"

    def with_setting(self, key: str, value: Any) -> CapturePolicy:
        """This policy with one `recorder.capture.*` setting changed (already checked).

        Raises:
            KeyError: `key` is not one of `CAPTURE_KEYS`.
        """
        name = CAPTURE_KEYS[key]
        if name == "providers":
            return replace(self, providers=_names(value))
        if name == "agents":
            return replace(self, agents=_names(value))
        if name == "projects":
            return replace(self, projects=_names(value))
        if name == "retention_hours":
            return replace(self, retention_hours=float(value))
        return replace(self, max_chars=int(value))

    @classmethod
    def of(cls, settings: Any) -> CapturePolicy:
        """The policy the settings declare (`recorder.capture.*`)."""
        return cls(
            providers=_names(settings.recorder.capture.providers),
            agents=_names(settings.recorder.capture.agents),
            projects=_names(settings.recorder.capture.projects),
            retention_hours=float(settings.recorder.capture.retention_hours),
            max_chars=int(settings.recorder.capture.max_body_bytes),
        )


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip().lower() for v in values if v.strip()))


def _named(names: tuple[str, ...], value: str) -> bool:
    return bool(value) and (ANY in names or value in names)


@dataclass(frozen=True)
class KeptBodies:
    """One request's kept bodies, as stored (redacted, perhaps cut); one queued for the write
    is cut to the redactor's margin and not yet redacted."""

    record_id: str
    owner_principal: str
    kept_at: float
    dialect: str
    endpoint: str
    stream: bool
    headers: dict[str, str]
    request: str
    request_cut: int
    response: str
    response_cut: int

    def as_json(self) -> dict[str, Any]:
        """The bodies as an export file holds them (the request parsed when it is JSON)."""
        try:
            request: Any = json.loads(self.request) if not self.request_cut else self.request
        except ValueError:
            request = self.request
        return {
            "recordId": self.record_id,
            "principal": self.owner_principal,
            "keptAt": self.kept_at,
            "dialect": self.dialect,
            "endpoint": self.endpoint,
            "stream": self.stream,
            "headers": dict(self.headers),
            "request": request,
            "requestCut": self.request_cut,
            "response": self.response,
            "responseCut": self.response_cut,
        }


_COLUMNS = (
    "record_id",
    "owner_principal",
    "kept_at",
    "dialect",
    "endpoint",
    "stream",
    "headers_json",
    "request",
    "request_cut",
    "response",
    "response_cut",
)


class BodyCapture:
    """The bodies the policy keeps: queued by the gateway, written at the recorder's flush."""

    def __init__(
        self,
        db: Database,
        policy: CapturePolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = MAX_PENDING_BODIES,
    ) -> None:
        self._db = db
        self.policy = policy or CapturePolicy()
        self._clock = clock
        self._max_pending = max_pending
        self._pending: list[KeptBodies] = []
        self.dropped = 0
        self._outage = Outage()  # failing writes of one stretch: said at its start and end
        self.written = 0

    def apply(self, key: str, value: Any) -> None:
        """Take a saved `recorder.capture.*` setting now (the Settings page calls it).

        Raises:
            KeyError: `key` is not one of `CAPTURE_KEYS`.
        """
        self.policy = self.policy.with_setting(key, value)
        log.info("body capture: %s", self.policy.describe())

    def captured_providers(self) -> tuple[str, ...]:
        """The providers whose requests' bodies are kept now (`recorder.capture.providers`;
        "*" for every one)."""
        return tuple(self.policy.providers)

    def wants(self, provider: str, agent: str, project: str | None) -> bool:
        """Whether the policy keeps this request's bodies."""
        return self.policy.wants(provider, agent, project)

    def keep(
        self,
        record_id: str,
        *,
        principal: str,
        dialect: str,
        endpoint: str,
        stream: bool,
        headers: Mapping[str, str],
        request: str,
        response: str,
        request_cut: int = 0,
        response_cut: int = 0,
    ) -> None:
        """Queue one request's bodies for the next flush. The texts are cut here (a margin
        past `max_chars` stays, for the redactor), redacted at the write. Never blocks."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        limit = self.policy.max_chars + REDACT_MARGIN
        request, more_in = _clip(request, limit)
        response, more_out = _clip(response, limit)
        self._pending.append(
            KeptBodies(
                record_id,
                principal,
                self._clock(),
                dialect[:40],
                endpoint[:300],
                stream,
                dict(headers),
                request,
                request_cut + more_in,
                response,
                response_cut + more_out,
            )
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Write what is queued (redacted, cut) in one transaction; what the store refuses is
        dropped and counted (bodies are a debugging aid, not the record itself)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        rows_of = functools.partial(_stored_rows, batch, self.policy.max_chars)

        def write() -> None:
            database = self._db.models.database
            rows = rows_of()
            verb = "INSERT" if is_postgresql(database) else "INSERT OR REPLACE"
            conflict = (
                " ON CONFLICT (record_id) DO UPDATE SET response = excluded.response,"
                " response_cut = excluded.response_cut"
                if is_postgresql(database)
                else ""
            )
            sql = portable(
                database,
                f"{verb} INTO request_bodies ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)}){conflict}",
            )
            with database.atomic():
                cursor = database.cursor()
                cursor.executemany(sql, rows)

        try:
            await self._db.run(write)
        except Exception as exc:  # the store refused: these bodies are lost, and counted
            self.dropped += len(batch)
            if self._outage.failed(str(exc)):  # said once an outage; its end says how many
                log.warning("could not keep %d request body(ies): %s", len(batch), exc)
            return
        end = self._outage.recovered()
        if end is not None:
            log.warning("request bodies are kept again (%s)", end.describe())
        self.written += len(batch)

    async def prune(self) -> int:
        """Delete the bodies older than the retention, a batch at a time; how many."""
        cutoff = self._clock() - self.policy.retention_hours * 3600

        def delete() -> int:
            database = self._db.models.database
            sql = portable(
                database,
                "DELETE FROM request_bodies WHERE record_id IN (SELECT record_id FROM "
                "request_bodies WHERE kept_at < ? LIMIT ?)",
            )
            return int(database.execute_sql(sql, (cutoff, PRUNE_BATCH)).rowcount or 0)

        removed = 0
        while True:
            gone = await self._db.run(delete)
            removed += gone
            if gone < PRUNE_BATCH:
                return removed

    async def read(self, record_id: str, principal: str | None = None) -> KeptBodies | None:
        """The bodies kept for `record_id`; `principal` given, only when they are its own
        (None is the desk's read: everybody's)."""
        await self.flush()

        def select() -> KeptBodies | None:
            database = self._db.models.database
            sql = f"SELECT {', '.join(_COLUMNS)} FROM request_bodies WHERE record_id = ?"  # noqa: S608
            params: list[Any] = [record_id]
            if principal is not None:
                sql += " AND owner_principal = ?"
                params.append(principal)
            row = database.execute_sql(portable(database, sql), params).fetchone()
            return None if row is None else _kept(row)

        return await self._db.read(select)


def _clip(text: str, limit: int) -> tuple[str, int]:
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _stored_rows(batch: list[KeptBodies], max_chars: int) -> list[tuple[Any, ...]]:
    """The batch as written: every text redacted, then cut to `max_chars` and marked."""
    rows = []
    for item in batch:
        request, request_cut = _redacted_cut(item.request, item.request_cut, max_chars)
        response, response_cut = _redacted_cut(item.response, item.response_cut, max_chars)
        headers = {name: redact(value) for name, value in item.headers.items()}
        rows.append(
            (
                item.record_id,
                item.owner_principal,
                item.kept_at,
                item.dialect,
                redact(item.endpoint),
                1 if item.stream else 0,
                jsonio.dumps_text(headers),
                request,
                request_cut,
                response,
                response_cut,
            )
        )
    return rows


def _redacted_cut(text: str, cut: int, max_chars: int) -> tuple[str, int]:
    masked = redact(text)
    if len(masked) > max_chars:
        cut += len(masked) - max_chars
        masked = masked[:max_chars]
    return (masked + cut_marker(cut) if cut else masked), cut


def _kept(row: tuple[Any, ...]) -> KeptBodies:
    (record_id, principal, kept_at, dialect, endpoint, stream, headers_json) = row[:7]
    request, request_cut, response, response_cut = row[7:]
    try:
        headers = json.loads(headers_json or "{}")
    except ValueError:
        headers = {}
    return KeptBodies(
        record_id,
        principal,
        float(kept_at),
        dialect,
        endpoint,
        bool(stream),
        headers if isinstance(headers, dict) else {},
        request,
        int(request_cut),
        response,
        int(response_cut),
    )
