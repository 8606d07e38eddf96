"""Adding and editing API providers from the desk: an OpenAI- or Anthropic-compatible endpoint
with its key, headers, proxy, and the aliases, routes and prices of its models; or a cloud's
(Azure OpenAI, Amazon Bedrock, Google Vertex AI) with its region, project, location, api version
or deployments (docs/CLOUDS.md).

A save is checked whole before anything is written (the message and `param` name the field),
then the key goes to the vault and the rest to `config.toml` in one rewrite that keeps the
person's comments (`SettingsSaver.write_many`), and the gateway routes by the new tables from
the next request on: the registry, the key chain and the upstream client take the new
configuration in place, no restart. The key never reaches config.toml.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from urllib.parse import urlsplit

from llmgw_desktop.config.api_catalog import (
    API_PROVIDERS,
    CLI_BRIDGES,
    CLOUD_BEDROCK,
    CLOUD_KINDS,
    CLOUD_VERTEX,
)
from llmgw_desktop.config.gateway_tables import (
    GatewayConfig,
    check_provider_tables,
    check_route_tables,
    gateway_config,
    header_problem,
)
from llmgw_desktop.config.prices import check_price_tables
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.clouds import CloudCall, CloudNotReady
from llmgw_desktop.engine.gateway.http_client.proxies import parse_proxy_url
from llmgw_desktop.engine.gateway.model_lists import ModelListError, read_model_list
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tokens.price_book import PriceBook, price_as_table
from llmgw_desktop.engine.tokens.pricing import Price

__all__ = ["EDITABLE_KINDS", "ModelEntries", "ProviderDraft", "ProviderEditor", "TestResult"]

log = logging.getLogger(__name__)

# What the editor offers: the dialects a self-hosted or corporate endpoint speaks, and the clouds.
EDITABLE_KINDS = ("openai-compatible", "anthropic", *CLOUD_KINDS)
# The cloud fields a draft carries, and the kind each belongs to.
CLOUD_DRAFT_FIELDS = (
    "region",
    "project",
    "location",
    "api_version",
    "guardrail",
    "guardrail_version",
    "content_filter",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
_BUILTIN_IDS = frozenset(p.id for p in API_PROVIDERS)
_CLI_IDS = frozenset(b.id for b in CLI_BRIDGES)
MAX_HEADERS = 32
MAX_MODELS = 500
# A Test is a person waiting at a dialog: shorter than the background reads' bound.
TEST_TIMEOUT_S = 15.0


class KeyStore(Protocol):
    """The vault's part the editor uses."""

    async def store_key(
        self, principal: Principal, provider: str, api_key: str
    ) -> dict[str, Any]: ...

    async def resolve_keys(self, provider: str, project: str | None = None) -> list[str]: ...


@dataclass(frozen=True)
class ProviderDraft:
    """One provider as the editor shows it. `api_key`: a new key for the vault (None keeps
    the one stored; it is never read back)."""

    id: str
    kind: str = "openai-compatible"
    base_url: str = ""
    name: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    proxy: str = ""
    models: tuple[str, ...] = ()
    api_key: str | None = None
    # A cloud's own settings (empty: its environment variables').
    region: str = ""
    project: str = ""
    location: str = ""
    api_version: str = ""
    deployments: Mapping[str, str] = field(default_factory=dict)
    # The cloud's own guardrail by name: Bedrock's (and its version), Azure's content filter.
    guardrail: str = ""
    guardrail_version: str = ""
    content_filter: str = ""

    def table(self) -> dict[str, Any]:
        """The provider's table in config.toml (never the key)."""
        table: dict[str, Any] = {"kind": self.kind}
        if self.base_url.strip() or self.kind not in (CLOUD_BEDROCK, CLOUD_VERTEX):
            table["base_url"] = self.base_url.strip()
        for name in CLOUD_DRAFT_FIELDS:
            if str(getattr(self, name)).strip():
                table[name] = str(getattr(self, name)).strip()
        if self.deployments:
            table["deployments"] = dict(self.deployments)
        if self.name.strip():
            table["name"] = self.name.strip()
        if self.models:
            table["models"] = list(self.models)
        if self.headers:
            table["headers"] = dict(self.headers)
        if self.proxy.strip():
            table["proxy"] = self.proxy.strip()
        return table


