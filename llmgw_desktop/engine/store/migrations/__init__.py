"""Versioned schema migrations, applied in order, each in its own transaction.

A migration is never edited once released: a schema change is a new, higher-numbered module.
The `schema_migrations` table records what has been applied, so a database opened by an older
app is upgraded, and one written by a newer app is refused untouched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import peewee

from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.migrations import (
    m0001_initial,
    m0002_sessions_and_job_progress,
    m0003_provider_sessions,
    m0004_flight_recorder,
    m0005_vault,
    m0006_recorder_routes,
    m0007_oauth_and_workspaces,
    m0008_recorder_search,
    m0009_job_processes,
    m0010_active_session_per_caller,
    m0011_refusals,
)

__all__ = ["MIGRATIONS", "Migration", "apply_migrations"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", m0001_initial.STATEMENTS),
    Migration(2, "sessions and job progress", m0002_sessions_and_job_progress.STATEMENTS),
    Migration(3, "provider sessions", m0003_provider_sessions.STATEMENTS),
    Migration(4, "flight recorder", m0004_flight_recorder.STATEMENTS),
    Migration(5, "vault", m0005_vault.STATEMENTS),
    Migration(6, "recorder routes", m0006_recorder_routes.STATEMENTS),
    Migration(7, "oauth and workspaces", m0007_oauth_and_workspaces.STATEMENTS),
    Migration(8, "recorder search", m0008_recorder_search.STATEMENTS),
    Migration(9, "job processes", m0009_job_processes.STATEMENTS),
    Migration(10, "active session per caller", m0010_active_session_per_caller.STATEMENTS),
    Migration(11, "refusals", m0011_refusals.STATEMENTS),
)


def apply_migrations(db: peewee.SqliteDatabase, migrations: tuple[Migration, ...]) -> int:
    """Apply every migration newer than the database's version; return the resulting version.

    Raises:
        StoreError: the database was written by a newer version of the app.
    """
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    row = db.execute_sql("SELECT MAX(version) FROM schema_migrations").fetchone()
    current = row[0] or 0
    known = max((m.version for m in migrations), default=0)
    if current > known:
        raise StoreError(
            f"the database {db.database} has schema version {current}, but this version of "
            f"llmgw-desktop knows only up to {known}. It was left untouched: upgrade the app, "
            "or set LLM_GATEWAY_DB_PATH to use another file."
        )
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        with db.atomic():
            for statement in migration.statements:
                db.execute_sql(statement)
            db.execute_sql(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
        current = migration.version
    return current
