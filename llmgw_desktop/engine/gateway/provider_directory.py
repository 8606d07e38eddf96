"""What the gateway can serve right now: providers with why-not, models, local servers found.

Everything here is read from a cache that a background service task (`run_forever`) keeps
fresh; nothing a request does waits on an upstream.

- Local model servers (Ollama, LM Studio, vLLM, llama.cpp) are probed on their default
  loopback ports once a minute. A server that answers is *offered* (listed, with how to switch
  it on), never used until it is configured; a configured one has its model list read so bare
  model ids route to it.
- Each enabled API provider with a key has its model list read from its API every
  `gateway.models_refresh_s` (and soon after the vault's keys change). A provider's models are
  what it listed plus the catalogue's; a failed read keeps the last good list and says why.
- Config entries (aliases, routes, fallbacks, default and small-request models) naming a model
  its provider's list lacks, and that no call has answered since that list was read
  (`heard`), are flagged as stale (`stale_references.py`), and logged once per change.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import (
    API_PROVIDERS,
    ApiProviderSpec,
    recorded_provider,
    switch_id_for,
)
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.errors import EngineError, NotFound
from llmgw_desktop.engine.events import ModelListRead, RequestFinished
from llmgw_desktop.engine.gateway.clouds import CloudWires
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.key_refusal import KEY_REFUSED_STATUSES, VAULT_PLACES
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.gateway.model_lists import ModelListError, read_model_list
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.shown_urls import shown_url
from llmgw_desktop.engine.gateway.stale_references import StaleReference, find_stale_references
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.tokens.model_facts import model_facts

__all__ = ["ModelListState", "ProviderDirectory"]

# Where each built-in provider's vendor serves its API: the catalogue's models are the vendor's.
_VENDOR_BASE_URLS = {spec.id: spec.base_url for spec in API_PROVIDERS}

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.8
REFRESH_AFTER_S = 60.0
# A round of model lists that read not every list (a server or the network down, a key
# refused, the vault's keys unknown) is read again from the next look on, less often while
# rounds keep failing; never later than the lists' own refresh.
LISTS_AGAIN = Backoff(first_s=REFRESH_AFTER_S, longest_s=3600.0)


@dataclass(frozen=True)
class ModelListState:
    """What one API provider's model list looked like when last read."""

    models: tuple[str, ...] | None = None  # the last list read successfully (None: none yet)
    fetched_at: float | None = None  # when that was, in seconds since the epoch
    error: str | None = None  # why the latest read failed (None: it did not)


