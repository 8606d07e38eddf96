"""The engine's public surface: everything a front door (`transports/`) or the desk (`ui/`) may
use, and nothing else. `tests/engine/test_api_surface.py` fails when either reaches past it.

Two parts:
- The `Engine` (the composition root) and the services it holds, listed in
  `ENGINE_SERVICES`: a front door calls `engine.<service>.<method>(...)` and goes no deeper.
- The value types, errors and constants those services take and return, importable from
  here by name (`from llmgw_desktop.engine.api import Engine, JobView, InvalidRequest`).

Names load lazily (PEP 562): `llmgw_desktop.engine.api.hash_password` imports only the hashing
module, so the command line and the stdio relay, which need a few light names, do not pay for
the whole engine at start-up. Type checkers read `api.pyi` instead (the same names as plain
imports); `tests/engine/test_api_surface.py` keeps the two identical.
"""

from __future__ import annotations

import importlib
from typing import Any

# What `engine.<name>` a front door may use, by capability. Anything else on the Engine (the
# store, discovery, the switches, the lifeline ...) is the engine's own.
ENGINE_SERVICES: dict[str, str] = {
    # life cycle and health
    "start": "open the store and begin serving",
    "stop": "finish background work (bounded), then close the store",
    "interrupt_work": "end every running job now as interrupted (the first step of a stop)",
    "listening_on": "note the port the front door bound (never used as an upstream)",
    "health": "liveness facts for /health, the tray and Overview",
    "process_health": "jobs, limits, breakers and switches (llm_process_health)",
    "store_problem": "why the store is degraded, or None",
    "state": "the engine's EngineState",
    "uptime_seconds": "seconds since start",
    "settings": "the settings this engine runs on (read only)",
    "settings_saver": "write a setting back to config.toml (operator only)",
    "tasks": "the supervisor front doors start their own background tasks under",
    "events": "the event bus the desk observes",
    # calls, jobs and sessions
    "runner": "run a call: finished within the deadline, else deferred with its job id",
    "jobs": "read, wait for, watch and cancel jobs; the desk's job list",
    "job_retry": "the desk's Retry of a finished job",
    "sessions": "conversations per principal and the active one per caller",
    "validation": "multi-model answers, comparison and review",
    "gateway": "the HTTP gateway: chat in four dialects, token counts, pass-through",
    "playground": "the desk's chats through the gateway as the local user (streamed, recorded)",
    "approvals": "calls waiting for a person's decision at the desk",
    # providers
    "providers": "every CLI, API provider and local server: state, switches, models, checks",
    "cli_accounts": "each installed CLI's login and plan, from its own files (offline)",
    "provider_editor": "add, edit, test and remove your API providers (operator only; live)",
    # what is stored
    "recorder": "the flight recorder's writer: status and lookups by correlation id",
    "recorder_query": "the flight recorder's pages, details, search, export, agent lanes",
    "body_capture": "the request bodies kept where `recorder.capture` asks (live policy, reads)",
    "refusals": "requests the edge refused, counted by reason",
    "metrics": "live charts: requests, tokens, spend, cache hits",
    "provider_health": "each provider's recent calls: error rate, failures in a row, latency",
    "project_grants": "which principals the operator granted each project (`projects.grants`)",
    "scrape": "the /metrics exposition (None when metrics.enabled is off)",
    "telemetry": "OpenTelemetry spans of requests and tool calls (a no-op unless otel.enabled)",
    "cache": "prompt-cache state per session and prefix",
    "vault": "sealed API keys and auth files",
    "auth": "who is calling: principals, tokens, rate limits",
    "keys": "gateway keys: make, list, revoke, rotate (operator only); each its own principal",
    "oauth": "the OAuth server (None when off): clients, grants, revocation, metadata",
    "consent": "OAuth consents waiting for a person at the desk",
    "workspaces": "named working directories and their remote powers",
    "upstream_mcp": "the user's own MCP servers: their tools on /mcp, relayed calls, state",
    "budgets": "spending limits: each budget's spend this period; edits (operator only)",
    "prices": "the price of a model and where it comes from (your prices over the table)",
    "price_settings": "set or remove your price of a model (operator only; saved, live)",
}

