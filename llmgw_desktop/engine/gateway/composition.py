"""Builds the gateway from the settings: config, registry, keys, upstream pool, CLI bridge."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet

from llmgw_desktop.config.gateway_tables import GatewayConfig, gateway_config
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.budgets.holds import SpendGuard
from llmgw_desktop.engine.calls import CallRunner
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer, BalancingSettings
from llmgw_desktop.engine.gateway.balancing.liveness import LivenessSettings
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.keys import KeyChain, VaultKeys
from llmgw_desktop.engine.gateway.provider_directory import ProviderDirectory
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.guard.service import OutboundGuard
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.response_cache import ResponseCache
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook

__all__ = ["balancing_settings", "build_gateway", "gateway_config_of"]


# The user's switches say nothing against an API provider (a gateway built without them).
def _no_refusal(_provider: str) -> str | None:
    return None


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
    api_refusal: Callable[[str], str | None] = _no_refusal,
    environ: Mapping[str, str],
    own_origins: AbstractSet[str],
    project_access: Callable[[str, str | None], None],
    target_access: Callable[[str, str, str], EngineError | None],
    budgets: SpendGuard | None = None,
    telemetry: Telemetry | None = None,
    prices: PriceBook | None = None,
    guard: OutboundGuard | None = None,
    events: EventBus | None = None,
    tasks: TaskSupervisor | None = None,
) -> GatewayService:
    """The gateway service, wired to the engine's parts. `api_refusal` is the user's switches
    (`ProviderSwitches.api_refusal`); `config` defaults to `gateway_config_of(settings)`, and
    `keys` to a key chain of it (the engine's, which its calls read too); `callbacks` says
    which CLI targets' calls come back through the gateway and hears of a budget's refusal of
    one; `events` hears of each model list read (a key refused there); `tasks` runs the
    gateway's own background work (probes of hung targets, the semantic cache's late
    embeddings)."""
    if config is None:
        config = gateway_config_of(settings)
    registry = ModelRegistry(config)
    if keys is None:
        keys = KeyChain(config, environ=environ, vault=vault, own_origins=own_origins)
    upstream = UpstreamClient(
        connect_timeout_s=settings.gateway.connect_timeout_ms / 1000,
        read_timeout_s=settings.gateway.upstream_timeout_ms / 1000,
        first_byte_timeout_s=settings.gateway.first_byte_timeout_ms / 1000,
        max_answer_bytes=settings.gateway.max_answer_bytes,
        environ=environ,
        ca_bundle=settings.gateway.ca_bundle,
        max_connections_per_host=settings.gateway.max_connections_per_host,
        proxy_loopback=settings.gateway.proxy_loopback,
        max_sse_event_bytes=settings.gateway.max_sse_event_bytes,
        share=FairShare(
            settings.gateway.principal_share_percent, "gateway.principal_share_percent"
        ),
    )
    upstream.use_providers(config.providers.values())
    directory = ProviderDirectory(
        registry,
        keys,
        upstream,
        cli_available=cli_available,
        api_refusal=api_refusal,
        detect_local=settings.gateway.detect_local,
        models_refresh_s=settings.gateway.models_refresh_s,
        on_listed=None if events is None else events.publish,
    )
    return GatewayService(
        balancer=Balancer(balancing_settings(settings), tasks=tasks),
        registry=registry,
        keys=keys,
        upstream=upstream,
        recorder=recorder,
        cli=CliBridge(runner, jobs, timeout_s=settings.providers.timeout_ms / 1000),
        cli_available=cli_available,
        api_refusal=api_refusal,
        directory=directory,
        budgets=budgets,
        project_access=project_access,
        target_access=target_access,
        telemetry=telemetry,
        prices=prices,
        bodies=recorder.bodies,
        cache=ResponseCache(settings.cache, settings.data_path) if settings.cache.enabled else None,
        guard=guard,
        callbacks=callbacks,
        tasks=tasks,
        remote_passthrough=RemotePassthrough(
            settings.gateway.remote_passthrough.allow,
            settings.gateway.remote_passthrough.principals,
        ),
    )
