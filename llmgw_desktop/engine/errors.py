"""Errors the engine raises, grouped by what the caller must do, each with a stable code.

`ErrorCode` lists every code a front door answers with, the HTTP status it maps to and what it
means; the documentation's table of codes (docs/troubleshooting.md) is written from it
(`python scripts/docs_reference.py`). Each front door maps an `EngineError` to its own
envelope in one function: `transports.mcp.results` (`tool_error`), `transports.http_errors`
(`error_response`, the native HTTP API) and `transports.gateway.dialect_errors`
(`dialect_error`, each dialect's error body).
"""

from __future__ import annotations

import errno
from enum import StrEnum
from typing import Any

__all__ = [
    "DISK_RETRY_AFTER_S",
    "PAUSED_RETRY_AFTER_S",
    "STOPPING_RETRY_AFTER_S",
    "ApprovalDenied",
    "Cure",
    "DiskRefused",
    "EngineError",
    "ErrorCode",
    "InvalidRequest",
    "NotFound",
    "ProviderFailure",
    "ProviderUnavailable",
    "Saturated",
    "disk_refusal",
    "error_code_table",
    "first_line",
    "gateway_stopping",
    "retried_by_clients",
]

# What a caller refused by a full disk is told to wait: long enough for someone to free space.
DISK_RETRY_AFTER_S = 30
# What a caller refused while every provider is paused is told to wait: a person resumes them
# by hand, and Claude Code's ten tries at this pace wait five minutes for it.
PAUSED_RETRY_AFTER_S = 30
# What a caller refused while the gateway stops is told to wait: about a restart.
STOPPING_RETRY_AFTER_S = 5
# The statuses the clients people use try again by themselves (the OpenAI and Anthropic SDKs'
# `_should_retry`, Claude Code's own retry loop, Codex, the Gemini CLI and the Vercel AI SDK
# agree): a request timeout, a conflict, a rate limit and any server error. Every other 4xx is
# shown to the person at once.
_RETRIED_4XX = frozenset({408, 409, 429})
# What each errno of a refused write means, in the words the answer uses.
_DISK_ERRNOS = {
    errno.ENOSPC: "it is full",
    errno.EDQUOT: "it is over its quota",
    errno.EROFS: "it is read-only",
}


def retried_by_clients(status: int) -> bool:
    """Whether the SDKs and coding CLIs try a request answered with `status` again by
    themselves (with their back-off: Claude Code's ten tries take three minutes)."""
    return status in _RETRIED_4XX or status >= 500


class Cure(StrEnum):
    """What ends a refusal the gateway makes before any provider is asked. It decides the
    status: a client should try again only what may pass by itself."""

    # Someone must set something up (a key, a CLI, a switch, a cloud's credential, a model
    # name): answered with a status no client retries, so it shows the message at once.
    SET_UP = "set up"
    # It passes by itself (paused, a circuit resting, stopping, a store coming back): a 503
    # with `Retry-After`, which clients wait out and retry.
    WAIT = "wait"


