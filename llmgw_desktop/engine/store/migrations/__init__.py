"""Versioned schema migrations, applied in order, each in its own transaction.

A migration is never edited once released: a schema change is a new, higher-numbered module.
The `schema_migrations` table records what has been applied, so a database opened by an older
app is upgraded, and one written by a newer app is refused untouched.

Every migration runs on both engines: each has its SQLite statements and its PostgreSQL ones
(`POSTGRESQL_STATEMENTS` in its module), the same schema in each engine's own words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.location import redacted_url
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
    m0012_process_leases,
    m0013_recorder_vacuum,
    m0014_recorder_failure_indexes,
    m0015_lease_epochs,
    m0016_gateway_keys,
    m0017_request_bodies,
    m0018_budget_lanes,
    m0019_recorder_search_insert_trigger,
    m0020_recorder_search_batched,
    m0021_recorder_partial_indexes,
    m0022_acp_chats,
    m0023_recorder_chosen_because,
    m0024_recorder_client_session,
    m0025_gateway_keys_lent_from,
    m0026_budget_refused_under,
    m0027_recorder_failed_over,
    m0028_recorder_failed_over_index,
)
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = ["MIGRATIONS", "Migration", "apply_migrations"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements_for(self, db: peewee.Database) -> tuple[str, ...]:
        """The statements in the dialect of `db`."""
        return self.postgresql if is_postgresql(db) else self.statements


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", m0001_initial.STATEMENTS, m0001_initial.POSTGRESQL_STATEMENTS),
    Migration(
        2,
        "sessions and job progress",
        m0002_sessions_and_job_progress.STATEMENTS,
        m0002_sessions_and_job_progress.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        3,
        "provider sessions",
        m0003_provider_sessions.STATEMENTS,
        m0003_provider_sessions.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        4,
        "flight recorder",
        m0004_flight_recorder.STATEMENTS,
        m0004_flight_recorder.POSTGRESQL_STATEMENTS,
    ),
    Migration(5, "vault", m0005_vault.STATEMENTS, m0005_vault.POSTGRESQL_STATEMENTS),
    Migration(
        6,
        "recorder routes",
        m0006_recorder_routes.STATEMENTS,
        m0006_recorder_routes.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        7,
        "oauth and workspaces",
        m0007_oauth_and_workspaces.STATEMENTS,
        m0007_oauth_and_workspaces.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        8,
        "recorder search",
        m0008_recorder_search.STATEMENTS,
        m0008_recorder_search.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        9,
        "job processes",
        m0009_job_processes.STATEMENTS,
        m0009_job_processes.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        10,
        "active session per caller",
        m0010_active_session_per_caller.STATEMENTS,
        m0010_active_session_per_caller.POSTGRESQL_STATEMENTS,
    ),
    Migration(11, "refusals", m0011_refusals.STATEMENTS, m0011_refusals.POSTGRESQL_STATEMENTS),
    Migration(
        12,
        "process leases",
        m0012_process_leases.STATEMENTS,
        m0012_process_leases.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        13,
        "recorder vacuum",
        m0013_recorder_vacuum.STATEMENTS,
        m0013_recorder_vacuum.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        14,
        "recorder failure indexes",
        m0014_recorder_failure_indexes.STATEMENTS,
        m0014_recorder_failure_indexes.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        15,
        "lease epochs",
        m0015_lease_epochs.STATEMENTS,
        m0015_lease_epochs.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        16, "gateway keys", m0016_gateway_keys.STATEMENTS, m0016_gateway_keys.POSTGRESQL_STATEMENTS
    ),
    Migration(
        17,
        "request bodies",
        m0017_request_bodies.STATEMENTS,
        m0017_request_bodies.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        18, "budget lanes", m0018_budget_lanes.STATEMENTS, m0018_budget_lanes.POSTGRESQL_STATEMENTS
    ),
    Migration(
        19,
        "recorder search insert trigger",
        m0019_recorder_search_insert_trigger.STATEMENTS,
        m0019_recorder_search_insert_trigger.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        20,
        "recorder search batched",
        m0020_recorder_search_batched.STATEMENTS,
        m0020_recorder_search_batched.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        21,
        "recorder partial indexes",
        m0021_recorder_partial_indexes.STATEMENTS,
        m0021_recorder_partial_indexes.POSTGRESQL_STATEMENTS,
    ),
    Migration(22, "acp chats", m0022_acp_chats.STATEMENTS, m0022_acp_chats.POSTGRESQL_STATEMENTS),
    Migration(
        23,
        "recorder chosen because",
        m0023_recorder_chosen_because.STATEMENTS,
        m0023_recorder_chosen_because.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        24,
        "recorder client session",
        m0024_recorder_client_session.STATEMENTS,
        m0024_recorder_client_session.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        25,
        "gateway keys lent from",
        m0025_gateway_keys_lent_from.STATEMENTS,
        m0025_gateway_keys_lent_from.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        26,
        "budget refused under",
        m0026_budget_refused_under.STATEMENTS,
        m0026_budget_refused_under.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        27,
        "recorder failed over",
        m0027_recorder_failed_over.STATEMENTS,
        m0027_recorder_failed_over.POSTGRESQL_STATEMENTS,
    ),
    Migration(
        28,
        "recorder failed over index",
        m0028_recorder_failed_over_index.STATEMENTS,
        m0028_recorder_failed_over_index.POSTGRESQL_STATEMENTS,
    ),
)


def apply_migrations(db: peewee.Database, migrations: tuple[Migration, ...]) -> int:
    """Apply every migration newer than the database's version; return the resulting version.

    Raises:
        StoreError: the database was written by a newer version of the app.
    """
    # SQLite's REAL is 8 bytes, PostgreSQL's 4: a time needs DOUBLE PRECISION there.
    applied_at = "DOUBLE PRECISION" if is_postgresql(db) else "REAL"
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        f" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {applied_at} NOT NULL)"
    )
    row = db.execute_sql("SELECT MAX(version) FROM schema_migrations").fetchone()
    current = row[0] or 0
    known = max((m.version for m in migrations), default=0)
    if current > known:
        elsewhere = (
            "or set LLM_GATEWAY_DB_URL (store.url) to use another database."
            if is_postgresql(db)
            else "or set LLM_GATEWAY_DB_PATH to use another file."
        )
        raise StoreError(
            f"the database {_where(db)} has schema version {current}, but this version of "
            f"llmgw-desktop knows only up to {known}. It was left untouched: upgrade the app, "
            + elsewhere
        )
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        with db.atomic():
            for statement in migration.statements_for(db):
                db.execute_sql(statement)
            db.execute_sql(
                portable(
                    db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
                ),
                (migration.version, migration.name, time.time()),
            )
        current = migration.version
    return current


def _where(db: peewee.Database) -> str:
    """The database as an error may name it: an SQLite file, or a URL without its password."""
    if not is_postgresql(db):
        return str(db.database)
    return redacted_url(str(db.database))