# name -> the module that defines it, grouped by capability.
_HOMES: dict[str, str] = {
    # the engine and its life cycle
    "jsonio": "llmgw_desktop.engine",
    "Engine": "llmgw_desktop.engine.engine",
    "EngineState": "llmgw_desktop.engine.engine",
    "LOCAL_PRINCIPAL": "llmgw_desktop.engine.engine",
    "SettingsWriter": "llmgw_desktop.engine.settings_saver",
    "ENDINGS": "llmgw_desktop.engine.states",
    "RecordState": "llmgw_desktop.engine.states",
    "TaskSupervisor": "llmgw_desktop.engine.tasks",
    # how a serving process collects garbage
    "SERVING_THRESHOLDS": "llmgw_desktop.engine.gc_tuning",
    "freeze_late_arrivals": "llmgw_desktop.engine.gc_tuning",
    "note_frozen": "llmgw_desktop.engine.gc_tuning",
    "tune_for_serving": "llmgw_desktop.engine.gc_tuning",
    # errors
    "ApprovalDenied": "llmgw_desktop.engine.errors",
    "RelayedTool": "llmgw_desktop.engine.upstream_mcp.service",
    "EngineError": "llmgw_desktop.engine.errors",
    "ErrorCode": "llmgw_desktop.engine.errors",
    "InvalidRequest": "llmgw_desktop.engine.errors",
    "NotFound": "llmgw_desktop.engine.errors",
    "ProviderFailure": "llmgw_desktop.engine.errors",
    "ProviderUnavailable": "llmgw_desktop.engine.errors",
    "Saturated": "llmgw_desktop.engine.errors",
    "BudgetExceeded": "llmgw_desktop.engine.budgets.ledger",
    "StoreError": "llmgw_desktop.engine.store",
    "redacted_url": "llmgw_desktop.engine.store",
    # moving a store to PostgreSQL (`db copy`)
    "CopyRefused": "llmgw_desktop.engine.store.copy",
    "CopyReport": "llmgw_desktop.engine.store.copy",
    "TableCount": "llmgw_desktop.engine.store.copy",
    "copy_store": "llmgw_desktop.engine.store.copy",
    "target_url_problem": "llmgw_desktop.engine.store.copy",
    # events
    "BreakerChanged": "llmgw_desktop.engine.events",
    "EngineStarted": "llmgw_desktop.engine.events",
    "EngineStopped": "llmgw_desktop.engine.events",
    "JobStateChanged": "llmgw_desktop.engine.events",
    "JobStuckChanged": "llmgw_desktop.engine.events",
    "Notice": "llmgw_desktop.engine.events",
    "PauseChanged": "llmgw_desktop.engine.events",
    "ProviderToggled": "llmgw_desktop.engine.events",
    "RequestFinished": "llmgw_desktop.engine.events",
    "StoreHealthChanged": "llmgw_desktop.engine.events",
    # calls and jobs
    "ApprovalGate": "llmgw_desktop.engine.calls",
    "Call": "llmgw_desktop.engine.calls",
    "CallParams": "llmgw_desktop.engine.calls",
    "Deferred": "llmgw_desktop.engine.calls",
    "Finished": "llmgw_desktop.engine.calls",
    "Outcome": "llmgw_desktop.engine.calls",
    "ApiAnswer": "llmgw_desktop.engine.validation.service",
    "PendingApproval": "llmgw_desktop.engine.calls",
    "RequestMeta": "llmgw_desktop.engine.calls",
    "checked_working_dir": "llmgw_desktop.engine.calls",
    "DeskFilter": "llmgw_desktop.engine.jobs.manager",
    "DeskJob": "llmgw_desktop.engine.jobs.manager",
    "RETRYABLE": "llmgw_desktop.engine.jobs.manager",
    "StuckJob": "llmgw_desktop.engine.jobs.manager",
    "FINISHED": "llmgw_desktop.engine.jobs.model",
    "JobState": "llmgw_desktop.engine.jobs.model",
    "JobView": "llmgw_desktop.engine.jobs.model",
    # validation
    "Answer": "llmgw_desktop.engine.validation.compare",
    "compare_answers": "llmgw_desktop.engine.validation.compare",
    "prompts": "llmgw_desktop.engine.validation.service",
    "read_review": "llmgw_desktop.engine.validation.verdicts",
    # the HTTP gateway
    "CLI_BRIDGES": "llmgw_desktop.config.api_catalog",
    "DIALECT_ANTHROPIC": "llmgw_desktop.config.api_catalog",
    "DIALECT_GEMINI": "llmgw_desktop.config.api_catalog",
    "DIALECT_OPENAI_CHAT": "llmgw_desktop.config.api_catalog",
    "DIALECT_OPENAI_RESPONSES": "llmgw_desktop.config.api_catalog",
    "DIALECTS": "llmgw_desktop.engine.gateway.dialects.by_name",
    "CallerInfo": "llmgw_desktop.engine.gateway.results",
    "Completed": "llmgw_desktop.engine.gateway.results",
    "TokenCount": "llmgw_desktop.engine.gateway.results",
    "forwardable_headers": "llmgw_desktop.engine.gateway.passthrough",
    "ProbeResult": "llmgw_desktop.engine.gateway.probe",
    "PlaygroundReply": "llmgw_desktop.engine.gateway.playground",
    "ProbeVerdict": "llmgw_desktop.engine.gateway.probe",
    "LiveKey": "llmgw_desktop.engine.gateway.live_keys",
    "Target": "llmgw_desktop.engine.gateway.router",
    "SseParser": "llmgw_desktop.engine.gateway.sse",
    "StaleReference": "llmgw_desktop.engine.gateway.stale_references",
    "client_status": "llmgw_desktop.engine.gateway.tracing",
    "error_headers": "llmgw_desktop.engine.gateway.tracing",
    "retry_after_seconds": "llmgw_desktop.engine.gateway.tracing",
    "with_retry_info": "llmgw_desktop.engine.gateway.tracing",
    # providers
    "PromptParts": "llmgw_desktop.engine.providers.base",
    "PROVIDERS": "llmgw_desktop.config.cli_catalog",
    "PROVIDER_IDS": "llmgw_desktop.config.cli_catalog",
    "provider_info": "llmgw_desktop.config.cli_catalog",
    "CliStatus": "llmgw_desktop.engine.providers.discovery",
    "UpgradeOutcome": "llmgw_desktop.engine.providers.discovery",
    "ProviderState": "llmgw_desktop.engine.providers.switches",
    "Trouble": "llmgw_desktop.engine.providers.trouble",
    "CliAccount": "llmgw_desktop.engine.providers.account_files",
    "EDITABLE_KINDS": "llmgw_desktop.engine.gateway.provider_editor",
    "ModelEntries": "llmgw_desktop.engine.gateway.provider_editor",
    "ProviderDraft": "llmgw_desktop.engine.gateway.provider_editor",
    "TestResult": "llmgw_desktop.engine.gateway.provider_editor",
    # the flight recorder, metrics and refusals
    "HEALTH_WINDOW_S": "llmgw_desktop.engine.metrics",
    "HealthState": "llmgw_desktop.engine.metrics",
    "MetricsSeries": "llmgw_desktop.engine.metrics",
    "ProviderCallHealth": "llmgw_desktop.engine.metrics",
    "MetricsWindow": "llmgw_desktop.engine.metrics",
    "PRICES_REVISED": "llmgw_desktop.engine.metrics",
    "Price": "llmgw_desktop.engine.tokens.pricing",
    "PricedModel": "llmgw_desktop.engine.tokens.price_book",
    "METRICS_CONTENT_TYPE": "llmgw_desktop.engine.metrics",
    "SpanLike": "llmgw_desktop.engine.telemetry",
    "WINDOWS": "llmgw_desktop.engine.metrics",
    "AgentLane": "llmgw_desktop.engine.recorder",
    "AgentLanes": "llmgw_desktop.engine.recorder",
    "COST_DIMENSIONS": "llmgw_desktop.engine.recorder",
    "COST_WINDOWS": "llmgw_desktop.engine.recorder",
    "CostBreakdown": "llmgw_desktop.engine.recorder",
    "CostDimension": "llmgw_desktop.engine.recorder",
    "CostGroup": "llmgw_desktop.engine.recorder",
    "ExportFormat": "llmgw_desktop.engine.recorder",
    "Lane": "llmgw_desktop.engine.recorder",
    "PAGE_SIZE": "llmgw_desktop.engine.recorder",
    "PageCursor": "llmgw_desktop.engine.recorder",
    "RecordDetail": "llmgw_desktop.engine.recorder",
    "CAPTURE_KEYS": "llmgw_desktop.engine.recorder",
    "CapturePolicy": "llmgw_desktop.engine.recorder",
    "KeptBodies": "llmgw_desktop.engine.recorder",
    "RecordSummary": "llmgw_desktop.engine.recorder",
    "RecorderFilters": "llmgw_desktop.engine.recorder",
    "RecorderPage": "llmgw_desktop.engine.recorder",
    "RecorderQuery": "llmgw_desktop.engine.recorder",
    "RefusalCounter": "llmgw_desktop.engine.recorder",
    "path_group": "llmgw_desktop.engine.recorder",
    "redact": "llmgw_desktop.engine.redact",
    # gateway keys
    "KEY_PREFIX": "llmgw_desktop.engine.auth.gateway_keys",
    "KeySpec": "llmgw_desktop.engine.auth.gateway_keys",
    "MadeKey": "llmgw_desktop.engine.auth.gateway_keys",
    "keys_on_store": "llmgw_desktop.engine.auth.gateway_keys",
    "KeyRecord": "llmgw_desktop.engine.auth.gateway_keys_store",
    "KeyScope": "llmgw_desktop.engine.auth.key_scope",
    "OutsideKeyScope": "llmgw_desktop.engine.auth.key_scope",
    "key_tool_refusal": "llmgw_desktop.engine.auth.key_scope",
    # budgets
    "Budget": "llmgw_desktop.config.budgets",
    "BudgetProblem": "llmgw_desktop.config.budgets",
    "BudgetStatus": "llmgw_desktop.engine.budgets.ledger",
    "format_amount": "llmgw_desktop.engine.budgets.definition",
    "format_usd": "llmgw_desktop.engine.tokens.money",
    "parse_budgets": "llmgw_desktop.config.budgets",
    # the vault
    "DEFAULT_KEY_NAME": "llmgw_desktop.engine.vault",
    "GLOBAL_PROJECT": "llmgw_desktop.engine.vault",
    # auth
    "AccessDenied": "llmgw_desktop.engine.auth.access",
    "Capability": "llmgw_desktop.engine.auth.access",
    "refusal": "llmgw_desktop.engine.auth.access",
    "require": "llmgw_desktop.engine.auth.access",
    "address_key": "llmgw_desktop.engine.auth.client_address",
    "ConsentQueue": "llmgw_desktop.engine.auth.consent",
    "PendingConsent": "llmgw_desktop.engine.auth.consent",
    "hash_password": "llmgw_desktop.engine.auth.hashing",
    "OAuthServer": "llmgw_desktop.engine.auth.oauth",
    "OAuthError": "llmgw_desktop.engine.auth.oauth_rules",
    "SUPPORTED_SCOPES": "llmgw_desktop.engine.auth.oauth_rules",
    "PeerOwner": "llmgw_desktop.engine.auth.peer_owner",
    "lookup_peer_owner": "llmgw_desktop.engine.auth.peer_owner",
    "quick_peer_owner": "llmgw_desktop.engine.auth.peer_owner",
    "startup_problems": "llmgw_desktop.engine.auth.policy",
    "startup_warnings": "llmgw_desktop.engine.auth.policy",
    "LOCAL_CALLER": "llmgw_desktop.engine.auth.principals",
    "Principal": "llmgw_desktop.engine.auth.principals",
    "AuthService": "llmgw_desktop.engine.auth.service",
    "ANTHROPIC_KEY_PLACES": "llmgw_desktop.engine.auth.presented",
    "BEARER_ONLY": "llmgw_desktop.engine.auth.presented",
    "GEMINI_KEY_PLACES": "llmgw_desktop.engine.auth.presented",
    "INSTANCE_TOKEN_HEADER": "llmgw_desktop.engine.auth.principals",
}

__all__ = ["ENGINE_SERVICES", *_HOMES]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home)
    value = (
        getattr(module, name)
        if hasattr(module, name)
        else importlib.import_module(f"{home}.{name}")
    )
    globals()[name] = value  # the next look-up is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
