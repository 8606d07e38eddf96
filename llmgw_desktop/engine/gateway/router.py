"""Which provider answers a model id, and what to try next when it cannot.

Resolution of one id: aliases first (they may chain), then a CLI bridge (`claude-cli/sonnet`),
then an explicit `provider/model` naming a configured provider id, then a model some provider
lists (its catalogue entry, what its API listed, what a local server listed), then a
cloud's name of a Claude model that no provider lists, as Anthropic's own name for it
(`clouds/models.vendor_twin`), then a provider's name prefix (`claude-*`). The prefix wins over
listed ids so that `google/gemini-2.5-flash` means Google even though OpenRouter lists that very
id; OpenRouter's is `openrouter/google/gemini-2.5-flash`. A plan is the ordered list of targets
for one request: a caller's pin (the local user's callers by their own names, a remote one only
by the name the operator gave its key: `pin_caller`), the small-request rule, the route's pool
(the owner, or the targets the route lists, which its strategy orders per request:
`balancing/`), the same model at its vendor when the model is a cloud's name of a Claude model
(a client set up for Bedrock or Vertex is answered by Anthropic when the gateway's own cloud
cannot), the route's fallback chain, then the global fallback chain, without repeats.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.config.gateway_tables import GatewayConfig, RouteConfig
from llmgw_desktop.config.principals import LOCAL
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import ErrorCode, NotFound
from llmgw_desktop.engine.gateway.clouds.models import vendor_twin

__all__ = ["PICKER_NAMESPACE", "ModelRegistry", "Plan", "Target", "pin_caller", "plan_request"]

# Every model the gateway serves, under a name Claude Code's model picker keeps: with gateway
# model discovery on it lists only the ids of `/v1/models` that begin with `claude` or
# `anthropic`, so Anthropic's list also names each other model as `anthropic-gateway/<id>`
# (`transports/gateway/model_routes.py`), which resolves as `<id>`.
PICKER_NAMESPACE = "anthropic-gateway/"

MAX_ALIAS_DEPTH = 8
MAX_CACHED_PLANS = 4096


@dataclass(frozen=True)
class Target:
    """One provider and the model id to ask it for."""

    provider: str
    model: str
    kind: str = "api"  # "api" or "cli"

    @functools.cached_property
    def label(self) -> str:
        # Cached: the balancer keys what it knows of a target by it, on every request.
        return f"{self.provider}/{self.model}" if self.model else self.provider


@dataclass(frozen=True)
class Plan:
    """The targets to try, in order, for one request."""

    requested: str
    targets: tuple[Target, ...]
    route: RouteConfig
    # Why the first target is not the model's owner: "pin" or "small_request" (None: it is).
    rule: str | None = None
    skipped: tuple[str, ...] = field(default_factory=tuple)
    # Target label -> where else the same id is listed ("openrouter lists this id: use ..."),
    # for the error when that target has no key. Read-only: plans are shared between requests.
    hints: Mapping[str, str] = field(default_factory=dict)
    # `targets[pool_at:pool_at + len(pool)]`: what the route's strategy chooses among (the
    # owner alone when the route lists no targets), with their weights.
    pool: tuple[Target, ...] = ()
    pool_at: int = 0
    weights: tuple[float, ...] = ()
    # The target a small request would go to first on this route ("": none), so that the
    # request is measured only when it could matter.
    small_target: str = ""


class ModelRegistry:
    """Model ids to providers, from the catalog, the config and what providers list."""

    def __init__(
        self,
        config: GatewayConfig,
        discovered: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.config = config
        self.discovered = dict(discovered or {})
        # Providers whose discovered list is their whole list: one pointed at a server that is
        # not its vendor's (`OPENAI_BASE_URL` at a compatible server) serves what it lists,
        # not the catalogue's models of the vendor.
        self._whole_lists: set[str] = set()
        # Plans are pure functions of the config and the discovered models; every request
        # asks for one, so they are remembered (bounded) until discovery changes.
        self.plans: dict[tuple[str, str, bool], Plan] = {}
        # Model id -> the providers listing it, in config order; rebuilt when discovery
        # changes. An upstream list may hold hundreds of ids (OpenRouter), so no linear scans.
        self._listed: dict[str, tuple[str, ...]] | None = None

    def replace_config(self, config: GatewayConfig) -> None:
        """Route by `config` from the next request on (the providers were edited); what a
        provider no longer configured had listed is forgotten."""
        self.config = config
        for gone in [pid for pid in self.discovered if pid not in config.providers]:
            del self.discovered[gone]
            self._whole_lists.discard(gone)
        self.plans.clear()
        self._listed = None

    def set_discovered(
        self, provider_id: str, models: tuple[str, ...], *, whole: bool = False
    ) -> None:
        """The models a provider's API or a local server listed (`whole`: all it serves, the
        catalogue's added to none); forgets plans made without."""
        was_whole = provider_id in self._whole_lists
        if whole:
            self._whole_lists.add(provider_id)
        else:
            self._whole_lists.discard(provider_id)
        if self.discovered.get(provider_id) != models or was_whole != whole:
            self.discovered[provider_id] = models
            self.plans.clear()
            self._listed = None

    def provider(self, provider_id: str) -> ApiProviderSpec | None:
        return self.config.providers.get(provider_id)

    def models_of(self, provider_id: str) -> tuple[str, ...]:
        """What the provider listed itself (when known), then the catalogue's, without repeats
        (none of the catalogue's where its list is its whole list)."""
        spec = self.config.providers.get(provider_id)
        found = self.discovered.get(provider_id, ())
        if provider_id in self._whole_lists:
            return found
        catalogue = spec.models if spec else ()
        return found + tuple(m for m in catalogue if m not in found)

    def listed_by(self, model: str) -> tuple[str, ...]:
        """The providers whose model lists hold exactly `model`, in config order."""
        if self._listed is None:
            listed: dict[str, list[str]] = {}
            for pid in self.config.providers:
                for listed_id in self.models_of(pid):
                    listed.setdefault(listed_id, []).append(pid)
            self._listed = {m: tuple(pids) for m, pids in listed.items()}
        return self._listed.get(model, ())

    def default_model_of(self, provider_id: str) -> str | None:
        """The model a check asks when none is named: the first catalogue model the provider
        still lists (an API's own order says nothing about which model is a sensible test)."""
        spec = self.config.providers.get(provider_id)
        found = self.discovered.get(provider_id)
        for model in spec.models if spec else ():
            if found is None or model in found:
                return model
        listed = self.models_of(provider_id)
        return listed[0] if listed else None

    def public_id(self, provider_id: str, model: str) -> str:
        """The id a client sends to reach `model` at `provider_id`: the bare id when it
        resolves there, else `provider/model` (OpenRouter's `google/...`, Groq's `openai/...`)."""
        try:
            if self.resolve(model) == Target(provider_id, model):
                return model
        except NotFound:
            pass
        return f"{provider_id}/{model}"

    def hint(self, target: Target) -> str | None:
        """Where else `target`'s whole label is a listed id, said as what to send instead."""
        if target.kind != "api" or not target.model:
            return None
        others = [p for p in self.listed_by(target.label) if p != target.provider]
        if not others:
            return None
        return f"{others[0]} lists this id: use {others[0]}/{target.label}"

    def resolve(self, model: str) -> Target:
        """The provider that owns `model` (after aliases).

        Raises:
            NotFound: no provider claims it (code `model_not_found`), or the aliases loop
                (code `alias_loop`).
        """
        name = self.unalias(model)
        head, sep, rest = name.partition("/")
        # The engine's CLIs and ACP agents (the operator's added ones too), by bridge id.
        clis = self.config.catalog
        if sep and clis.bridge(head) is not None:
            return Target(head, rest, "cli")
        if clis.bridge(name) is not None:
            return Target(name, "", "cli")
        # An explicit provider wins over listed ids: "google/gemini-2.5-flash" is Google's even
        # though OpenRouter lists that id too (OpenRouter's is "openrouter/google/...").
        if sep and head in self.config.providers and rest:
            return Target(head, rest)
        owners = self.listed_by(name)
        if owners:
            return Target(owners[0], name)
        twin = vendor_twin(name)
        if twin is not None:  # before the prefixes: `claude-...@date` is no Anthropic id
            return self.resolve(twin)
        for pid, spec in self.config.providers.items():
            if spec.model_prefixes and name.startswith(spec.model_prefixes):
                return Target(pid, name)
        raise NotFound(
            f"unknown model {model!r}: no provider lists it. Name its provider (such as "
            f"openai/{name}), add an alias under [gateway.aliases], or pick one of the models "
            "GET /v1/models lists (those answer now)",
            code=ErrorCode.MODEL_NOT_FOUND,
            param="model",
        )

    def unalias(self, model: str) -> str:
        """`model` with aliases followed (a loop is a config error, reported as such), and
        out of the picker namespace (`PICKER_NAMESPACE`) first."""
        named = model.removeprefix(PICKER_NAMESPACE)
        model = named or model
        seen = [model]
        while model in self.config.aliases:
            model = self.config.aliases[model]
            if model in seen or len(seen) > MAX_ALIAS_DEPTH:
                raise NotFound(
                    f"the aliases {' -> '.join([*seen, model])} loop; fix [gateway.aliases]",
                    code=ErrorCode.ALIAS_LOOP,
                    param="model",
                )
            seen.append(model)
        return model

    def route_of(self, model: str) -> RouteConfig:
        """The route serving a request for `model`: its own, else (matched only by `*`) the
        route of the model an alias names.

        Raises:
            NotFound: the aliases loop (code `alias_loop`).
        """
        route = self.route_for(model)
        if route.pattern == "*" and model != (named := self.unalias(model)):
            route = self.route_for(named)
        return route

    def route_for(self, model: str) -> RouteConfig:
        """The most specific configured route whose pattern matches (exact beats glob)."""
        routes = self.config.routes
        for route in routes:
            if route.pattern == model:
                return route
        globs = [r for r in routes if fnmatch.fnmatchcase(model, r.pattern)]
        if globs:
            # Longer patterns are more specific: "claude-sonnet-*" beats "claude-*" beats "*".
            return max(globs, key=lambda r: len(r.pattern.replace("*", "")))
        return RouteConfig("*")


