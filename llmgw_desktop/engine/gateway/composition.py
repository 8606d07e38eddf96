"""The gateway's composition root: every part of it built from the settings and wired to the
others here, once (the registry, keys, upstream pool, balancer, the recorder's rows, the one
attempt loop and each kind of call on it, the token counter, the CLI bridge, the caches);
`GatewayService` is handed them and routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from llmgw_desktop.config.gateway_tables import GatewayConfig, gateway_config
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.budgets.holds import SpendGuard
from llmgw_desktop.engine.calls import CallRunner
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.events import EventBus, RequestFinished
from llmgw_desktop.engine.gateway.answers import AnswerRelay
from llmgw_desktop.engine.gateway.api_targets import ApiTargets
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer, BalancingSettings
from llmgw_desktop.engine.gateway.balancing.liveness import LivenessSettings
from llmgw_desktop.engine.gateway.chat_targets import ChatTargets
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.clouds import CloudWires
from llmgw_desktop.engine.gateway.completions.targets import CompletionTargets
from llmgw_desktop.engine.gateway.counting import TokenCounter
from llmgw_desktop.engine.gateway.embeddings.targets import Embeddings, EmbeddingTargets
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.key_refusal import refusal_status
from llmgw_desktop.engine.gateway.keys import KeyChain, VaultKeys
from llmgw_desktop.engine.gateway.parts import GatewayParts
from llmgw_desktop.engine.gateway.provider_directory import ProviderDirectory
from llmgw_desktop.engine.gateway.records.capture import GatewayCapture
from llmgw_desktop.engine.gateway.records.first_refusals import FirstRefusals
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.semantic_cache import Embedder, SemanticCache
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.guard.operator_keys import OperatorKeys
from llmgw_desktop.engine.guard.service import AnswerScan, OutboundGuard
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.response_cache import ResponseCache
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook

__all__ = ["balancing_settings", "build_gateway", "gateway_config_of"]

log = logging.getLogger(__name__)


def gateway_config_of(
    settings: Settings, catalog: ProviderCatalog = SHIPPED_CATALOG
) -> GatewayConfig:
    """The gateway's typed configuration (providers, aliases, routes) from the settings, with
    `catalog`'s CLIs bridged (the engine's)."""
    return gateway_config(
        catalog=catalog,
        providers=settings.gateway.providers,
        aliases=settings.gateway.aliases,
        routes=settings.gateway.routes,
        fallback=settings.gateway.fallback,
        default_model=settings.gateway.default_model,
        small_request_model=settings.gateway.small_request_model,
        small_request_max_tokens=settings.gateway.small_request_max_tokens,
    )


def balancing_settings(settings: Settings) -> BalancingSettings:
    """What the balancer reads of the gateway's settings (cool-downs, latency, quota, hung
    targets)."""
    gateway = settings.gateway
    first_s = gateway.cooldown_first_ms / 1000
    return BalancingSettings(
        latency_half_life_s=gateway.latency_half_life_ms / 1000,
        cooldown=Backoff(first_s, max(first_s, gateway.cooldown_longest_ms / 1000), jitter=0.1),
        cooldown_failures=gateway.cooldown_failures,
        quota_reserve=gateway.quota_reserve_percent / 100,
        liveness=LivenessSettings(
            check_after_s=gateway.hung_check_after_ms / 1000,
            probe_timeout_s=gateway.hung_probe_timeout_ms / 1000,
        ),
    )


def build_gateway(
    settings: Settings,
    *,
    config: GatewayConfig | None = None,
    keys: KeyChain | None = None,
    callbacks: AgentCallbacks,
    runner: CallRunner,
    jobs: JobManager,
    recorder: FlightRecorder,
    vault: VaultKeys | None,
    cli_available: Callable[[str], Awaitable[EngineError | None]],
    api_refusal: Callable[[str], str | None],
    environ: Mapping[str, str],
    own_origins: AbstractSet[str],
    budgets: SpendGuard,
    project_access: Callable[[str, str | None], None],
    target_access: Callable[[str, str, str], EngineError | None],
    telemetry: Telemetry,
    prices: PriceBook,
    guard: OutboundGuard,
    events: EventBus,
    tasks: TaskSupervisor,
    clock: Callable[[], float] = time.monotonic,
) -> GatewayService:
    """The gateway service, every part of it built here and wired to the engine's parts.
    `api_refusal` is the user's switches (`ProviderSwitches.api_refusal`); `config` defaults
    to `gateway_config_of(settings)`, and `keys` to a key chain of it (the engine's, which its
    calls read too); `callbacks` says which CLI targets' calls come back through the gateway
    and hears of a budget's refusal of one; `events` hears of each model list read (a key
    refused there); `tasks` runs the gateway's own background work (probes of hung targets,
    the semantic cache's late embeddings); `clock` times its keys', hosts' and targets' rests."""
    if config is None:
        config = gateway_config_of(settings)
    registry = ModelRegistry(config)
    if keys is None:
        keys = KeyChain(config, environ=environ, vault=vault, own_origins=own_origins, clock=clock)
    clouds = CloudWires(environ)
    clouds.use_providers(config.providers.values())
    upstream = _upstream_client(settings, environ, clouds)
    upstream.use_providers(config.providers.values())
    directory = _directory(
        settings, registry, keys, upstream, clouds, events, cli_available, api_refusal
    )
    balancer = Balancer(balancing_settings(settings), tasks=tasks, clock=clock)
    remote = RemotePassthrough(
        settings.gateway.remote_passthrough.allow, settings.gateway.remote_passthrough.principals
    )
    records = RequestRecords(recorder, prices, telemetry, catalog=config.catalog)
    api = ApiTargets(
        registry=registry,
        keys=keys,
        upstream=upstream,
        clouds=clouds,
        budgets=budgets,
        records=records,
        telemetry=telemetry,
        balancer=balancer,
        api_refusal=api_refusal,
        agent_waits=callbacks.waits_of,
        clock=clock,
    )
    cache = ResponseCache(settings.cache, settings.data_path) if settings.cache.enabled else None
    service: GatewayService | None = None

    def embed(*args: Any, **kwargs: Any) -> Awaitable[Embeddings]:
        """The gateway's own `embed`, for the semantic cache built before the gateway is."""
        assert service is not None, "embedding before the gateway was built"
        return service.embed(*args, **kwargs)

    semantic = _semantic_cache(cache, embed, tasks, balancer)
    parts = GatewayParts(
        registry=registry,
        keys=keys,
        upstream=upstream,
        clouds=clouds,
        directory=directory,
        balancer=balancer,
        records=records,
        api=api,
        chats=_chats(api, remote, prices, cache, semantic),
        semantic=semantic,
        embeddings=EmbeddingTargets(api=api, prices=prices, cache=cache),
        completions=CompletionTargets(api=api, prices=prices),
        counter=TokenCounter(
            registry, keys, upstream, remote, target_access, guard=guard, clouds=clouds
        ),
        capture=GatewayCapture(recorder.bodies),
        cli=CliBridge(runner, jobs, timeout_s=settings.providers.timeout_ms / 1000),
        cli_available=cli_available,
        budgets=budgets,
        prices=prices,
        telemetry=telemetry,
        cache=cache,
        guard=guard,
        callbacks=callbacks,
        answer_scan=AnswerScan(OperatorKeys(keys), records.route_changed),
        first_refusals=FirstRefusals(),
    )
    service = GatewayService(parts, project_access=project_access, target_access=target_access)
    return service