class ErrorCode(StrEnum):
    """Every code a caller can be answered with; the value is the wire string.

    Each member carries `http_status` (what the HTTP front doors answer with when the error is
    raised with its usual class), `meaning` (one line, for README's table) and, for a refusal
    made before any provider is asked, its `cure`: a `SET_UP` refusal is answered with its
    code's status whatever class raises it (`EngineError`), one no client retries.
    """

    http_status: int
    meaning: str
    cure: Cure | None

    def __new__(
        cls, value: str, http_status: int = 500, meaning: str = "", cure: Cure | None = None
    ) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        member.meaning = meaning
        member.cure = cure
        return member

    # The caller sent something wrong: the same request fails the same way.
    INVALID_REQUEST = "invalid_request", 400, "The request is malformed or a value is not allowed."
    UNKNOWN_PROVIDER = "unknown_provider", 400, "No provider has that name."
    PROVIDER_EXISTS = (
        "provider_exists",
        400,
        "A provider (built in, or one of yours) already has that id; choose another.",
    )
    NO_REVIEWERS = "no_reviewers", 400, "No provider CLI is installed and switched on to review."
    INVALID_PERMISSION = "invalid_permission", 400, "The CLI has no such permission mode."
    TOOLS_UNSUPPORTED = "tools_unsupported", 400, "The CLI cannot allow or deny tools by name."
    FORK_UNSUPPORTED = "fork_unsupported", 400, "The CLI cannot fork a conversation."
    SESSION_UNSUPPORTED = (
        "session_unsupported",
        400,
        "The CLI cannot fork or start a session under a chosen id.",
    )
    SESSIONS_UNSUPPORTED = "sessions_unsupported", 400, "The provider keeps no conversations."
    SESSION_ID_UNSUPPORTED = (
        "session_id_unsupported",
        400,
        "The CLI cannot start a session under an id the caller chose.",
    )
    INVALID_SESSION = (
        "invalid_session",
        400,
        "The session arguments do not fit (forking with nothing to fork).",
    )
    SESSION_PROVIDER_MISMATCH = (
        "session_provider_mismatch",
        400,
        "The session belongs to another provider.",
    )
    PROMPT_TOO_LARGE = "prompt_too_large", 400, "The prompt is larger than the CLI accepts."
    ATTACHMENT_TOO_LARGE = (
        "attachment_too_large",
        400,
        "A file attached to a prompt is larger than `providers.max_attached_bytes`.",
    )
    ATTACHMENT_OUTSIDE_FOLDER = (
        "attachment_outside_folder",
        400,
        "A file attached to a prompt lies outside the session's folder (or the caller's grant).",
    )
    INVALID_WORKING_DIR = "invalid_working_dir", 400, "The working directory is not usable."
    WORKSPACE_REQUIRED = "workspace_required", 400, "This caller must name a workspace."
    PATH_NOT_ALLOWED = (
        "path_not_allowed",
        400,
        "The path is outside the allowed roots or workspace.",
    )
    NOT_RETRYABLE = "not_retryable", 400, "The job cannot be retried in its state."
    NOT_REBUILDABLE = "not_rebuildable", 400, "The stored job lacks what re-running it needs."
    UNTRANSLATABLE = (
        "untranslatable",
        400,
        "The request uses a feature the chosen model's dialect cannot express.",
    )
    HTTP_ERROR = "http_error", 400, "Another HTTP-level refusal; the status says which."
    CONTENT_FILTERED = (
        "content_filtered",
        400,
        "A cloud's content filter or guardrail refused the prompt (its message kept).",
    )
    SECRET_DETECTED = (
        "secret_detected",
        400,
        "The outbound guard found a secret in the request (its kind and where are named, never "
        "its value) and `guard.secrets` blocks it for this provider or key; nothing was sent.",
    )
    GUARD_RULE_MATCHED = (
        "guard_rule_matched",
        400,
        "A rule of the operator's (`guard.rules`) matched the request (the rule and where are "
        "named) and blocks it for this provider or key; nothing was sent.",
    )
    REQUEST_UNSCANNED = (
        "request_unscanned",
        413,
        "The outbound guard could not read the whole request (`guard.max_scan_kb`, "
        "`guard.budget_ms`) and `guard.unscanned` is block; nothing was sent.",
    )
    # A spending limit the user set: it resets with its period, not in seconds.
    BUDGET_EXCEEDED = (
        "budget_exceeded",
        402,
        "A hard budget is used up, or cannot count the call (a model without a price); "
        "the message names the budget and when it resets or how to proceed.",
    )
    # The thing asked for does not exist (or is another principal's).
    NOT_FOUND = "not_found", 404, "No such job, session, route or record."
    SESSION_NOT_FOUND = "session_not_found", 404, "The session does not exist (any more)."
    MODEL_NOT_FOUND = (
        "model_not_found",
        404,
        "No route serves that model; the message says which models answer.",
        Cure.SET_UP,
    )
    ALIAS_LOOP = "alias_loop", 404, "Model aliases refer to each other in a loop."
    UNKNOWN_WORKSPACE = "unknown_workspace", 404, "No workspace has that name."
    # Who may call what.
    UNAUTHORIZED = "unauthorized", 401, "No valid credential was presented."
    BAD_INSTANCE_TOKEN = "bad_instance_token", 401, "The instance token is missing or wrong."
    KEY_REVOKED = (
        "key_revoked",
        401,
        "The gateway key was revoked (or rotated, and its grace has ended).",
    )
    KEY_EXPIRED = "key_expired", 401, "The gateway key is past its expiry."
    FORBIDDEN = "forbidden", 403, "The principal may not use this capability."
    OPERATOR_ONLY = "operator_only", 403, "Only the operator may use this capability."
    NOT_OFFERED = "not_offered", 403, "No access rule names this route or tool."
    OUTSIDE_KEY_SCOPE = (
        "outside_key_scope",
        403,
        "The gateway key's scope leaves out that model, provider, project or MCP tool.",
    )
    APPROVAL_DENIED = "approval_denied", 403, "The approval gate refused the call."
    MODEL_NOT_ENABLED = (
        "model_not_enabled",
        403,
        "The cloud account has no access to the model (not enabled, granted or deployed there).",
    )
    UPSTREAM_TOOL_REFUSED = (
        "upstream_tool_refused",
        403,
        "An upstream MCP server's policy (mcp.servers.NAME remote, allow, deny) refuses it.",
    )
    UPSTREAM_TOOL_WITHHELD = (
        "upstream_tool_withheld",
        403,
        "An MCP server's tool changed since it was pinned, came after its tools were approved, "
        "or is flagged (withheld from remote callers, or from everyone while "
        "`mcp.withhold_flagged_tools` is on): approve it on the MCP servers page or with "
        "`llmgw-desktop mcp-servers approve NAME`.",
    )
    REMOTE_POWER_REFUSED = (
        "remote_power_refused",
        403,
        "A remote caller asked for more than its workspace grants.",
    )
    VENDOR_FEATURE_REFUSED = (
        "vendor_feature_refused",
        403,
        "A remote caller asked the vendor for a feature the operator has not allowed it.",
    )
    # Refused at the HTTP edge, before any route ran.
    ORIGIN_NOT_ALLOWED = "origin_not_allowed", 403, "The web origin is not allowed."
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "The route does not take this method."
    BODY_TOO_LARGE = "body_too_large", 413, "The body exceeds `http.max_body_bytes`."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "The body is not sent as JSON."
    HOST_NOT_ALLOWED = "host_not_allowed", 421, "The Host header does not name this machine."
    # Too much at once: retry later.
    SATURATED = (
        "saturated",
        429,
        "Too much work is queued already, in all or of the caller's own share "
        "(`jobs.principal_share_percent`, `gateway.principal_share_percent`), or too many "
        "request bodies are being read at once (`http.max_body_bytes_in_flight`).",
    )
    RATE_LIMITED = (
        "rate_limited",
        429,
        "The caller or the provider is rate limited (a CLI's own limit answers 502).",
    )
    QUOTA_EXCEEDED = (
        "quota_exceeded",
        429,
        "The cloud account's quota for the model is used up (its message says which).",
    )
    TOO_MANY_CONNECTIONS = (
        "too_many_connections",
        429,
        "This address holds too many connections.",
    )
    TOO_MANY_SESSIONS = (
        "too_many_sessions",
        429,
        "Too many MCP sessions are open (`mcp.max_sessions_per_principal`, `mcp.max_sessions`).",
    )
    # The provider will not run now. Those someone must set up are a 400: the status the
    # SDKs and coding CLIs neither retry nor word as their own (Claude Code says "run /login"
    # over a 401 or 403 and "an issue with the selected model" over a 404).
    PROVIDER_UNAVAILABLE = "provider_unavailable", 503, "The provider will not run now."
    NOT_INSTALLED = (
        "not_installed",
        400,
        "The provider's CLI is not installed; the message says how to install it.",
        Cure.SET_UP,
    )
    PROVIDER_DISABLED = (
        "provider_disabled",
        400,
        "The provider is switched off; switch it on from the tray or the window.",
        Cure.SET_UP,
    )
    GATEWAY_PAUSED = (
        "gateway_paused",
        503,
        "Every provider call is paused until someone resumes them; retry after `Retry-After`.",
        Cure.WAIT,
    )
    GATEWAY_STOPPING = (
        "gateway_stopping",
        503,
        "The gateway is stopping; retry after `Retry-After`.",
        Cure.WAIT,
    )
    CIRCUIT_OPEN = (
        "circuit_open",
        503,
        "The provider failed repeatedly and rests; retry after `Retry-After` (`retry_after_s`).",
        Cure.WAIT,
    )
    NO_API_KEY = (
        "no_api_key",
        400,
        "No API key is stored or set for the model's provider (nothing was sent); the message "
        "names its variable, the vault, and the models that answer instead.",
        Cure.SET_UP,
    )
    NO_PROVIDER_AVAILABLE = (
        "no_provider_available",
        400,
        "No route for the model is set up, for more than one reason (each attempt says why: "
        "no key, switched off).",
        Cure.SET_UP,
    )
    CLOUD_NOT_CONFIGURED = (
        "cloud_not_configured",
        400,
        "A cloud provider lacks its library, credential, region or project; the message names "
        "what to install or set (nothing was sent).",
        Cure.SET_UP,
    )
    VAULT_LOCKED = (
        "vault_locked",
        400,
        "The vault's master key is missing or wrong; the message says where keys are looked for.",
        Cure.SET_UP,
    )
    STORE_UNAVAILABLE = (
        "store_unavailable",
        503,
        "The database cannot be reached now and the request needs it; retry after `Retry-After`.",
        Cure.WAIT,
    )
    DISK_REFUSED = (
        "disk_refused",
        507,
        "The disk refused a write: it is full, over its quota or read-only (the message names the "
        "disk and which); retry once it has room, after `Retry-After`.",
    )
    # The provider ran and failed.
    PROVIDER_ERROR = (
        "provider_error",
        502,
        "The provider failed; the message carries its own words, and `stderr_tail` what it "
        "wrote to stderr when it ended that way.",
    )
    AUTH_REQUIRED = "auth_required", 502, "The provider's login or API key is missing or wrong."
    UPSTREAM_KEY_REFUSED = (
        "upstream_key_refused",
        401,
        "The provider refused every key the gateway has for it (403: it may not do this); the "
        "message names each key's source (`env:OPENAI_API_KEY`, a vault key) and what to change.",
    )
    TIMEOUT = "timeout", 502, "The call ran past its time limit."
    IDLE_TIMEOUT = "idle_timeout", 502, "The CLI printed nothing for too long."
    OUTPUT_OVERFLOW = "output_overflow", 502, "The CLI printed more than the output cap."
    CANCELED = "canceled", 502, "The call or job was canceled."
    SESSION_CONFLICT = "session_conflict", 502, "The CLI says the session is already in use."
    UPSTREAM_REJECTED = (
        "upstream_rejected",
        400,
        "The upstream refused the request itself (answered with its status).",
    )
    ALL_ROUTES_FAILED = "all_routes_failed", 502, "Every route for the model failed."
    UPSTREAM_STREAM_BROKEN = "upstream_stream_broken", 502, "The upstream's stream broke."
    UPSTREAM_TIMEOUT = "upstream_timeout", 504, "No upstream answered in time."
    UPSTREAM_SERVER_FAILED = (
        "upstream_server_failed",
        502,
        "An MCP server would not start or ended during the call: one behind the gateway's /mcp "
        "(restarted for the next call), or one a call named for its coding CLI (the message "
        "names it and says why).",
    )
    UPSTREAM_SERVER_ERROR = (
        "upstream_server_error",
        502,
        "An upstream MCP server answered with a protocol error (its code and message inside).",
    )
    OVERLOADED = (
        "overloaded",
        529,
        "Every upstream was overloaded (503 outside the Anthropic dialect).",
    )
    # The gateway itself.
    GATEWAY_ERROR = "gateway_error", 500, "An engine error with no more specific code."
    INTERNAL_ERROR = "internal_error", 500, "A bug in the gateway; its log has the traceback."
    INTERRUPTED = (
        "interrupted",
        500,
        "The gateway stopped while the job ran; it was not re-run.",
    )
    VAULT_CORRUPT = "vault_corrupt", 500, "A stored credential does not decrypt."

    @classmethod
    def parse(cls, code: str) -> ErrorCode | str:
        """`code` as a member, or the string itself when this version does not know it (an
        error stored by another version of the gateway)."""
        try:
            return cls(code)
        except ValueError:
            return code