@dataclass(frozen=True)
class ModelEntries:
    """The aliases, routes and prices that belong to one provider's models."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    routes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    prices: Mapping[str, Price] = field(default_factory=dict)


@dataclass(frozen=True)
class TestResult:
    """What a provider's model list said: its models, or the exact error."""

    models: tuple[str, ...] = ()
    error: str | None = None


class ProviderEditor:
    """Reads and writes the person's API providers (operator only), applied live."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Any],
        aliases: Mapping[str, str],
        routes: Mapping[str, Any],
        config_of: Callable[
            [Mapping[str, Any], Mapping[str, str], Mapping[str, Any]], GatewayConfig
        ],
        gateway: GatewayService,
        saver: SettingsSaver,
        vault: KeyStore,
        prices: PriceBook,
        refresh: Callable[[], None] = lambda: None,
    ) -> None:
        """`config_of(providers, aliases, routes)` builds the gateway's configuration from the
        three tables (the rest of the settings as they were); `refresh` asks for the model
        lists to be read again soon."""
        self._providers = dict(providers)
        self._aliases = dict(aliases)
        self._routes = dict(routes)
        self._config_of = config_of
        self._gateway = gateway
        self._saver = saver
        self._vault = vault
        self._prices = prices
        self._refresh = refresh
        self._lock = asyncio.Lock()

    @property
    def can_save(self) -> bool:
        return self._saver.can_save

    def custom_ids(self) -> list[str]:
        """The providers the person added (not the built-in ones they may have tuned)."""
        return sorted(p for p in self._providers if p not in _BUILTIN_IDS)

    def draft_of(self, provider_id: str) -> ProviderDraft | None:
        """The provider as the editor shows it (None: not one the person added)."""
        table = self._providers.get(provider_id)
        if table is None or provider_id in _BUILTIN_IDS:
            return None
        return ProviderDraft(
            provider_id,
            kind="openai-compatible"
            if table.get("kind", "openai") in ("openai", "openai-compatible")
            else str(table["kind"]),
            base_url=str(table.get("base_url", "")),
            name=str(table.get("name", "")),
            headers=dict(table.get("headers", {})),
            proxy=str(table.get("proxy", "")),
            models=tuple(table.get("models", ())),
            **{name: str(table.get(name, "")) for name in CLOUD_DRAFT_FIELDS},
            deployments=dict(table.get("deployments", {})),
        )

    def entries_of(self, provider_id: str, models: Sequence[str] = ()) -> ModelEntries:
        """The aliases, routes and prices that belong to the provider's models."""
        owns = _owner(provider_id, models)
        return ModelEntries(
            aliases={a: t for a, t in self._aliases.items() if owns(t)},
            routes={p: dict(t) for p, t in self._routes.items() if owns(p)},
            prices={m: p for m, p in self._prices.user.items() if owns(m)},
        )

    async def has_key(self, provider_id: str) -> bool:
        """Whether the vault holds a key for the provider (its value is never shown)."""
        try:
            return bool(await self._vault.resolve_keys(provider_id))
        except Exception:  # a locked vault: the dialog says "unknown", not an error
            log.debug("vault not readable for %s", provider_id, exc_info=True)
            return False

    def check(self, draft: ProviderDraft, entries: ModelEntries, *, new: bool) -> None:
        """Refuse a draft that must not be saved; nothing is written before this passes.

        Raises:
            InvalidRequest: the message and `param` name the field (`id`, `kind`, `base_url`,
                `headers`, `proxy`, `models`, `api_key`, `aliases`, `routes`, `prices`); code
                `provider_exists` for an id already taken.
        """
        pid = draft.id.strip()
        self._check_id(pid, new=new)
        _check_endpoint(draft)
        if len(draft.models) > MAX_MODELS or any(
            not m or any(c.isspace() for c in m) for m in draft.models
        ):
            _refuse("models", "models: model ids without spaces, one a line")
        if draft.api_key is not None:
            _check_key(draft.kind, draft.api_key)
        _check_entries(entries)
        if (problem := check_provider_tables({pid: draft.table()})) is not None:
            _refuse("base_url", problem)

    def _check_id(self, pid: str, *, new: bool) -> None:
        """Refuse an id that is not one, or that a built-in provider, a CLI or (for a `new`
        draft) another of the person's providers already has.

        Raises:
            InvalidRequest: `param` id; code `provider_exists` for an id already taken.
        """
        if not _ID.fullmatch(pid):
            _refuse(
                "id",
                f"id {pid!r}: 1 to 40 lowercase letters, digits, '.', '_' or '-' (such as "
                "work-vllm)",
            )
        clis = self._gateway.registry.config.catalog
        if pid in _BUILTIN_IDS or pid in _CLI_IDS or clis.bridge(pid) or pid in clis:
            _refuse(
                "id",
                f"id {pid!r} is a built-in provider; choose another id for your endpoint",
                code=ErrorCode.PROVIDER_EXISTS,
            )
        if new and pid in self._providers:
            _refuse(
                "id",
                f"id {pid!r} is already one of your providers; edit it or choose another id",
                code=ErrorCode.PROVIDER_EXISTS,
            )

    async def test(self, principal: Principal, draft: ProviderDraft) -> TestResult:
        """List the draft's models from its API now (GET /models with its key, headers and
        proxy), before anything is saved; a failure is the result's `error`, word for word.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: the base URL, headers or proxy cannot be used (`param` says which).
        """
        require(principal, Capability.SETTINGS)
        if draft.kind in CLOUD_KINDS:
            return await self._test_cloud(draft)
        _check_url(draft.base_url.strip())
        for name, value in draft.headers.items():
            if (problem := header_problem(name, value)) is not None:
                _refuse("headers", f"headers: {problem}")
        key = draft.api_key
        if key is None:
            stored = await self._vault.resolve_keys(draft.id) if _ID.fullmatch(draft.id) else []
            key = stored[0] if stored else ""
        proxy = parse_proxy_url(draft.proxy.strip(), source="proxy") if draft.proxy else None
        if proxy is not None and proxy.problem:
            _refuse("proxy", f"proxy: {proxy.problem}")
        upstream = self._gateway.upstream
        added = dict(draft.headers)

        async def get_json(url: str, **kwargs: Any) -> Any:
            kwargs["headers"] = {**added, **kwargs.get("headers", {})}
            return await upstream.get_json(url, proxy=proxy, **kwargs)

        spec = gateway_config(
            providers={"draft": draft.table()}, aliases={}, routes={}, fallback=[]
        ).providers["draft"]
        try:
            models = await read_model_list(
                get_json, spec.dialect, spec.base_url, key, list_timeout_s=TEST_TIMEOUT_S
            )
        except ModelListError as exc:
            return TestResult(error=str(exc))
        return TestResult(models=models)

    async def _test_cloud(self, draft: ProviderDraft) -> TestResult:
        """A cloud has no model list to read with a key: its settings are checked, and its
        credential is found (an Entra ID, AWS or Google token fetched) as a request would."""
        if (problem := check_provider_tables({"draft": draft.table()})) is not None:
            _refuse("base_url", problem.replace("gateway.providers.draft", "the provider"))
        key = draft.api_key
        if key is None:
            stored = await self._vault.resolve_keys(draft.id) if _ID.fullmatch(draft.id) else []
            key = stored[0] if stored else None
        spec = gateway_config(
            providers={"draft": draft.table()}, aliases={}, routes={}, fallback=[]
        ).providers["draft"]
        wire = self._gateway.clouds.wire_of(spec)
        if (problem := wire.problem(keyed=key is not None)) is not None:
            return TestResult(error=problem)
        model = draft.models[0] if draft.models else "test"
        call = CloudCall(spec.base_url, model, spec.dialect_for(model), key, stream=False)
        try:
            async with asyncio.timeout(TEST_TIMEOUT_S):
                await wire.prepare(call, b"{}", {})
        except CloudNotReady as exc:
            return TestResult(error=exc.message)
        except TimeoutError:
            return TestResult(error=f"no credential within {TEST_TIMEOUT_S:g} s")
        return TestResult(models=draft.models)

    async def save(
        self, principal: Principal, draft: ProviderDraft, entries: ModelEntries, *, new: bool
    ) -> None:
        """Check, store the key in the vault, write config.toml in one rewrite, and route by
        it from the next request on.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: a field is not acceptable (nothing is written).
            VaultLocked: a new key could not be stored (nothing is written).
            RuntimeError: the gateway runs without a settings file.
            OSError: config.toml cannot be written (the key may already be stored).
        """
        require(principal, Capability.SETTINGS)
        key = draft.api_key.strip() if draft.api_key is not None else None
        draft = dataclasses.replace(draft, id=draft.id.strip(), api_key=key)
        # One edit at a time: each is computed from the tables the one before left.
        async with self._lock:
            await self._save(principal, draft, entries, new=new)

    async def _save(
        self, principal: Principal, draft: ProviderDraft, entries: ModelEntries, *, new: bool
    ) -> None:
        pid = draft.id
        old = self.draft_of(pid)
        before = self.entries_of(pid, old.models if old is not None else ())
        entries = _keeping_unedited_route_fields(before, entries)
        self.check(draft, entries, new=new)
        if not self._saver.can_save:
            raise RuntimeError("this gateway was started without a settings file to save to")
        providers = {**self._providers, pid: draft.table()}
        aliases = {a: t for a, t in self._aliases.items() if a not in before.aliases}
        aliases.update(entries.aliases)
        routes = {p: t for p, t in self._routes.items() if p not in before.routes}
        routes.update({p: dict(t) for p, t in entries.routes.items()})
        prices = {m: p for m, p in self._prices.user.items() if m not in before.prices}
        prices.update({m.strip().lower(): p for m, p in entries.prices.items()})
        config = self._config_of(providers, aliases, routes)  # checked above: cannot fail
        if draft.api_key is not None:
            await self._vault.store_key(principal, pid, draft.api_key)
        changes: list[tuple[tuple[str, ...], Any]] = [
            (("gateway", "providers", pid), draft.table())
        ]
        changes += [(("gateway", "aliases", a), None) for a in before.aliases]
        changes += [(("gateway", "aliases", a), t) for a, t in entries.aliases.items()]
        changes += [(("gateway", "routes", p), None) for p in before.routes]
        changes += [(("gateway", "routes", p), dict(t)) for p, t in entries.routes.items()]
        if prices != dict(self._prices.user):
            changes.append((("gateway", "prices"), _price_tables(prices)))
        await self._saver.write_many(changes)
        self._providers, self._aliases, self._routes = providers, aliases, routes
        self._prices.replace_user(prices)
        self._apply(config)
        log.info("provider %s %s", pid, "added" if new else "saved")

    async def remove(self, principal: Principal, provider_id: str) -> None:
        """Remove a provider the person added, with its aliases and routes (its vault key
        stays, listed on the Provider keys page).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: not one of the person's providers.
            OSError: config.toml cannot be written.
        """
        require(principal, Capability.SETTINGS)
        async with self._lock:
            await self._remove(provider_id)

    async def _remove(self, provider_id: str) -> None:
        draft = self.draft_of(provider_id)
        if draft is None:
            _refuse("id", f"{provider_id!r} is not one of your providers")
        before = self.entries_of(provider_id, draft.models)
        providers = {p: t for p, t in self._providers.items() if p != provider_id}
        aliases = {a: t for a, t in self._aliases.items() if a not in before.aliases}
        routes = {p: t for p, t in self._routes.items() if p not in before.routes}
        changes: list[tuple[tuple[str, ...], Any]] = [(("gateway", "providers", provider_id), None)]
        changes += [(("gateway", "aliases", a), None) for a in before.aliases]
        changes += [(("gateway", "routes", p), None) for p in before.routes]
        await self._saver.write_many(changes)
        self._providers, self._aliases, self._routes = providers, aliases, routes
        self._apply(self._config_of(providers, aliases, routes))
        log.info("provider %s removed", provider_id)

    def _apply(self, config: GatewayConfig) -> None:
        gateway = self._gateway
        gateway.registry.replace_config(config)
        gateway.keys.replace_config(config)
        gateway.upstream.use_providers(config.providers.values())
        gateway.clouds.use_providers(config.providers.values())
        gateway.directory.forget_unlisted()
        self._refresh()