def _directory(
    settings: Settings,
    registry: ModelRegistry,
    keys: KeyChain,
    upstream: UpstreamClient,
    clouds: CloudWires,
    events: EventBus,
    cli_available: Callable[[str], Awaitable[EngineError | None]],
    api_refusal: Callable[[str], str | None],
) -> ProviderDirectory:
    """What the gateway can serve now (its providers, their models and local servers found),
    each model list read telling `events`, and hearing from them the calls that answered (a
    model its provider does not list is not stale once one did)."""
    directory = ProviderDirectory(
        registry,
        keys,
        upstream,
        cli_available=cli_available,
        api_refusal=api_refusal,
        detect_local=settings.gateway.detect_local,
        models_refresh_s=settings.gateway.models_refresh_s,
        on_listed=events.publish,
        clouds=clouds,
    )
    events.subscribe(RequestFinished, directory.heard, after=True)
    return directory


def _chats(
    api: ApiTargets,
    remote: RemotePassthrough,
    prices: PriceBook,
    cache: ResponseCache | None,
    semantic: SemanticCache | None,
) -> ChatTargets:
    """A chat's calls to API targets, on the one attempt loop `api`: its answers brought back
    by their relay, from and into the response cache (and the semantic cache, when on)."""
    answers = AnswerRelay(telemetry=api.telemetry, remote=remote, records=api.records)
    return ChatTargets(
        api=api,
        remote=remote,
        prices=prices,
        answers=answers,
        cache=cache,
        semantic=semantic,
    )


def _upstream_client(
    settings: Settings, environ: Mapping[str, str], clouds: CloudWires
) -> UpstreamClient:
    """The one pool every upstream call goes through, with the gateway's limits; the clouds
    sign their own requests, and a key refusal is read as its provider says it."""
    gateway = settings.gateway
    return UpstreamClient(
        connect_timeout_s=gateway.connect_timeout_ms / 1000,
        read_timeout_s=gateway.upstream_timeout_ms / 1000,
        first_byte_timeout_s=gateway.first_byte_timeout_ms / 1000,
        max_answer_bytes=gateway.max_answer_bytes,
        environ=environ,
        ca_bundle=gateway.ca_bundle,
        max_connections_per_host=gateway.max_connections_per_host,
        proxy_loopback=gateway.proxy_loopback,
        max_sse_event_bytes=gateway.max_sse_event_bytes,
        share=FairShare(gateway.principal_share_percent, "gateway.principal_share_percent"),
        signers=clouds,
        status_of=refusal_status,
    )


def _semantic_cache(
    cache: ResponseCache | None, embed: Embedder, tasks: TaskSupervisor, balancer: Balancer
) -> SemanticCache | None:
    """The semantic cache, while `cache.semantic` is on with the response cache: its late
    embeddings run on `tasks`, its lookups rest as the balancer's targets do."""
    if cache is None or not cache.enabled or not cache.settings.semantic:
        return None
    if not cache.settings.semantic_model:
        log.warning(
            "cache.semantic is on but cache.semantic_model names no embedding model: "
            "only exact repeats are answered from the cache"
        )
        return None
    return SemanticCache(cache, embed, cache.settings, tasks=tasks, balancing=balancer.settings)