def pin_caller(principal: str, caller: str, proven: Principal | None) -> str:
    """The name a request's per-caller pin is chosen by: any of the local user's callers by
    its own name (their own tools), else only the caller name the operator gave the credential
    `proven` (a gateway key's `--caller`). A remote caller's own name (`X-Caller`, its user
    agent) chooses no pin: the operator's pins route the operator's tools."""
    if principal == LOCAL:
        return caller
    if proven is None or proven.id != principal:
        return ""
    return proven.named_by_operator


def plan_request(
    registry: ModelRegistry,
    model: str,
    *,
    caller: str = "",
    small: bool = False,
) -> Plan:
    """The ordered targets for a request for `model`.

    Raises:
        NotFound: `model` itself resolves to no provider.
    """
    key = (model, caller, small)
    plan = registry.plans.get(key)
    if plan is None:
        plan = _plan(registry, model, caller, small)
        if len(registry.plans) >= MAX_CACHED_PLANS:
            registry.plans.clear()
        registry.plans[key] = plan
    return plan


_Tag = TypeVar("_Tag")


def _add_targets(
    registry: ModelRegistry,
    wanted: Iterable[tuple[str, _Tag]],
    ordered: list[Target],
    skipped: list[str],
) -> list[_Tag]:
    """Add each target `wanted` names (with its tag: why, or a weight) that `ordered` lacks, a
    name that resolves to none to `skipped`; the tags of those added."""
    tags: list[_Tag] = []
    for name, tag in wanted:
        try:
            target = registry.resolve(name)
        except NotFound:
            skipped.append(name)
            continue
        if target not in ordered:
            ordered.append(target)
            tags.append(tag)
    return tags