class ProviderDirectory:
    """Availability of every gateway provider, and the models they offer."""

    def __init__(
        self,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        *,
        cli_available: Callable[[str], Awaitable[EngineError | None]],
        api_refusal: Callable[[str], str | None] | None = None,
        detect_local: bool,
        models_refresh_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_listed: Callable[[ModelListRead], None] | None = None,
        clouds: CloudWires | None = None,
    ) -> None:
        """`on_listed`: told when a model list was read or its key refused (the engine's
        events: a refused key marks the provider failing before any call is made)."""
        self._registry = registry
        self._keys = keys
        self._upstream = upstream
        # The configured clouds' wires (their set-up, their endpoints); none unless given.
        self._clouds = clouds or CloudWires({})
        self._cli_available = cli_available
        # The user's switches (`ProviderSwitches.api_refusal`): "disabled", "paused" or None.
        self._api_refusal = api_refusal or (lambda _provider: None)
        self._detect_local = detect_local
        self._models_refresh_s = models_refresh_s  # 0: API model lists are never read
        self._clock = clock
        self._wall_clock = wall_clock
        self.detected: dict[str, str] = {}  # provider id -> base URL that answered
        self.model_lists: dict[str, ModelListState] = {}  # API provider id -> its last read
        self._refreshed_at: float | None = None
        self._lists_due_at: float | None = None  # when the next round of model lists is due
        self._lists_keys_version: int | None = None
        self._lists_failed_rounds = 0  # rounds in a row that did not read every list
        self._stale: tuple[StaleReference, ...] = ()
        # When a call for a model a stale reference names last answered, by (provider, model),
        # and since when each provider's list has been what it is: an answer since then proves
        # more than the list (`stale_references.py`). Only referenced models: a few.
        self._answered: dict[tuple[str, str], float] = {}
        self._listed_since: dict[str, float] = {}
        self._refresh_lock = asyncio.Lock()
        self._on_listed = on_listed or (lambda _read: None)
        # The first look (local servers probed, model lists read) has ended, and who waits
        # for it (`first_look`).
        self.looked = False
        self._look_waiters: list[asyncio.Future[None]] = []

    async def run_forever(self) -> None:
        """The service task that keeps the cache fresh: local servers once a minute, API model
        lists when due. Requests only ever read what it found."""
        while True:
            try:
                await self._refresh(local=True, lists=False)
            except Exception:
                log.exception("refreshing the provider directory failed")
            await asyncio.sleep(REFRESH_AFTER_S)

    async def refresh(self, *, force: bool = False) -> None:
        """Probe local servers (at most once a minute) and read API model lists (when due);
        `force` does both now."""
        await self._refresh(local=force, lists=force)

    async def first_look(self) -> None:
        """Return once the first refresh has ended (at once after it)."""
        if self.looked:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._look_waiters.append(waiter)
        await waiter

    async def _refresh(self, *, local: bool, lists: bool) -> None:
        async with self._refresh_lock:
            try:
                now = self._clock()
                # `is not None`: a refresh at clock time 0.0 (an injected clock) still counts.
                last = self._refreshed_at
                if local or last is None or now - last >= REFRESH_AFTER_S:
                    self._refreshed_at = now
                    await self._probe_local_servers()
                if self._models_refresh_s > 0 and (lists or self._lists_due(now)):
                    self._lists_keys_version = self._keys.version
                    read_all = await self._read_model_lists()
                    self._lists_again_after(now, read_all and not self._keys.vault_unreachable)
                self._note_stale()
            finally:
                # The first refresh probes and reads whatever it is asked (nothing before it).
                self.looked = True
                waiters, self._look_waiters = self._look_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    def _lists_again_after(self, now: float, whole: bool) -> None:
        """After a round that read every list (`whole`), the next is due at the refresh; after
        one that did not, after `LISTS_AGAIN`'s wait: a network back, a server started, or the
        vault's database answering again changes no version, and the models only such a list
        names would be unknown for an hour."""
        self._lists_failed_rounds = 0 if whole else self._lists_failed_rounds + 1
        wait = self._models_refresh_s
        if not whole:
            wait = min(wait, LISTS_AGAIN.nth(self._lists_failed_rounds))
        self._lists_due_at = now + wait

    def _lists_due(self, now: float) -> bool:
        return (
            self._lists_due_at is None
            or now >= self._lists_due_at
            # A key stored or deleted may make a provider listable (or list differently).
            or self._keys.version != self._lists_keys_version
        )

    async def _probe_local_servers(self) -> None:
        specs = [
            s
            for s in self._registry.config.providers.values()
            if s.local and (self._detect_local or s.enabled)
        ]
        results = await asyncio.gather(*(self._probe(s) for s in specs))
        for spec, models in zip(specs, results, strict=True):
            if models is None:
                self.detected.pop(spec.id, None)
                continue
            self.detected[spec.id] = spec.base_url
            if spec.enabled:
                self._registry.set_discovered(spec.id, models)

    async def _read_model_lists(self) -> bool:
        """Read every API provider's list that has a key; whether every one was read."""
        reads = []
        for spec in self._registry.config.providers.values():
            if not spec.enabled or spec.local or spec.cloud:
                # A cloud's models are its configured ones: listing them is another API
                # (Bedrock's control plane, Azure's management plane), with other rights.
                continue
            # The first key of the global pool: a model list does not depend on the project.
            key = next((k for k in await self._keys.pool(spec) if k.value), None)
            if key is not None:
                reads.append(self._read_model_list(spec, key))
        return all(await asyncio.gather(*reads))

    async def _read_model_list(self, spec: ApiProviderSpec, key: PoolKey) -> bool:
        """Read `spec`'s list with `key` into `model_lists`; whether it was read."""
        assert key.value is not None
        before = self.model_lists.get(spec.id, ModelListState())
        try:
            models = await read_model_list(
                functools.partial(self._upstream.get_json, provider=spec.id),
                spec.dialect,
                self._keys.base_url(spec),
                key.value,
            )
        except ModelListError as exc:
            if exc.status in KEY_REFUSED_STATUSES:
                self._on_listed(
                    ModelListRead(switch_id_for(spec.id), key.label, exc.status, str(exc))
                )
            elif exc.unreached:  # not "Ready" before a call finds out (a person's pass)
                self._on_listed(
                    ModelListRead(switch_id_for(spec.id), key.label, None, "", str(exc))
                )
            error = f"could not read the model list: {exc}"
            if error != before.error:  # once per change, not once per refresh
                kept = "keeping the last list" if before.models else "using the catalogue's"
                log.warning("%s: %s (%s)", spec.id, error, kept)
            self.model_lists[spec.id] = ModelListState(before.models, before.fetched_at, error)
            return False
        self._on_listed(ModelListRead(switch_id_for(spec.id), key.label, None))
        if before.error is not None or before.models != models:
            log.info("%s lists %d models", spec.id, len(models))
        if before.models != models:
            self._listed_since[spec.id] = self._wall_clock()
        self.model_lists[spec.id] = ModelListState(models, self._wall_clock(), None)
        self._registry.set_discovered(spec.id, models, whole=self._elsewhere(spec))
        return True

    def _elsewhere(self, spec: ApiProviderSpec) -> bool:
        """Whether a built-in provider is pointed at a server that is not its vendor's own
        (`OPENAI_BASE_URL`, or a `base_url` in its table): what that server lists is all it
        serves (a review saw the built-in gpt-5.1 offered beside the two models such a server
        listed). A provider of the user's own keeps the models its table names."""
        vendors = _VENDOR_BASE_URLS.get(spec.id)
        return vendors is not None and self._keys.base_url(spec) != vendors

    def _note_stale(self) -> None:
        # An empty list proves nothing either: some servers list nothing yet serve models.
        lists = {
            pid: frozenset(state.models) for pid, state in self.model_lists.items() if state.models
        }
        stale = find_stale_references(self._registry, lists, self._answered_since_listed)
        if stale == self._stale:
            return
        for ref in stale:
            if ref not in self._stale:
                log.warning("stale model reference: %s; fix it in config.toml", ref.describe())
        for ref in self._stale:
            if ref not in stale:
                log.info(
                    "model reference no longer stale (listed, or a call for it answered):"
                    " %s %s -> %s",
                    ref.kind,
                    ref.name,
                    ref.model,
                )
        self._stale = stale

    def _answered_since_listed(self, provider: str, model: str) -> bool:
        at = self._answered.get((provider, model))
        return at is not None and at >= self._listed_since.get(provider, 0.0)

    def heard(self, event: RequestFinished) -> None:
        """A request finished: one a provider answered for a model a stale reference names
        proves that reference wrong (it is one no longer). Nothing to do while none is stale:
        a request costs a truth test."""
        if not self._stale or event.state != RecordState.COMPLETED or event.from_cache:
            return
        for ref in self._stale:
            if ref.provider_model == event.model and recorded_provider(ref.provider) == (
                event.provider
            ):
                self._answered[(ref.provider, ref.provider_model)] = self._wall_clock()
                self._note_stale()
                return

    def forget_unlisted(self) -> None:
        """Drop the model-list state of providers no longer configured (after an edit)."""
        configured = self._registry.config.providers
        for gone in [pid for pid in self.model_lists if pid not in configured]:
            del self.model_lists[gone]

    def stale_references(self) -> tuple[StaleReference, ...]:
        """Config entries naming a model that its provider's latest list lacks, and no call
        for which has answered since that list was read."""
        return self._stale

    async def _probe(self, spec: ApiProviderSpec) -> tuple[str, ...] | None:
        if self._keys.points_at_us(spec):
            return None  # the gateway itself answers there (`http.ollama_port`)
        try:
            body = await self._upstream.get_json(
                self._keys.base_url(spec) + "/models", timeout_s=PROBE_TIMEOUT_S
            )
        except Exception:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return ()
        return tuple(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))

    async def providers(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every provider with `available` and, when not, `reason` saying what would fix it;
        read from the cache (never waits on an upstream)."""
        out = []
        for spec in self._registry.config.providers.values():
            pool = await self._keys.pool(spec, project) if spec.enabled else []
            reason = None
            paused_only = False
            if spec.local and not spec.enabled:
                reason = (
                    f"detected at {self.detected[spec.id]}; switch it on with "
                    f"[gateway.providers.{spec.id}] in config.toml"
                    if spec.id in self.detected
                    else "not running (nothing answers on its default port)"
                )
            elif not spec.enabled:
                reason = "switched off in config.toml"
            elif (refusal := self._api_refusal(spec.id)) is not None:
                reason = (
                    "paused with every provider; resume them from the tray or the dashboard"
                    if refusal == "paused"
                    else "switched off; switch it on from the tray or the dashboard"
                )
                # Would it answer but for the pause (a key, no cloud problem)? The desk says
                # "Paused" of such a provider only, and of one with no key what it says unpaused.
                paused_only = refusal == "paused" and self._ready_but_for_switches(spec, pool)
            elif spec.cloud and (problem := self._cloud_problem(spec, pool)) is not None:
                reason = problem
            elif not pool:
                names = " or ".join(spec.key_env) or "an API key"
                reason = f"no API key: set {names} or store one in the vault ({VAULT_PLACES})"
                if self._keys.vault_problem:
                    reason += f" (the vault is unavailable: {self._keys.vault_problem})"
            out.append(
                {
                    "id": spec.id,
                    "name": spec.name,
                    "type": spec.kind,
                    "available": reason is None,
                    "reason": reason,
                    "pausedOnly": paused_only,
                    "dialect": spec.dialect,
                    "baseUrl": self._base_url(spec),
                    "keySources": [k.label for k in pool if k.value or k.label == spec.ambient],
                    "detected": spec.id in self.detected if spec.local else None,
                    "models": list(self._registry.models_of(spec.id)),
                    **self._list_facts(spec),
                }
            )
        for bridge in self._registry.config.catalog.bridges:
            why_not = await self._cli_available(bridge.engine_provider)
            out.append(
                {
                    "id": bridge.id,
                    "name": bridge.name,
                    "type": "cli",
                    "available": why_not is None,
                    "reason": None if why_not is None else why_not.message,
                    "engineProvider": bridge.engine_provider,
                    "models": [f"{bridge.id}/{m}" for m in bridge.models],
                }
            )
        return out

    def _ready_but_for_switches(self, spec: ApiProviderSpec, pool: list[PoolKey]) -> bool:
        """Whether `spec` (on in config.toml) has what it needs to answer: a key, its cloud's
        credentials; the switches and the pause aside."""
        if spec.cloud and self._cloud_problem(spec, pool) is not None:
            return False
        return bool(pool)

    def _cloud_problem(self, spec: ApiProviderSpec, pool: list[PoolKey]) -> str | None:
        cloud = self._clouds.wire(spec.id)
        return cloud.problem(keyed=any(k.value for k in pool)) if cloud is not None else None

    def _base_url(self, spec: ApiProviderSpec) -> str:
        """Where requests go (a cloud's endpoint as its wire derives it), as it may be shown:
        without the user, password or query a base URL can carry a token in."""
        base = self._keys.base_url(spec)
        cloud = self._clouds.wire(spec.id) if spec.cloud else None
        return shown_url(cloud.endpoint(base) if cloud is not None else base)

    def _list_facts(self, spec: ApiProviderSpec) -> dict[str, Any]:
        """Where the provider's models come from, and config entries its list contradicts."""
        state = self.model_lists.get(spec.id, ModelListState())
        if spec.local:
            source = "server" if spec.id in self._registry.discovered else "catalogue"
        elif state.models is None:
            source = "catalogue"
        else:
            source = "server" if self._elsewhere(spec) else "upstream"
        return {
            "modelsSource": source,
            "modelsFetchedAt": None if state.fetched_at is None else round(state.fetched_at),
            "modelsError": state.error,
            # The models it answers for that its own list (read) does not name, and where they
            # come from: a person must not read them as listed by the provider.
            "modelsNotListed": self._not_listed(spec, state),
            "modelsFrom": "the built-in list" if spec.id in _VENDOR_BASE_URLS else "config.toml",
            "staleReferences": [r.to_dict() for r in self._stale if r.provider == spec.id],
        }

    def _not_listed(self, spec: ApiProviderSpec, state: ModelListState) -> list[str]:
        """The models `spec` is offered with beyond the list it gave (none before a list was
        read, and none where its list is all it serves)."""
        if state.models is None or spec.local:
            return []
        listed = set(state.models)
        return [m for m in self._registry.models_of(spec.id) if m not in listed]

    async def models(
        self,
        project: str | None = None,
        reaches: Callable[[str, str], bool] | None = None,
        *,
        embeddings: bool = False,
    ) -> list[dict[str, Any]]:
        """Models of available providers, plus aliases, in OpenAI's list-item shape; with
        `reaches(provider, model)`, only those it allows (a gateway key's scope); with
        `embeddings`, each available API provider's embedding models too."""
        allowed = reaches or (lambda _provider, _model: True)
        rows: list[dict[str, Any]] = []
        available = {p["id"]: p for p in await self.providers(project) if p["available"]}
        for pid, info in available.items():
            for model in info["models"]:
                # A CLI's models are listed as `claude-cli/haiku`; its route asks it for `haiku`.
                if not allowed(pid, model.removeprefix(f"{pid}/")):
                    continue
                # Each listed id as it reaches this provider ("openrouter/google/...").
                model_id = model if info["type"] == "cli" else self._registry.public_id(pid, model)
                rows.append(_model(model_id, pid, info["type"]))
        if embeddings:
            rows += self._embedding_rows(available, allowed, {row["id"] for row in rows})
        for alias, target in self._registry.config.aliases.items():
            try:
                owner = self._registry.resolve(target)
            except NotFound:
                log.warning("alias %s points at unknown model %s", alias, target)
                continue
            if owner.provider in available and allowed(owner.provider, owner.model):
                row = _model(alias, owner.provider, "alias", facts_of=owner.model)
                rows.append(row | {"alias_of": target})
        listed = {row["id"] for row in rows}
        rows += [r for r in self._route_rows(available, allowed) if r["id"] not in listed]
        return rows

    def _embedding_rows(
        self, available: dict[str, Any], allowed: Callable[[str, str], bool], listed: set[str]
    ) -> list[dict[str, Any]]:
        """Each available API provider's embedding models it may reach, not listed already
        (an upstream's own list may hold them)."""
        rows = []
        for pid, info in available.items():
            spec = self._registry.provider(pid)
            for model in spec.embedding_models if spec is not None else ():
                model_id = self._registry.public_id(pid, model)
                if model_id not in listed and allowed(pid, model):
                    rows.append(_model(model_id, pid, info["type"]))
        return rows

    def _route_rows(
        self, available: dict[str, Any], allowed: Callable[[str, str], bool]
    ) -> list[dict[str, Any]]:
        """Each route of targets named exactly (not a glob) as a model a client may ask for,
        with the targets it may reach that are available now (none: not listed)."""
        rows = []
        for route in self._registry.config.routes:
            if not route.targets or any(c in route.pattern for c in "*?["):
                continue
            reached = []
            for name in route.targets:
                try:
                    target = self._registry.resolve(name)
                except NotFound:
                    continue
                if target.provider in available and allowed(target.provider, target.model):
                    reached.append(target)
            if reached:
                first = reached[0]
                row = _model(route.pattern, first.provider, "route", facts_of=first.model)
                rows.append(row | {"targets": [t.label for t in reached]})
        return rows


def _model(
    model_id: str, provider: str, kind: str, *, facts_of: str | None = None
) -> dict[str, Any]:
    """One `/v1/models` row: OpenAI's list item, with the provider, the kind of row, and the
    display name and output limit dashboards read (of `facts_of`, the model an alias or route
    answers with; null where unknown, the name then the id)."""
    facts = model_facts(facts_of or model_id, provider)
    return {
        "id": model_id,
        "object": "model",
        "created": 0,
        "owned_by": provider,
        "provider": provider,
        "type": kind,
        "name": facts.name or model_id,
        "max_tokens": facts.max_output,
    }
