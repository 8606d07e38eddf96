"""peewee models mirroring the migrated schema, declared once and bound per `Database`.

The row types (`JobRow`, `RecordedRequestRow` ...) are declared here at module level so code
can name them in signatures; they are bound to no database, and a query on them directly fails
with peewee's "must be bound to a database". Each open `Database` builds a `Models`: one
subclass of every row type whose `Meta.database` is that database.

Why per-instance subclasses rather than a module-level `DatabaseProxy` or `bind_ctx`: several
databases are open in one process at once (each test has its own, the stdio bridge can sit next
to the app), each driven from its own thread. A proxy or `Model.bind`/`bind_ctx` rebinds the one
class for everybody, so the last database opened (or the last thread to enter `bind_ctx`) would
win for all of them. A subclass per database costs a dozen small classes at open and shares no
state. The schema itself is owned by the migrations; a test checks these models agree with it.
Nothing here is SQLite-specific: the same classes bind to any peewee database.
"""

from __future__ import annotations

from typing import TypeVar, cast

from llmgw_desktop.engine.store.orm import peewee

__all__ = [
    "AcpChatRow",
    "ActiveSessionRow",
    "FlagField",
    "GatewayKeyRow",
    "JobRow",
    "Models",
    "OAuthClientRow",
    "OAuthCodeRow",
    "OAuthTokenRow",
    "ProcessLeaseRow",
    "ProviderSessionRow",
    "RecordedRequestRow",
    "SessionRow",
    "StoreMetaRow",
    "StoreRow",
    "VaultFileRow",
    "VaultKeyRow",
    "WorkspaceRow",
]


class FlagField(peewee.IntegerField):
    """A yes/no column stored as 0 or 1 on every engine (the migrations declare it INTEGER).

    peewee's BooleanField binds Python's True, which SQLite stores as 1 but PostgreSQL refuses
    for an integer column; the schema stays one schema, so the flag is written as the integer.
    """

    def db_value(self, value: object) -> int | None:
        return None if value is None else int(bool(value))

    def python_value(self, value: object) -> bool | None:
        return None if value is None else bool(value)


class StoreRow(peewee.Model):
    """The base of every table; bound to a database only through `Models`."""

    class Meta:
        legacy_table_names = False


class StoreMetaRow(StoreRow):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()

    class Meta:
        table_name = "store_meta"


class JobRow(StoreRow):
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
    # The gateway process running it (its lease, `ProcessLeaseRow`); NULL before schema 12.
    owner_process = peewee.TextField(null=True)
    # Its owner's lease epoch when it was stored: the owner writes it only while that holds.
    owner_epoch = peewee.IntegerField(null=True)
    # Set by a cancel sent to another process; the owner polls it (`engine/jobs/leases.py`).
    cancel_requested = FlagField(default=False)

    class Meta:
        table_name = "jobs"


class ProcessLeaseRow(StoreRow):
    """A live gateway process on this store, as long as it keeps renewing `expires_at`."""

    id = peewee.TextField(primary_key=True)
    host = peewee.TextField()
    pid = peewee.IntegerField()
    started_at = peewee.FloatField()
    expires_at = peewee.FloatField()
    # Which registration of this process the row is (`engine/jobs/leases.py`).
    epoch = peewee.IntegerField(default=1)

    class Meta:
        table_name = "process_leases"


class SessionRow(StoreRow):
    id = peewee.TextField(primary_key=True)
    owner_principal = peewee.TextField()
    provider = peewee.TextField()
    provider_session_id = peewee.TextField(null=True)
    title = peewee.TextField(default="")
    active = FlagField(default=False)  # unused since schema 10: ActiveSession
    metadata_json = peewee.TextField(default="{}")
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()
    last_used_at = peewee.FloatField(null=True)

    class Meta:
        table_name = "sessions"


class ActiveSessionRow(StoreRow):
    """The session a caller's calls to a provider continue when they name none."""

    owner_principal = peewee.TextField()
    caller = peewee.TextField()
    provider = peewee.TextField()
    session_id = peewee.TextField()
    set_at = peewee.FloatField()

    class Meta:
        table_name = "active_sessions"
        primary_key = peewee.CompositeKey("owner_principal", "caller", "provider")


class ProviderSessionRow(StoreRow):
    provider = peewee.TextField()
    provider_session_id = peewee.TextField()
    owner_principal = peewee.TextField()
    working_dir = peewee.TextField()
    owns_dir = FlagField(default=False)
    usage_totals_json = peewee.TextField(default="{}")
    created_at = peewee.FloatField()
    last_used_at = peewee.FloatField()

    class Meta:
        table_name = "provider_sessions"
        primary_key = peewee.CompositeKey("provider", "provider_session_id")


class RecordedRequestRow(StoreRow):
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
    fallback_used = FlagField(default=False)
    route_json = peewee.TextField(null=True)
    owner_process = peewee.TextField(null=True)  # the gateway process that took it
    chosen_because = peewee.TextField(null=True)  # why the route tried its target
    client_session = peewee.TextField(null=True)  # the session its client named (a CLI's)
    # Its attempt failed and its request went on to another (`recorder/attempts.py`).
    failed_over = FlagField(default=False)

    class Meta:
        table_name = "requests"


class VaultKeyRow(StoreRow):
    id = peewee.TextField(primary_key=True)
    provider = peewee.TextField()
    key_name = peewee.TextField()
    project = peewee.TextField()
    sealed = peewee.TextField()
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()

    class Meta:
        table_name = "vault_keys"