def _plan(registry: ModelRegistry, model: str, caller: str, small: bool) -> Plan:
    route = registry.route_of(model)
    config = registry.config
    skipped: list[str] = []
    pool, weights = _pool(registry, model, route, skipped)
    small_target = route.small_request or config.small_request_model
    first: list[tuple[str, str]] = []
    pin = route.pin.get(caller) if caller else None
    if pin:
        first.append((pin, "pin"))
    if small and small_target:
        first.append((small_target, "small_request"))
    ordered: list[Target] = []
    rule = next(iter(_add_targets(registry, first, ordered, skipped)), None)
    pool_at = len(ordered)
    kept = [(t, w) for t, w in zip(pool, weights, strict=True) if t not in ordered]
    ordered.extend(t for t, _ in kept)
    # A bare cloud id (as Claude Code set up for Bedrock or Vertex asks) falls back to
    # Anthropic's same model; one naming its provider (`bedrock/...`) asked for that cloud, and
    # the operator's routes alone say where it may go instead (data kept in the cloud chosen).
    unaliased = registry.unalias(model)
    twin = None if "/" in unaliased else vendor_twin(unaliased)
    fallbacks = (*((twin,) if twin else ()), *route.fallback, *config.fallback)
    _add_targets(registry, [(name, None) for name in fallbacks], ordered, skipped)
    if ordered[0] in pool:
        rule = None
    hints = {t.label: h for t in ordered if (h := registry.hint(t)) is not None}
    return Plan(
        model,
        tuple(ordered),
        route,
        rule,
        tuple(skipped),
        hints,
        pool=tuple(t for t, _ in kept),
        pool_at=pool_at,
        weights=tuple(w for _, w in kept),
        small_target=small_target,
    )


def _pool(
    registry: ModelRegistry, model: str, route: RouteConfig, skipped: list[str]
) -> tuple[list[Target], list[float]]:
    """The targets `route`'s strategy chooses among for `model`, with their weights: the
    route's `targets` that resolve (the others go to `skipped`), else the model's owner.

    Raises:
        NotFound: the route lists no targets and `model` resolves to no provider, or none of
            its targets resolves.
    """
    if not route.targets:
        return [registry.resolve(model)], [1.0]
    weights = route.weights or (1.0,) * len(route.targets)
    pool: list[Target] = []
    kept = _add_targets(registry, zip(route.targets, weights, strict=True), pool, skipped)
    if not pool:
        raise NotFound(
            f"no target of the route {route.pattern!r} names a model a provider serves "
            f"({', '.join(route.targets)}); fix gateway.routes.{route.pattern!r}.targets",
            code=ErrorCode.MODEL_NOT_FOUND,
            param="model",
        )
    return pool, kept
