"""How calls run: `[jobs]`, `[providers]`, `[approval]`, `[cache_awareness]` and `[recorder]`
with its `[recorder.capture]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.acp_agents import acp_agents_problem
from llmgw_desktop.config.settings_fields import section, setting

__all__ = [
    "ApprovalSettings",
    "CacheAwarenessSettings",
    "CaptureSettings",
    "JobsSettings",
    "ProvidersSettings",
    "RecorderSettings",
    "moot_limit",
]


@dataclass(frozen=True)
class JobsSettings:
    """How many provider calls run and wait, and how long jobs are kept (`[jobs]`)."""

    sync_deadline_ms: int = setting(
        45_000,
        env="SYNC_DEADLINE_MS",
        doc="How long a synchronous call waits before answering with a job id to poll.",
        check=checks.positive,
    )
    retention_days: int = setting(
        30,
        env="LLM_GATEWAY_JOB_RETENTION_DAYS",
        doc="Days finished jobs and their results are kept before pruning.",
        check=checks.positive,
    )
    dedup_window_ms: int = setting(
        3_600_000,
        env="LLM_GATEWAY_DEDUP_WINDOW_MS",
        doc="An identical call inside this window attaches to the existing job (0 disables).",
        check=checks.not_negative,
    )
    lease_ms: int = setting(
        30_000,
        env="LLM_GATEWAY_JOB_LEASE_MS",
        doc=(
            "On a shared store, a gateway process that stops renewing its lease for this long "
            "is taken for dead: another marks its unfinished jobs interrupted."
        ),
        check=checks.lease_ms,
    )
    max_concurrent: int = setting(
        8,
        env="LLM_GATEWAY_MAX_CONCURRENT_JOBS",
        doc="Provider calls running at once, across all providers.",
        check=checks.positive,
    )
    max_concurrent_per_provider: int = setting(
        4,
        env="LLM_GATEWAY_MAX_CONCURRENT_PER_PROVIDER",
        doc="Provider calls running at once for any one provider; above jobs.max_concurrent it "
        "is never reached (allowed: the Settings page and the log say so).",
        check=checks.positive,
    )
    stuck_after_ms: int = setting(
        120_000,
        env="LLM_GATEWAY_STUCK_AFTER_MS",
        doc=(
            "A running job with no output for this long is shown as stuck (Jobs, Overview, "
            "tray); providers.idle_timeout_ms is what stops it."
        ),
        check=checks.positive,
    )
    max_queued: int = setting(
        64,
        env="LLM_GATEWAY_MAX_QUEUED_JOBS",
        doc="Calls waiting for a slot; beyond this a call is refused as saturated.",
        check=checks.not_negative,
    )
    principal_share_percent: int = setting(
        50,
        env="LLM_GATEWAY_JOBS_PRINCIPAL_SHARE_PERCENT",
        doc="The share one remote principal may hold of max_concurrent, of "
        "max_concurrent_per_provider (each at least one) and of the jobs running or queued "
        "(max_concurrent + max_queued): its further jobs wait for its own to end, or beyond "
        "its queue share are refused as saturated. The local user is not held to it; 100 "
        "turns it off.",
        check=checks.percent,
    )


def moot_limit(in_all: int, per_provider: int) -> str | None:
    """What to say of a limit of calls at once per provider that the limit in all keeps from
    ever being reached; None when it can be (or a limit is refused: that is said instead). Not
    a refusal: both are valid, and the lower one applies (the Settings page says it under its
    controls, the engine in its log)."""
    if in_all < 1 or per_provider <= in_all:
        return None
    return (
        f"{per_provider} calls at once per provider can never be reached: at most {in_all} "
        f"run at once in all, so {in_all} is the limit for each provider too."
    )


@dataclass(frozen=True)
class ProvidersSettings:
    """How the CLIs and providers are run, retried, rested and switched off (`[providers]`)."""

    timeout_ms: int = setting(
        1_800_000,
        env="LLM_GATEWAY_PROVIDER_TIMEOUT_MS",
        doc="Longest one CLI run may take before it is stopped (a call can ask for less).",
        check=checks.positive,
    )
    idle_timeout_ms: int = setting(
        600_000,
        env="LLM_GATEWAY_IDLE_TIMEOUT_MS",
        doc="A CLI silent for this long is stopped (0: never).",
        check=checks.not_negative,
    )
    max_output_bytes: int = setting(
        32 * 1024 * 1024,
        env="LLM_GATEWAY_MAX_OUTPUT_BYTES",
        doc="A CLI printing more than this is stopped.",
        check=checks.positive,
    )
    max_attached_bytes: int = setting(
        4 * 1024 * 1024,
        env="LLM_GATEWAY_MAX_ATTACHED_BYTES",
        doc="Largest file an editor may attach to an ACP prompt (a linked file the gateway "
        "reads, an embedded resource, an image); a larger one is refused with its size.",
        check=checks.positive,
    )
    kill_grace_ms: int = setting(
        3000,
        env="LLM_GATEWAY_KILL_GRACE_MS",
        doc="After asking a CLI to stop, how long before its process group is killed.",
        check=checks.not_negative,
    )
    stop_grace_ms: int = setting(
        300,
        env="LLM_GATEWAY_STOP_GRACE_MS",
        doc="When the gateway stops (or dies), how long its running CLIs get after SIGTERM "
        "before their process groups are killed; keeps a stop within about a second.",
        check=checks.not_negative,
    )
    isolate_env: bool = setting(
        False,
        env="LLM_GATEWAY_ISOLATE_ENV",
        doc="Do not pass *_BASE_URL-style variables from this environment to the CLIs.",
    )
    pass_env: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_PASS_ENV",
        doc="More of this environment for one CLI: provider id -> variable names (NAME or "
        "PREFIX_*), beyond its own family's; a JSON object in the env.",
        check=checks.pass_env,
    )
    acp: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_ACP_AGENTS",
        doc="[providers.acp.NAME]: how an ACP agent is started (a shipped one: qwen, "
        "gemini-acp, opencode-acp, claude-acp, codex-acp; a new NAME adds one): command, args, "
        "env (names it may see), models, name.",
        check=acp_agents_problem,
    )
    cli_path: list[str] = setting(
        [],
        env="LLM_GATEWAY_CLI_PATH",
        doc="Folders searched for the CLIs before PATH (comma-separated in the env).",
    )
    retry_attempts: int = setting(
        3,
        env="LLM_GATEWAY_RETRY_ATTEMPTS",
        doc="Tries per coding-tool (CLI) call for transient failures (rate limits, overload), "
        "with backoff. Calls to API providers are not tried again: they go on to their "
        "route's next key or target.",
        check=checks.positive,
    )
    retry_base_delay_ms: int = setting(
        1000,
        env="LLM_GATEWAY_RETRY_BASE_DELAY_MS",
        doc="First backoff wait; it doubles on each retry.",
        check=checks.not_negative,
    )
    breaker_threshold: int = setting(
        5,
        env="LLM_GATEWAY_BREAKER_THRESHOLD",
        doc="Consecutive failures after which a provider is rested (circuit open).",
        check=checks.positive,
    )
    breaker_cooldown_ms: int = setting(
        60_000,
        env="LLM_GATEWAY_BREAKER_COOLDOWN_MS",
        doc="How long an open circuit rests a provider before one trial call.",
        check=checks.not_negative,
    )
    version_cache_ms: int = setting(
        300_000,
        env="LLM_GATEWAY_VERSION_CACHE_MS",
        doc="How long detected CLI versions are reused before checking again.",
        check=checks.not_negative,
    )
    unmetered_clis: list[str] = setting(
        [],
        env="LLM_GATEWAY_UNMETERED_CLIS",
        doc="CLIs and ACP agents (`codex`, `gemini`) whose jobs may run under a hard budget "
        "though the gateway cannot stop them at what the budget held for them: they say what "
        "a run cost only when it ends, if at all, so one run can pass the budget by what it "
        "costs. Empty: such jobs are refused under a hard budget; Claude Code and OpenCode "
        "stop at their hold and need no entry (comma-separated in the env).",
        # Checked after the loop: it may name an agent a [providers.acp] table adds.
    )
    disabled: list[str] = setting(
        [],
        env="LLM_GATEWAY_DISABLED_PROVIDERS",
        doc="Providers switched off: CLIs (`codex`), API providers and local servers (`openai`, "
        "`ollama`; `mistral-api` for Mistral's API). The tray and dashboard switches edit it.",
        # Checked after the loop: it may name a server a [gateway.providers] table adds.
    )


@dataclass(frozen=True)
class ApprovalSettings:
    """When a call needs approval, and asking the person at the desk (`[approval]`)."""

    allow_bypass: bool = setting(
        False,
        env="LLM_GATEWAY_APPROVAL_ALLOW_BYPASS",
        doc="Let calls ask for bypassPermissions (full auto-approve; refused otherwise), and run "
        "the local user's mcp_managed calls at it across the board. Never widens a remote "
        "caller's power.",
    )
    threshold: int = setting(
        60,
        env="LLM_GATEWAY_APPROVAL_THRESHOLD",
        doc="Risk score at which an mcp_managed call is denied (or put to the person at the desk).",
        check=checks.not_negative,
    )
    ask_at_desk: bool = setting(
        True,
        env="LLM_GATEWAY_APPROVAL_ASK_AT_DESK",
        doc="With the desktop open, ask instead of denying a call over the threshold.",
    )
    desk_timeout_ms: int = setting(
        120_000,
        env="LLM_GATEWAY_APPROVAL_DESK_TIMEOUT_MS",
        doc="How long a call waits for the person at the desk; no answer denies it.",
        check=checks.positive,
    )


@dataclass(frozen=True)
class CacheAwarenessSettings:
    """Claude's prompt cache: its lifetime and warnings (`[cache_awareness]`)."""

    warn_on_ttl_expiry: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_WARN_ON_TTL_EXPIRY",
        doc="Warn on resumed Claude calls made within 30 s of the prompt cache expiring.",
    )
    anthropic_ttl_seconds: int = setting(
        300,
        env="LLM_GATEWAY_ANTHROPIC_TTL_SECONDS",
        doc="Anthropic prompt-cache lifetime: 300 (default) or 3600 (the 1 h cache).",
        check=lambda v: None if v in (300, 3600) else f"{v} must be 300 or 3600",
    )