def _owner(provider_id: str, models: Sequence[str]) -> Callable[[str], bool]:
    prefix = provider_id + "/"
    own = {m.lower() for m in models}

    def owns(name: str) -> bool:
        return name.startswith(prefix) or name.lower() in own

    return owns


def _price_tables(prices: Mapping[str, Price]) -> dict[str, dict[str, float]]:
    return {m.strip().lower(): price_as_table(p) for m, p in prices.items()}


def _check_endpoint(draft: ProviderDraft) -> None:
    """Refuse a draft whose kind, base URL, headers or proxy cannot be used.

    Raises:
        InvalidRequest: `param` kind, base_url, headers or proxy.
    """
    if draft.kind not in EDITABLE_KINDS:
        _refuse("kind", f"kind {draft.kind!r} must be one of {', '.join(EDITABLE_KINDS)}")
    if draft.base_url.strip() or draft.kind not in (CLOUD_BEDROCK, CLOUD_VERTEX):
        _check_url(draft.base_url.strip())
    if len(draft.headers) > MAX_HEADERS:
        _refuse("headers", f"headers: at most {MAX_HEADERS}")
    for name, value in draft.headers.items():
        if (problem := header_problem(name, value)) is not None:
            _refuse("headers", f"headers: {problem}")
    if draft.proxy.strip():
        proxy = parse_proxy_url(draft.proxy.strip(), source="proxy")
        if proxy.problem or not re.match(r"^http://[^/\s]+/?$", draft.proxy.strip()):
            _refuse(
                "proxy",
                f"proxy: {proxy.problem or 'an http:// URL with host and port'} (such as "
                "http://proxy.corp:3128)",
            )


