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
            process_group = peewee.IntegerField(null=True)
            process_identity = peewee.TextField(null=True)

            class Meta:
                table_name = "jobs"

        class Session(Base):
            id = peewee.TextField(primary_key=True)
            owner_principal = peewee.TextField()
            provider = peewee.TextField()
            provider_session_id = peewee.TextField(null=True)
            title = peewee.TextField(default="")
            active = peewee.BooleanField(default=False)  # unused since schema 10: ActiveSession
            metadata_json = peewee.TextField(default="{}")
            created_at = peewee.FloatField()
            updated_at = peewee.FloatField()
            last_used_at = peewee.FloatField(null=True)

            class Meta:
                table_name = "sessions"

        class ActiveSession(Base):
            """The session a caller's calls to a provider continue when they name none."""

            owner_principal = peewee.TextField()
            caller = peewee.TextField()
            provider = peewee.TextField()
            session_id = peewee.TextField()
            set_at = peewee.FloatField()

            class Meta:
                table_name = "active_sessions"
                primary_key = peewee.CompositeKey("owner_principal", "caller", "provider")

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

        class RecordedRequest(Base):
            id = peewee.TextField(primary_key=True)
            started_at = peewee.FloatField()
            finished_at = peewee.FloatField(null=True)
            duration_ms = peewee.FloatField(null=True)
            owner_principal = peewee.TextField()
            caller = peewee.TextField(default="")
            transport = peewee.TextField(default="")
            tool = peewee.TextField(default="")
            provider = peewee.TextField()
            model = peewee.TextField(null=True)
            state = peewee.TextField()
            job_id = peewee.TextField(null=True)
            correlation_id = peewee.TextField(null=True)
            session_id = peewee.TextField(null=True)
            provider_session_id = peewee.TextField(null=True)
            error_code = peewee.TextField(null=True)
            exit_code = peewee.IntegerField(null=True)
            http_status = peewee.IntegerField(null=True)
            attempts = peewee.IntegerField(default=0)
            input_tokens = peewee.IntegerField(default=0)
            output_tokens = peewee.IntegerField(default=0)
            cache_read_tokens = peewee.IntegerField(default=0)
            cache_write_tokens = peewee.IntegerField(default=0)
            reasoning_tokens = peewee.IntegerField(default=0)
            cost_usd = peewee.FloatField(null=True)
            prefix_hash = peewee.TextField(null=True)
            prefix_tokens = peewee.IntegerField(null=True)
            approval_json = peewee.TextField(null=True)
            optimization_json = peewee.TextField(null=True)
            requested_model = peewee.TextField(null=True)
            project = peewee.TextField(null=True)
            fallback_used = peewee.BooleanField(default=False)
            route_json = peewee.TextField(null=True)

            class Meta:
                table_name = "requests"

        class VaultKey(Base):
            id = peewee.TextField(primary_key=True)
            provider = peewee.TextField()
            key_name = peewee.TextField()
            project = peewee.TextField()
            sealed = peewee.TextField()
            created_at = peewee.FloatField()
            updated_at = peewee.FloatField()

            class Meta:
                table_name = "vault_keys"

        class VaultFile(Base):
            id = peewee.TextField(primary_key=True)
            provider = peewee.TextField()
            file_name = peewee.TextField()
            project = peewee.TextField()
            sealed = peewee.TextField()
            size = peewee.IntegerField()
            created_at = peewee.FloatField()
            updated_at = peewee.FloatField()

            class Meta:
                table_name = "vault_files"

        class OAuthClient(Base):
            client_id = peewee.TextField(primary_key=True)
            secret_digest = peewee.TextField(null=True)
            name = peewee.TextField(default="")
            redirect_uris_json = peewee.TextField()
            scopes = peewee.TextField()
            public = peewee.BooleanField(default=False)
            registered_by = peewee.TextField()
            created_at = peewee.FloatField()
            metadata_json = peewee.TextField(default="{}")

            class Meta:
                table_name = "oauth_clients"

        class OAuthCode(Base):
            code_digest = peewee.TextField(primary_key=True)
            client_id = peewee.TextField()
            redirect_uri = peewee.TextField()
            redirect_uri_explicit = peewee.BooleanField()
            scopes = peewee.TextField()
            code_challenge = peewee.TextField(null=True)
            code_challenge_method = peewee.TextField(null=True)
            resource = peewee.TextField(null=True)
            created_at = peewee.FloatField()
            expires_at = peewee.FloatField()
            used_at = peewee.FloatField(null=True)

            class Meta:
                table_name = "oauth_codes"

        class OAuthToken(Base):
            token_digest = peewee.TextField(primary_key=True)
            kind = peewee.TextField()
            client_id = peewee.TextField()
            scopes = peewee.TextField()
            family_id = peewee.TextField()
            resource = peewee.TextField(null=True)
            created_at = peewee.FloatField()
            expires_at = peewee.FloatField()
            rotated_at = peewee.FloatField(null=True)
            revoked_at = peewee.FloatField(null=True)

            class Meta:
                table_name = "oauth_tokens"

        class Workspace(Base):
            name = peewee.TextField(primary_key=True)
            path = peewee.TextField()
            owner_principal = peewee.TextField()
            origin = peewee.TextField()
            created_at = peewee.FloatField()

            class Meta:
                table_name = "workspaces"

        self.database = db
        self.StoreMeta = StoreMeta
        self.Job = Job
        self.Session = Session
        self.ActiveSession = ActiveSession
        self.ProviderSession = ProviderSession
        self.RecordedRequest = RecordedRequest
        self.VaultKey = VaultKey
        self.VaultFile = VaultFile
        self.OAuthClient = OAuthClient
        self.OAuthCode = OAuthCode
        self.OAuthToken = OAuthToken
        self.Workspace = Workspace
        self.all: tuple[type[peewee.Model], ...] = (
            StoreMeta,
            Job,
            Session,
            ActiveSession,
            ProviderSession,
            RecordedRequest,
            VaultKey,
            VaultFile,
            OAuthClient,
            OAuthCode,
            OAuthToken,
            Workspace,
        )
