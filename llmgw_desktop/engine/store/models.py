"""peewee models mirroring the migrated schema, bound to one database per `Models` instance.

Binding per instance (instead of a module-level proxy) keeps two stores in one process (a test,
or the stdio bridge next to the app) from sharing hidden global state. The schema itself is
owned by the migrations; a test checks these models agree with it.
"""

from __future__ import annotations

import peewee

__all__ = ["Models"]


class Models:
    """The tables of one database."""

    def __init__(self, db: peewee.Database) -> None:
        class Base(peewee.Model):
            class Meta:
                database = db
                legacy_table_names = False

        class StoreMeta(Base):
            key = peewee.TextField(primary_key=True)
            value = peewee.TextField()

            class Meta:
                table_name = "store_meta"

        class Job(Base):
            id = peewee.TextField(primary_key=True)
            owner_principal = peewee.TextField()
            provider = peewee.TextField()
            state = peewee.TextField()
            request_json = peewee.TextField()
            dedup_key = peewee.TextField(null=True)
            correlation_id = peewee.TextField(null=True)
            session_id = peewee.TextField(null=True)
            output = peewee.TextField(default="")
            result_json = peewee.TextField(null=True)
            error_json = peewee.TextField(null=True)
            created_at = peewee.FloatField()
            updated_at = peewee.FloatField()
            started_at = peewee.FloatField(null=True)
            finished_at = peewee.FloatField(null=True)
            attempts = peewee.IntegerField(default=0)
            progress_json = peewee.TextField(default="{}")

            class Meta:
                table_name = "jobs"

        class Session(Base):
            id = peewee.TextField(primary_key=True)
            owner_principal = peewee.TextField()
            provider = peewee.TextField()
            provider_session_id = peewee.TextField(null=True)
            title = peewee.TextField(default="")
            active = peewee.BooleanField(default=False)
            metadata_json = peewee.TextField(default="{}")
            created_at = peewee.FloatField()
            updated_at = peewee.FloatField()
            last_used_at = peewee.FloatField(null=True)

            class Meta:
                table_name = "sessions"

        class ProviderSession(Base):
            provider = peewee.TextField()
            provider_session_id = peewee.TextField()
            owner_principal = peewee.TextField()
            working_dir = peewee.TextField()
            owns_dir = peewee.BooleanField(default=False)
            usage_totals_json = peewee.TextField(default="{}")
            created_at = peewee.FloatField()
            last_used_at = peewee.FloatField()

            class Meta:
                table_name = "provider_sessions"
                primary_key = peewee.CompositeKey("provider", "provider_session_id")

        self.database = db
        self.StoreMeta = StoreMeta
        self.Job = Job
        self.Session = Session
        self.ProviderSession = ProviderSession
        self.all: tuple[type[peewee.Model], ...] = (StoreMeta, Job, Session, ProviderSession)