def _check_entries(entries: ModelEntries) -> None:
    """Refuse aliases, routes or prices of the provider's models that must not be saved.

    Raises:
        InvalidRequest: `param` aliases, routes or prices.
    """
    for alias, target in entries.aliases.items():
        if not alias or not target or any(c.isspace() for c in alias + target):
            _refuse("aliases", f"alias {alias!r} = {target!r}: a name and a model id, no spaces")
        if alias == target:
            _refuse("aliases", f"alias {alias!r} points at itself")
    if (problem := check_route_tables(entries.routes)) is not None:
        _refuse("routes", problem)
    if (problem := check_price_tables(_price_tables(entries.prices))) is not None:
        _refuse("prices", f"prices: {problem}")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        _refuse(
            "base_url",
            f"base URL {url!r} must start with http:// or https:// (such as "
            "http://127.0.0.1:8001/v1)",
        )
    try:
        host = parts.hostname
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        host = None
    if not host or any(c.isspace() for c in url):
        _refuse("base_url", f"base URL {url!r} names no host (such as http://127.0.0.1:8001/v1)")
    if parts.query or parts.fragment or parts.username:
        _refuse(
            "base_url",
            f"base URL {url!r}: no query, fragment or login in it (the key goes in the Key field)",
        )


def _check_key(kind: str, key: str) -> None:
    """A key the vault may keep for `kind`: one line without spaces, or for Vertex a
    service-account key's JSON (its private key holds spaces)."""
    if kind == CLOUD_VERTEX and key.strip().startswith("{"):
        try:
            info = json.loads(key)
        except ValueError:
            info = None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            _refuse("api_key", "key: a service-account key's JSON (its type is service_account)")
        return
    if not key.strip() or any(c.isspace() or ord(c) < 32 for c in key):
        _refuse("api_key", "key: one line without spaces (leave it empty to keep the stored one)")


def _refuse(param: str, message: str, *, code: ErrorCode | None = None) -> NoReturn:
    raise InvalidRequest(message, code=code, param=param)


# The route fields the editor's form shows and sets; a route's others (its `targets`, `weights`,
# `small_request`) are kept as config.toml has them when the form saves the route.
FORM_ROUTE_FIELDS = frozenset({"strategy", "fallback", "pin"})


def _keeping_unedited_route_fields(before: ModelEntries, entries: ModelEntries) -> ModelEntries:
    """`entries` whose routes keep what the form does not edit of the same routes saved
    before (a form that knows only strategy, fallback and pin must not drop a route's
    targets)."""
    routes: dict[str, Mapping[str, Any]] = {}
    for pattern, table in entries.routes.items():
        kept = {
            name: value
            for name, value in before.routes.get(pattern, {}).items()
            if name not in FORM_ROUTE_FIELDS
        }
        routes[pattern] = {**kept, **table}
    return dataclasses.replace(entries, routes=routes)