class VaultFileRow(StoreRow):
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


class OAuthClientRow(StoreRow):
    client_id = peewee.TextField(primary_key=True)
    secret_digest = peewee.TextField(null=True)
    name = peewee.TextField(default="")
    redirect_uris_json = peewee.TextField()
    scopes = peewee.TextField()
    public = FlagField(default=False)
    registered_by = peewee.TextField()
    created_at = peewee.FloatField()
    metadata_json = peewee.TextField(default="{}")

    class Meta:
        table_name = "oauth_clients"


class OAuthCodeRow(StoreRow):
    code_digest = peewee.TextField(primary_key=True)
    client_id = peewee.TextField()
    redirect_uri = peewee.TextField()
    redirect_uri_explicit = FlagField()
    scopes = peewee.TextField()
    code_challenge = peewee.TextField(null=True)
    code_challenge_method = peewee.TextField(null=True)
    resource = peewee.TextField(null=True)
    created_at = peewee.FloatField()
    expires_at = peewee.FloatField()
    used_at = peewee.FloatField(null=True)

    class Meta:
        table_name = "oauth_codes"


class OAuthTokenRow(StoreRow):
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


class WorkspaceRow(StoreRow):
    name = peewee.TextField(primary_key=True)
    path = peewee.TextField()
    owner_principal = peewee.TextField()
    origin = peewee.TextField()
    created_at = peewee.FloatField()

    class Meta:
        table_name = "workspaces"


class GatewayKeyRow(StoreRow):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    digest = peewee.TextField(unique=True)
    shown = peewee.TextField()
    scopes_json = peewee.TextField()
    budget_usd = peewee.FloatField(null=True)
    budget_period = peewee.TextField(null=True)
    per_minute = peewee.IntegerField(null=True)
    expires_at = peewee.FloatField(null=True)
    revoked_at = peewee.FloatField(null=True)
    created_at = peewee.FloatField()
    created_by = peewee.TextField()
    last_used_at = peewee.FloatField(null=True)
    replaced_by = peewee.TextField(null=True)
    lent_from = peewee.TextField(null=True)  # the key a short-lived secret was lent from

    class Meta:
        table_name = "gateway_keys"


class AcpChatRow(StoreRow):
    """A chat session of `acp --model`: its model, folder and turns (`sessions/acp_chats.py`)."""

    id = peewee.TextField(primary_key=True)
    owner_principal = peewee.TextField()
    model = peewee.TextField()
    cwd = peewee.TextField()
    turns_json = peewee.TextField()
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()

    class Meta:
        table_name = "acp_chats"


R = TypeVar("R", bound=StoreRow)


def _bound(row: type[R], db: peewee.Database) -> type[R]:
    """A subclass of `row` bound to `db` (fields, keys and table name are the row type's)."""
    # peewee inherits `database` and the primary key through Meta, but not `table_name`.
    meta = type("Meta", (), {"database": db, "table_name": row._meta.table_name})
    return cast("type[R]", type(row.__name__, (row,), {"Meta": meta, "__module__": row.__module__}))


class Models:
    """The tables of one database: the row types above, each bound to `database`."""

    StoreMeta: type[StoreMetaRow]
    Job: type[JobRow]
    ProcessLease: type[ProcessLeaseRow]
    Session: type[SessionRow]
    ActiveSession: type[ActiveSessionRow]
    ProviderSession: type[ProviderSessionRow]
    RecordedRequest: type[RecordedRequestRow]
    VaultKey: type[VaultKeyRow]
    VaultFile: type[VaultFileRow]
    OAuthClient: type[OAuthClientRow]
    OAuthCode: type[OAuthCodeRow]
    OAuthToken: type[OAuthTokenRow]
    Workspace: type[WorkspaceRow]
    GatewayKey: type[GatewayKeyRow]
    AcpChat: type[AcpChatRow]

    def __init__(self, db: peewee.Database) -> None:
        self.database = db
        self.StoreMeta = _bound(StoreMetaRow, db)
        self.Job = _bound(JobRow, db)
        self.ProcessLease = _bound(ProcessLeaseRow, db)
        self.Session = _bound(SessionRow, db)
        self.ActiveSession = _bound(ActiveSessionRow, db)
        self.ProviderSession = _bound(ProviderSessionRow, db)
        self.RecordedRequest = _bound(RecordedRequestRow, db)
        self.VaultKey = _bound(VaultKeyRow, db)
        self.VaultFile = _bound(VaultFileRow, db)
        self.OAuthClient = _bound(OAuthClientRow, db)
        self.OAuthCode = _bound(OAuthCodeRow, db)
        self.OAuthToken = _bound(OAuthTokenRow, db)
        self.Workspace = _bound(WorkspaceRow, db)
        self.GatewayKey = _bound(GatewayKeyRow, db)
        self.AcpChat = _bound(AcpChatRow, db)
        self.all: tuple[type[peewee.Model], ...] = (
            self.StoreMeta,
            self.Job,
            self.ProcessLease,
            self.Session,
            self.ActiveSession,
            self.ProviderSession,
            self.RecordedRequest,
            self.VaultKey,
            self.VaultFile,
            self.OAuthClient,
            self.OAuthCode,
            self.OAuthToken,
            self.Workspace,
            self.GatewayKey,
            self.AcpChat,
        )