def error_code_table() -> str:
    """The documentation's table of error codes (docs/troubleshooting.md), in Markdown."""
    rows = ["| Code | HTTP | Clients retry | Meaning |", "| --- | --- | --- | --- |"]
    rows += [
        f"| `{code}` | {code.http_status} | {_retry_words(code)} | {code.meaning} |"
        for code in ErrorCode
    ]
    return "\n".join(rows) + "\n"


def _retry_words(code: ErrorCode) -> str:
    """Whether clients try a request refused with `code` again, as the table says it."""
    if code.cure is Cure.SET_UP:
        return "no: set it up"
    if code.cure is Cure.WAIT:
        return "yes, after `Retry-After`"
    return "yes" if retried_by_clients(code.http_status) else "no"


class EngineError(Exception):
    """Base of every error the engine reports to a caller."""

    code: str = ErrorCode.GATEWAY_ERROR
    http_status = 500
    retryable = False
    # The `x-gateway-*` headers of the request that failed (its recorder row id, and the
    # provider and model where one was chosen); set by the gateway, sent by the HTTP door.
    trace_headers: dict[str, str] | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.details = {k: v for k, v in details.items() if v is not None}
        known = ErrorCode.parse(self.code)
        if isinstance(known, ErrorCode) and known.cure is Cure.SET_UP:
            # Whichever class raised it, a refusal someone must set up is answered with its
            # code's status, one no client retries (`Cure`).
            self.http_status = known.http_status

    def to_dict(self) -> dict[str, Any]:
        """The structured form every front door returns."""
        return {"code": self.code, "message": self.message, "retryable": self.retryable} | (
            {"details": self.details} if self.details else {}
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineError:
        """Rebuild an error stored with `to_dict` (the job store keeps failures this way); a
        code this version does not know is kept as it was written."""
        return cls(
            str(data.get("message", "")),
            code=ErrorCode.parse(str(data.get("code", ErrorCode.GATEWAY_ERROR))),
            retryable=bool(data.get("retryable", False)),
            **dict(data.get("details") or {}),
        )


class InvalidRequest(EngineError):
    """The caller sent something wrong; retrying the same request will fail the same way."""

    code = ErrorCode.INVALID_REQUEST
    http_status = 400


class NotFound(EngineError):
    """The thing asked for does not exist, or belongs to another principal."""

    code = ErrorCode.NOT_FOUND
    http_status = 404


class ProviderUnavailable(EngineError):
    """The provider will not run now: switched off, paused, circuit open, or not installed.

    Retrying at once will not help; the details say what would (switch it on, wait
    `retry_after_s`, install it).
    """

    code = ErrorCode.PROVIDER_UNAVAILABLE
    http_status = 503


def gateway_stopping() -> ProviderUnavailable:
    """What a call the stopping gateway will not answer is told: a queued job's submission,
    or a request still waiting for its upstream when the front door closes."""
    return ProviderUnavailable(
        "the gateway is stopping; send the call again once it is back",
        code=ErrorCode.GATEWAY_STOPPING,
        retryable=True,
        retry_after_s=STOPPING_RETRY_AFTER_S,
    )


class ApprovalDenied(EngineError):
    """The approval gate refused the call; the details carry the score and reasons."""

    code = ErrorCode.APPROVAL_DENIED
    http_status = 403


class Saturated(EngineError):
    """Too much work is queued already; retry later."""

    code = ErrorCode.SATURATED
    http_status = 429
    retryable = True


class ProviderFailure(EngineError):
    """The provider ran and failed: auth, rate limit, timeout, crash, overflow, cancel.

    Codes: `auth_required`, `rate_limited` (detail `retry_after_s` when known), `timeout`,
    `idle_timeout`, `output_overflow`, `canceled`, `provider_error` (detail `stderr_tail`,
    secrets redacted). `retryable` says whether the same call may succeed if tried again.
    """

    code = ErrorCode.PROVIDER_ERROR
    http_status = 502


class DiskRefused(EngineError):
    """The disk refused a write (full, over quota, read-only): nothing is wrong with the
    request, and the gateway's log may be on that same disk, so the answer itself names the
    disk and what it said. Retryable once there is room."""

    code = ErrorCode.DISK_REFUSED
    http_status = 507
    retryable = True

    def __init__(self, where: str, why: str, detail: str = "") -> None:
        said = f" ({detail})" if detail else ""
        super().__init__(
            f"the disk holding {where} refused the write: {why}{said}; free some space on it "
            "(or make it writable again), then try again",
            retry_after_s=DISK_RETRY_AFTER_S,
        )
        self.where = where
        self.why = why


def disk_refusal(exc: BaseException) -> DiskRefused | None:
    """`exc` as the disk refusal it is (a `DiskRefused`, or an `OSError` of a full, over-quota
    or read-only disk, itself or what caused it), else None: for the catch-all of a front
    door, so such a failure is never answered as an internal error."""
    seen: BaseException | None = exc
    for _ in range(5):  # the chain is short; a bound keeps a cycle harmless
        if seen is None:
            return None
        if isinstance(seen, DiskRefused):
            return seen
        if isinstance(seen, OSError) and seen.errno in _DISK_ERRNOS:
            name = seen.filename if isinstance(seen.filename, str) else ""
            where = name or "the gateway's files"
            return DiskRefused(where, _DISK_ERRNOS[seen.errno], seen.strerror or "")
        seen = seen.__cause__ or seen.__context__
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an error's text, at most 300 characters, as a log or a status says it
    (a driver's or a cloud SDK's errors run to many lines, or carry a whole response); its
    type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