@dataclass(frozen=True)
class CaptureSettings:
    """Which request and response bodies the recorder keeps (`[recorder.capture]`)."""

    providers: list[str] = setting(
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_PROVIDERS",
        doc="Keep the (redacted, size-capped) request and response bodies of gateway requests "
        'answered by these providers (`anthropic`, `codex` ...; "*": every provider). Empty, '
        "with the two lists below empty too: no body is kept (the default). Applied live.",
    )
    agents: list[str] = setting(
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_AGENTS",
        doc="Keep the bodies of requests from these agents (the recorder's caller, e.g. "
        '`claude-code`; a name matches the caller it starts; "*": every agent). Applied live.',
    )
    projects: list[str] = setting(
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_PROJECTS",
        doc='Keep the bodies of requests in these projects ("*": every project). Applied live.',
    )
    retention_hours: int = setting(
        24,
        env="LLM_GATEWAY_RECORDER_CAPTURE_RETENTION_HOURS",
        doc="Hours a kept body stays before the recorder's prune deletes it. Applied live.",
        check=checks.positive,
    )
    max_body_bytes: int = setting(
        256 * 1024,
        env="LLM_GATEWAY_RECORDER_CAPTURE_MAX_BODY_BYTES",
        doc="Most characters kept of each body (request, response); a longer one is cut and "
        "marked as cut. Applied live.",
        check=checks.positive,
    )


@dataclass(frozen=True)
class RecorderSettings:
    """The flight recorder: how long and how many request records are kept (`[recorder]`)."""

    retention_days: int = setting(
        30,
        env="LLM_GATEWAY_RECORDER_RETENTION_DAYS",
        doc="Days the flight recorder keeps request records.",
        check=checks.positive,
    )
    max_rows: int = setting(
        200_000,
        env="LLM_GATEWAY_RECORDER_MAX_ROWS",
        doc="Most request records kept (200,000 by default), pruned in batches at start-up and "
        "hourly: each principal has a fair share, and the oldest rows of those over theirs go "
        "first.",
        check=checks.positive,
    )
    max_pending: int = setting(
        50_000,
        env="LLM_GATEWAY_RECORDER_MAX_PENDING",
        doc="Most request records held in memory while the store cannot take them (they go to "
        "a spill file in the data dir first; only past this, with that file unwritable too, "
        "are any dropped, and counted in /health).",
        check=checks.positive,
    )
    capture: CaptureSettings = section(CaptureSettings)
