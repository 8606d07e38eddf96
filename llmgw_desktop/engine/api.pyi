"""Types of `api.py`'s lazily loaded names, for type checkers (see api.py)."""

from llmgw_desktop.config.api_catalog import CLI_BRIDGES as CLI_BRIDGES
from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC as DIALECT_ANTHROPIC
from llmgw_desktop.config.api_catalog import DIALECT_GEMINI as DIALECT_GEMINI
from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT as DIALECT_OPENAI_CHAT
from llmgw_desktop.config.api_catalog import (
    DIALECT_OPENAI_RESPONSES as DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.config.budgets import Budget as Budget
from llmgw_desktop.config.budgets import BudgetProblem as BudgetProblem
from llmgw_desktop.config.budgets import parse_budgets as parse_budgets
from llmgw_desktop.config.cli_catalog import PROVIDER_IDS as PROVIDER_IDS
from llmgw_desktop.config.cli_catalog import PROVIDERS as PROVIDERS
from llmgw_desktop.config.cli_catalog import provider_info as provider_info
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG as SHIPPED_CATALOG
from llmgw_desktop.config.provider_catalog import ProviderCatalog as ProviderCatalog
from llmgw_desktop.engine import jsonio as jsonio
from llmgw_desktop.engine.auth.access import AccessDenied as AccessDenied
from llmgw_desktop.engine.auth.access import Capability as Capability
from llmgw_desktop.engine.auth.access import refusal as refusal
from llmgw_desktop.engine.auth.access import require as require
from llmgw_desktop.engine.auth.client_address import address_key as address_key
from llmgw_desktop.engine.auth.consent import ConsentQueue as ConsentQueue
from llmgw_desktop.engine.auth.consent import PendingConsent as PendingConsent
from llmgw_desktop.engine.auth.gateway_keys import KEY_PREFIX as KEY_PREFIX
from llmgw_desktop.engine.auth.gateway_keys import MadeKey as MadeKey
from llmgw_desktop.engine.auth.gateway_keys import keys_on_store as keys_on_store
from llmgw_desktop.engine.auth.gateway_keys_store import KeyRecord as KeyRecord
from llmgw_desktop.engine.auth.hashing import constant_time_equal as constant_time_equal
from llmgw_desktop.engine.auth.hashing import hash_password as hash_password
from llmgw_desktop.engine.auth.key_scope import KeyScope as KeyScope
from llmgw_desktop.engine.auth.key_scope import OutsideKeyScope as OutsideKeyScope
from llmgw_desktop.engine.auth.key_scope import key_tool_refusal as key_tool_refusal
from llmgw_desktop.engine.auth.key_spec import KeySpec as KeySpec
from llmgw_desktop.engine.auth.oauth import OAuthServer as OAuthServer
from llmgw_desktop.engine.auth.oauth_rules import SUPPORTED_SCOPES as SUPPORTED_SCOPES
from llmgw_desktop.engine.auth.oauth_rules import OAuthError as OAuthError
from llmgw_desktop.engine.auth.peer_owner import PeerOwner as PeerOwner
from llmgw_desktop.engine.auth.peer_owner import lookup_peer_owner as lookup_peer_owner
from llmgw_desktop.engine.auth.peer_owner import quick_peer_owner as quick_peer_owner
from llmgw_desktop.engine.auth.policy import startup_problems as startup_problems
from llmgw_desktop.engine.auth.policy import startup_warnings as startup_warnings
from llmgw_desktop.engine.auth.presented import ANTHROPIC_KEY_PLACES as ANTHROPIC_KEY_PLACES
from llmgw_desktop.engine.auth.presented import BEARER_ONLY as BEARER_ONLY
from llmgw_desktop.engine.auth.presented import GEMINI_KEY_PLACES as GEMINI_KEY_PLACES
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER as INSTANCE_TOKEN_HEADER
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as LOCAL_CALLER
from llmgw_desktop.engine.auth.principals import Principal as Principal
from llmgw_desktop.engine.auth.service import AuthService as AuthService
from llmgw_desktop.engine.budgets.definition import format_amount as format_amount
from llmgw_desktop.engine.budgets.definition import format_share as format_share
from llmgw_desktop.engine.budgets.refusals import BudgetExceeded as BudgetExceeded
from llmgw_desktop.engine.budgets.refusals import BudgetStatus as BudgetStatus
from llmgw_desktop.engine.budgets.refusals import refusing_every_call as refusing_every_call
from llmgw_desktop.engine.budgets.spend import CacheParts as CacheParts
from llmgw_desktop.engine.calls import ApprovalGate as ApprovalGate
from llmgw_desktop.engine.calls import Call as Call
from llmgw_desktop.engine.calls import CallParams as CallParams
from llmgw_desktop.engine.calls import Deferred as Deferred
from llmgw_desktop.engine.calls import Finished as Finished
from llmgw_desktop.engine.calls import Outcome as Outcome
from llmgw_desktop.engine.calls import PendingApproval as PendingApproval
from llmgw_desktop.engine.calls import RequestMeta as RequestMeta
from llmgw_desktop.engine.calls import checked_working_dir as checked_working_dir
from llmgw_desktop.engine.degraded import Degradation as Degradation
from llmgw_desktop.engine.degraded import degraded_sentence as degraded_sentence
from llmgw_desktop.engine.engine import LOCAL_PRINCIPAL as LOCAL_PRINCIPAL
from llmgw_desktop.engine.engine import Engine as Engine
from llmgw_desktop.engine.errors import ApprovalDenied as ApprovalDenied
from llmgw_desktop.engine.errors import DiskRefused as DiskRefused
from llmgw_desktop.engine.errors import EngineError as EngineError
from llmgw_desktop.engine.errors import ErrorCode as ErrorCode
from llmgw_desktop.engine.errors import InvalidRequest as InvalidRequest
from llmgw_desktop.engine.errors import NotFound as NotFound
from llmgw_desktop.engine.errors import ProviderFailure as ProviderFailure
from llmgw_desktop.engine.errors import ProviderUnavailable as ProviderUnavailable
from llmgw_desktop.engine.errors import Saturated as Saturated
from llmgw_desktop.engine.errors import disk_refusal as disk_refusal
from llmgw_desktop.engine.events import AttemptFailedOver as AttemptFailedOver
from llmgw_desktop.engine.events import BreakerChanged as BreakerChanged
from llmgw_desktop.engine.events import EngineStarted as EngineStarted
from llmgw_desktop.engine.events import EngineStopped as EngineStopped
from llmgw_desktop.engine.events import JobStateChanged as JobStateChanged
from llmgw_desktop.engine.events import JobStuckChanged as JobStuckChanged
from llmgw_desktop.engine.events import ModelListRead as ModelListRead
from llmgw_desktop.engine.events import Notice as Notice
from llmgw_desktop.engine.events import PauseChanged as PauseChanged
from llmgw_desktop.engine.events import ProviderHealthChanged as ProviderHealthChanged
from llmgw_desktop.engine.events import ProviderToggled as ProviderToggled
from llmgw_desktop.engine.events import RequestFinished as RequestFinished
from llmgw_desktop.engine.events import SecretsFound as SecretsFound
from llmgw_desktop.engine.events import StoreHealthChanged as StoreHealthChanged
from llmgw_desktop.engine.events import answer_follows as answer_follows
from llmgw_desktop.engine.gateway.balancing.views import TARGET_STATES as TARGET_STATES
from llmgw_desktop.engine.gateway.balancing.views import RouteView as RouteView
from llmgw_desktop.engine.gateway.balancing.views import TargetView as TargetView
from llmgw_desktop.engine.gateway.balancing.views import failure_words as failure_words
from llmgw_desktop.engine.gateway.clouds.eventstream import EVENT_STREAM_TYPE as EVENT_STREAM_TYPE
from llmgw_desktop.engine.gateway.clouds.eventstream import invoke_chunk as invoke_chunk
from llmgw_desktop.engine.gateway.completions.answers import (
    completion_answer as completion_answer,
)
from llmgw_desktop.engine.gateway.completions.answers import (
    completion_chunks as completion_chunks,
)
from llmgw_desktop.engine.gateway.completions.request import FIM_OLLAMA as FIM_OLLAMA
from llmgw_desktop.engine.gateway.completions.request import FIM_OPENAI as FIM_OPENAI
from llmgw_desktop.engine.gateway.desk.live_keys import LiveKey as LiveKey
from llmgw_desktop.engine.gateway.desk.playground import PlaygroundReply as PlaygroundReply
from llmgw_desktop.engine.gateway.desk.probe import ProbeResult as ProbeResult
from llmgw_desktop.engine.gateway.desk.probe import ProbeVerdict as ProbeVerdict
from llmgw_desktop.engine.gateway.desk.provider_editor import EDITABLE_KINDS as EDITABLE_KINDS
from llmgw_desktop.engine.gateway.desk.provider_editor import ModelEntries as ModelEntries
from llmgw_desktop.engine.gateway.desk.provider_editor import ProviderDraft as ProviderDraft
from llmgw_desktop.engine.gateway.desk.provider_editor import TestResult as TestResult
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS as DIALECTS
from llmgw_desktop.engine.gateway.embeddings.answers import embedding_answer as embedding_answer
from llmgw_desktop.engine.gateway.embeddings.request import EMBED_GEMINI as EMBED_GEMINI
from llmgw_desktop.engine.gateway.embeddings.request import (
    EMBED_GEMINI_BATCH as EMBED_GEMINI_BATCH,
)
from llmgw_desktop.engine.gateway.embeddings.request import EMBED_OLLAMA as EMBED_OLLAMA
from llmgw_desktop.engine.gateway.embeddings.request import (
    EMBED_OLLAMA_LEGACY as EMBED_OLLAMA_LEGACY,
)
from llmgw_desktop.engine.gateway.embeddings.request import EMBED_OPENAI as EMBED_OPENAI
from llmgw_desktop.engine.gateway.embeddings.targets import Embeddings as Embeddings
from llmgw_desktop.engine.gateway.embeddings.wires import OLLAMA_PORT as OLLAMA_PORT
from llmgw_desktop.engine.gateway.http_client.sse import SseParser as SseParser
from llmgw_desktop.engine.gateway.http_client.upstream import HUNG_OUTCOME as HUNG_OUTCOME
from llmgw_desktop.engine.gateway.key_refusal import VAULT_PLACES as VAULT_PLACES
from llmgw_desktop.engine.gateway.ollama.chat import ollama_answer as ollama_answer
from llmgw_desktop.engine.gateway.ollama.chat import ollama_lines as ollama_lines
from llmgw_desktop.engine.gateway.ollama.chat import ollama_to_openai as ollama_to_openai
from llmgw_desktop.engine.gateway.ollama.models import OLLAMA_API_VERSION as OLLAMA_API_VERSION
from llmgw_desktop.engine.gateway.ollama.models import ollama_show as ollama_show
from llmgw_desktop.engine.gateway.ollama.models import ollama_tags as ollama_tags
from llmgw_desktop.engine.gateway.records.first_refusals import TERMINAL_LOG as TERMINAL_LOG
from llmgw_desktop.engine.gateway.records.tracing import client_status as client_status
from llmgw_desktop.engine.gateway.records.tracing import error_headers as error_headers
from llmgw_desktop.engine.gateway.records.tracing import retry_after_seconds as retry_after_seconds
from llmgw_desktop.engine.gateway.records.tracing import with_retry_info as with_retry_info
from llmgw_desktop.engine.gateway.results import CallerInfo as CallerInfo
from llmgw_desktop.engine.gateway.results import Completed as Completed
from llmgw_desktop.engine.gateway.results import TokenCount as TokenCount
from llmgw_desktop.engine.gateway.router import PICKER_NAMESPACE as PICKER_NAMESPACE
from llmgw_desktop.engine.gateway.router import Target as Target
from llmgw_desktop.engine.gateway.same_dialect.passthrough import (
    forwardable_headers as forwardable_headers,
)
from llmgw_desktop.engine.gateway.stale_references import StaleReference as StaleReference
from llmgw_desktop.engine.gc_tuning import SERVING_THRESHOLDS as SERVING_THRESHOLDS
from llmgw_desktop.engine.gc_tuning import freeze_late_arrivals as freeze_late_arrivals
from llmgw_desktop.engine.gc_tuning import note_frozen as note_frozen
from llmgw_desktop.engine.gc_tuning import tune_for_serving as tune_for_serving
from llmgw_desktop.engine.guard.desk import GUARD_ANSWERS as GUARD_ANSWERS
from llmgw_desktop.engine.guard.desk import SecretQuestion as SecretQuestion
from llmgw_desktop.engine.guard.desk import SecretQuestions as SecretQuestions
from llmgw_desktop.engine.guard.rules import RULE_KIND as RULE_KIND
from llmgw_desktop.engine.guard.stats import GuardCount as GuardCount
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter as DeskFilter
from llmgw_desktop.engine.jobs.desk_rows import DeskJob as DeskJob
from llmgw_desktop.engine.jobs.model import FINISHED as FINISHED
from llmgw_desktop.engine.jobs.model import JobState as JobState
from llmgw_desktop.engine.jobs.model import JobView as JobView
from llmgw_desktop.engine.jobs.stuck import StuckJob as StuckJob
from llmgw_desktop.engine.jobs.views import RETRYABLE as RETRYABLE
from llmgw_desktop.engine.lifecycle import EngineState as EngineState
from llmgw_desktop.engine.live_settings import LIVE_SETTINGS as LIVE_SETTINGS
from llmgw_desktop.engine.log_health import note_log_refused as note_log_refused
from llmgw_desktop.engine.metrics import HEALTH_WINDOW_S as HEALTH_WINDOW_S
from llmgw_desktop.engine.metrics import METRICS_CONTENT_TYPE as METRICS_CONTENT_TYPE
from llmgw_desktop.engine.metrics import PRICES_REVISED as PRICES_REVISED
from llmgw_desktop.engine.metrics import WINDOWS as WINDOWS
from llmgw_desktop.engine.metrics import HealthState as HealthState
from llmgw_desktop.engine.metrics import MetricsSeries as MetricsSeries
from llmgw_desktop.engine.metrics import MetricsWindow as MetricsWindow
from llmgw_desktop.engine.metrics import ProviderCallHealth as ProviderCallHealth
from llmgw_desktop.engine.metrics import Totals as Totals
from llmgw_desktop.engine.providers.account_files import THROUGH_GATEWAY as THROUGH_GATEWAY
from llmgw_desktop.engine.providers.account_files import CliAccount as CliAccount
from llmgw_desktop.engine.providers.acp.framing import NdjsonPipe as NdjsonPipe
from llmgw_desktop.engine.providers.acp.gateway_env import (
    CLAUDE_CODE_KEY_ENV as CLAUDE_CODE_KEY_ENV,
)
from llmgw_desktop.engine.providers.acp.gateway_env import CODEX_KEY_ENV as CODEX_KEY_ENV
from llmgw_desktop.engine.providers.acp.gateway_env import RoutePointing as RoutePointing
from llmgw_desktop.engine.providers.acp.gateway_env import pointed_arguments as pointed_arguments
from llmgw_desktop.engine.providers.acp.gateway_env import (
    pointed_environment as pointed_environment,
)
from llmgw_desktop.engine.providers.acp.gateway_env import tool_environment as tool_environment
from llmgw_desktop.engine.providers.acp.gateway_env import tool_own_route as tool_own_route
from llmgw_desktop.engine.providers.acp.peer import AcpPeer as AcpPeer
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk as PermissionAsk
from llmgw_desktop.engine.providers.answering import Answering as Answering
from llmgw_desktop.engine.providers.answering import AnsweringChanged as AnsweringChanged
from llmgw_desktop.engine.providers.answering import answering_of as answering_of
from llmgw_desktop.engine.providers.answering import first_answering as first_answering
from llmgw_desktop.engine.providers.auth_home import AUTH_HOMES as AUTH_HOMES
from llmgw_desktop.engine.providers.base import PromptParts as PromptParts
from llmgw_desktop.engine.providers.discovery import CliStatus as CliStatus
from llmgw_desktop.engine.providers.discovery import UpgradeOutcome as UpgradeOutcome
from llmgw_desktop.engine.providers.health import NO_PROVIDER as NO_PROVIDER
from llmgw_desktop.engine.providers.health import RESTING_SOURCE as RESTING_SOURCE
from llmgw_desktop.engine.providers.health import ProviderHealth as ProviderHealth
from llmgw_desktop.engine.providers.process_identity import process_gone as process_gone
from llmgw_desktop.engine.providers.switches import ProviderState as ProviderState
from llmgw_desktop.engine.providers.trouble import KEY_REFUSED_CODES as KEY_REFUSED_CODES
from llmgw_desktop.engine.providers.trouble import UNREACHED_SOURCE as UNREACHED_SOURCE
from llmgw_desktop.engine.providers.trouble import VENDOR_SOURCE as VENDOR_SOURCE
from llmgw_desktop.engine.providers.trouble import Trouble as Trouble
from llmgw_desktop.engine.recorder import CAPTURE_KEYS as CAPTURE_KEYS
from llmgw_desktop.engine.recorder import COST_DIMENSIONS as COST_DIMENSIONS
from llmgw_desktop.engine.recorder import COST_WINDOWS as COST_WINDOWS
from llmgw_desktop.engine.recorder import PAGE_SIZE as PAGE_SIZE
from llmgw_desktop.engine.recorder import REQUEST_KINDS as REQUEST_KINDS
from llmgw_desktop.engine.recorder import USAGE_AT_HOLD as USAGE_AT_HOLD
from llmgw_desktop.engine.recorder import AgentLane as AgentLane
from llmgw_desktop.engine.recorder import AgentLanes as AgentLanes
from llmgw_desktop.engine.recorder import CapturePolicy as CapturePolicy
from llmgw_desktop.engine.recorder import CostBreakdown as CostBreakdown
from llmgw_desktop.engine.recorder import CostDimension as CostDimension
from llmgw_desktop.engine.recorder import CostGroup as CostGroup
from llmgw_desktop.engine.recorder import ExportFormat as ExportFormat
from llmgw_desktop.engine.recorder import KeptBodies as KeptBodies
from llmgw_desktop.engine.recorder import Lane as Lane
from llmgw_desktop.engine.recorder import PageCursor as PageCursor
from llmgw_desktop.engine.recorder import RecordDetail as RecordDetail
from llmgw_desktop.engine.recorder import RecorderFilters as RecorderFilters
from llmgw_desktop.engine.recorder import RecorderPage as RecorderPage
from llmgw_desktop.engine.recorder import RecorderQuery as RecorderQuery
from llmgw_desktop.engine.recorder import RecordSummary as RecordSummary
from llmgw_desktop.engine.recorder import RefusalCounter as RefusalCounter
from llmgw_desktop.engine.recorder import SessionLane as SessionLane
from llmgw_desktop.engine.recorder import path_group as path_group
from llmgw_desktop.engine.recorder.refusals import reason_words as reason_words
from llmgw_desktop.engine.redact import known_secrets as known_secrets
from llmgw_desktop.engine.redact import redact as redact
from llmgw_desktop.engine.response_cache import NOT_CACHED as NOT_CACHED
from llmgw_desktop.engine.response_cache import CacheStats as CacheStats
from llmgw_desktop.engine.settings_saver import SettingsWriter as SettingsWriter
from llmgw_desktop.engine.states import ENDINGS as ENDINGS
from llmgw_desktop.engine.states import RecordState as RecordState
from llmgw_desktop.engine.store import StoreError as StoreError
from llmgw_desktop.engine.store import redacted_url as redacted_url
from llmgw_desktop.engine.store.copy import CopyRefused as CopyRefused
from llmgw_desktop.engine.store.copy import CopyReport as CopyReport
from llmgw_desktop.engine.store.copy import TableCount as TableCount
from llmgw_desktop.engine.store.copy import copy_store as copy_store
from llmgw_desktop.engine.store.copy import target_url_problem as target_url_problem
from llmgw_desktop.engine.tasks import TaskSupervisor as TaskSupervisor
from llmgw_desktop.engine.telemetry import SpanLike as SpanLike
from llmgw_desktop.engine.tokens.money import format_usd as format_usd
from llmgw_desktop.engine.tokens.price_book import PricedModel as PricedModel
from llmgw_desktop.engine.tokens.pricing import Price as Price
from llmgw_desktop.engine.upstream_mcp.pins_file import PINS_FILE as PINS_FILE
from llmgw_desktop.engine.upstream_mcp.pins_file import PinsFileDamaged as PinsFileDamaged
from llmgw_desktop.engine.upstream_mcp.pins_file import ToolReview as ToolReview
from llmgw_desktop.engine.upstream_mcp.pins_file import approve_in_file as approve_in_file
from llmgw_desktop.engine.upstream_mcp.pins_file import changes_in_file as changes_in_file
from llmgw_desktop.engine.upstream_mcp.service import RelayedTool as RelayedTool
from llmgw_desktop.engine.validation import prompts as prompts
from llmgw_desktop.engine.validation.api_answer import ApiAnswer as ApiAnswer
from llmgw_desktop.engine.validation.compare import Answer as Answer
from llmgw_desktop.engine.validation.compare import compare_answers as compare_answers
from llmgw_desktop.engine.validation.verdicts import read_review as read_review
from llmgw_desktop.engine.vault import DEFAULT_KEY_NAME as DEFAULT_KEY_NAME
from llmgw_desktop.engine.vault import GLOBAL_PROJECT as GLOBAL_PROJECT
from llmgw_desktop.engine.workspaces.attached_files import AttachedFile as AttachedFile
from llmgw_desktop.engine.workspaces.attached_files import read_attached as read_attached
from llmgw_desktop.engine.workspaces.attached_files import refuse_too_large as refuse_too_large

ENGINE_SERVICES: dict[str, str]
