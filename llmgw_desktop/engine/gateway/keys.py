"""API keys and base URLs for upstream calls: where they come from and which goes first.

Keys are looked for in the vault (the request's project, then global), then config.toml, then
the environment of an existing setup (`OPENAI_API_KEY` and friends), in that order; all of them
together are the provider's key pool. A cloud with none of them uses its own credential chain
(the AWS chain, Application Default Credentials, Microsoft Entra ID): one pool member without
a value, resolved by the cloud's wire when a request is sent. The route's strategy orders the
pool per request, and a key that was just rate limited rests until its `Retry-After` passes.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.config.gateway_tables import GatewayConfig
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["KeyChain", "PoolKey", "VaultKeys"]

log = logging.getLogger(__name__)

# Vault records may name a provider the way other tools do.
VAULT_NAMES = {"google": ("google", "gemini"), "xai": ("xai", "grok")}
# A rate-limited key rests as long as its provider asked (Retry-After), else 5 s; 2 min at most.
KEY_REST = Backoff(first_s=5.0, longest_s=120.0)
# After the vault's database could not be reached, requests do without its keys this long
# before one asks it again: each ask would otherwise queue behind the store's own retries.
VAULT_RETRY_S = 2.0


class VaultKeys(Protocol):
    # Changes whenever a record is stored or deleted.
    version: int

    async def resolve_keys(self, provider: str, project: str | None = None) -> list[str]: ...


@dataclass(frozen=True)
class PoolKey:
    """One key of a provider's pool; `label` names its source, never its value."""

    label: str
    value: str | None

    def __repr__(self) -> str:
        return f"PoolKey({self.label})"


class KeyChain:
    """Finds keys and base URLs, orders key pools, and rests keys that were rate limited."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        environ: Mapping[str, str],
        vault: VaultKeys | None = None,
        own_origins: AbstractSet[str] = frozenset(),  # a live view: Engine.listening_on adds ports
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._environ = environ
        self._vault = vault
        self._own_origins = own_origins
        self._clock = clock
        self._resting: dict[tuple[str, str], float] = {}
        self._turns: dict[str, itertools.count[int]] = {}
        # (vault name, project) -> (vault version, keys): a database round trip per request
        # would cost more than the rest of the gateway's work together.
        self._vault_cache: dict[tuple[str, str | None], tuple[int, list[str]]] = {}
        self._pools: dict[tuple[str, str | None], tuple[int, list[PoolKey]]] = {}
        # Provider id -> the own origins its base URL was found for, and the URL.
        self._base_urls: dict[str, tuple[frozenset[str], str]] = {}
        self.vault_problem: str | None = None
        # Bumped when the providers are edited, so model lists are read again.
        self.config_version = 0
        # Set while the vault's database cannot be reached (its keys are unknown, not absent):
        # the monotonic time before which it is not asked again.
        self._vault_unreachable_until: float | None = None

    def replace_config(self, config: GatewayConfig) -> None:
        """Find keys and base URLs by `config` from the next request on (the providers were
        edited); resting keys keep resting."""
        self._config = config
        self._pools.clear()
        self._base_urls.clear()
        self.config_version += 1

    def env_names(self, provider_id: str) -> tuple[str, ...]:
        """The environment variables `provider_id`'s key is read from, in the order looked
        (its `key_env` override in config.toml first)."""
        spec = self._config.providers.get(provider_id)
        names = (self._config.key_env_overrides.get(provider_id), *(spec.key_env if spec else ()))
        return tuple(dict.fromkeys(name for name in names if name))

    @property
    def vault_unreachable(self) -> bool:
        """True while the vault's keys are unknown because its database cannot be reached: a
        request with no other key should be told to retry, not that no key exists."""
        return self._vault_unreachable_until is not None

    @property
    def version(self) -> int:
        """Changes whenever a pool may have: the vault's keys changed, or the providers were
        edited (the environment is fixed for the life of the process)."""
        vault = self._vault.version if self._vault is not None else 0
        return vault + self.config_version

    async def pool(self, spec: ApiProviderSpec, project: str | None = None) -> list[PoolKey]:
        """Every key for `spec`, project-scoped vault keys first; `[None]` if it needs none.

        Remembered until the vault or the providers change: the environment is fixed for the
        life of the process, and this runs on every request.
        """
        version = self._vault.version if self._vault is not None else 0
        cached = self._pools.get((spec.id, project))
        if cached is not None and cached[0] == version:
            return cached[1]
        keys = await self._collect(spec, project)
        if self.vault_problem is None:  # a locked vault may be fixed without a write
            self._pools[(spec.id, project)] = (version, keys)
        return keys

    async def has_key(self, provider_id: str, project: str | None = None) -> bool:
        """Whether a request of `project` to the API provider `provider_id` would be sent with
        a key of its own (the vault's, config.toml's or the environment's): a provider that is
        not configured, is switched off in its table or holds no key would not be sent."""
        spec = self._config.providers.get(provider_id)
        if spec is None or not spec.enabled or spec.local:
            return False
        return any(key.value for key in await self.pool(spec, project))

    async def sendable(self, project: str | None = None) -> dict[str, str]:
        """Every key this gateway would send any of its providers for a request of `project`
        (the vault's, config.toml's and the environment's), by value, with its source's label
        (`env:OPENAI_API_KEY`, `config:openai#1`, `vault:openai#1`): the operator's own keys,
        which the outbound guard's answer scan masks."""
        found: dict[str, str] = {}
        for spec in self._config.providers.values():
            for key in await self.pool(spec, project):
                if key.value:
                    label = key.label
                    if label.startswith("config#"):
                        label = f"config:{spec.id}#{label.removeprefix('config#')}"
                    found.setdefault(key.value, label)
        return found

    async def _collect(self, spec: ApiProviderSpec, project: str | None) -> list[PoolKey]:
        found: list[PoolKey] = []
        if self._vault is not None:
            for name in VAULT_NAMES.get(spec.id, (spec.id,)):
                values = await self._vault_keys(name, project)
                found += [PoolKey(f"vault:{name}#{i + 1}", v) for i, v in enumerate(values)]
        for i, value in enumerate(self._config.config_keys.get(spec.id, ())):
            found.append(PoolKey(f"config#{i + 1}", value))
        for name in self.env_names(spec.id):
            if self._environ.get(name, "").strip():
                found.append(PoolKey(f"env:{name}", self._environ[name].strip()))
                break
        unique: dict[str, PoolKey] = {}
        for key in found:
            unique.setdefault(key.value or "", key)
        keys = list(unique.values())
        if not keys and spec.ambient:
            # A cloud's own credential chain (AWS, ADC, Entra ID), found when it is asked.
            return [PoolKey(spec.ambient, None)]
        if not keys and not spec.needs_key:
            return [PoolKey("none", None)]
        return keys

    async def _vault_keys(self, name: str, project: str | None) -> list[str]:
        assert self._vault is not None
        version = self._vault.version
        cached = self._vault_cache.get((name, project))
        if cached is not None and cached[0] == version:
            return cached[1]
        until = self._vault_unreachable_until
        if until is not None and self._clock() < until:
            return []
        try:
            values = await self._vault.resolve_keys(name, project)
        except EngineError as exc:
            # A locked vault, or a database that cannot be reached, must not hide keys from
            # config or the environment.
            unreachable = exc.code == ErrorCode.STORE_UNAVAILABLE
            if not unreachable or until is None:  # once per outage: the store logs its own
                log.warning("vault keys for %s unavailable: %s", name, exc.code)
            self.vault_problem = exc.message
            self._vault_unreachable_until = self._clock() + VAULT_RETRY_S if unreachable else None
            return []
        # The vault answered: one unlocked since a failure must no longer be blamed.
        self.vault_problem = None
        self._vault_unreachable_until = None
        self._vault_cache[(name, project)] = (version, values)
        return values

    def base_url(self, spec: ApiProviderSpec) -> str:
        """The provider's base URL: the environment's override unless it points back at us."""
        cached = self._base_urls.get(spec.id)
        # Found for the origins we listen on now (a live view: a port may have been added).
        if cached is None or cached[0] != self._own_origins:
            own = frozenset(self._own_origins)
            cached = self._base_urls[spec.id] = (own, self._find_base_url(spec, own))
        return cached[1]

    def points_at_us(self, spec: ApiProviderSpec) -> bool:
        """Whether `spec`'s base URL is one of this gateway's own addresses (Ollama's port,
        where `http.ollama_port` serves the gateway): asking it would be asking ourselves."""
        return _origin(self.base_url(spec)) in self._own_origins

    def _find_base_url(self, spec: ApiProviderSpec, own: frozenset[str]) -> str:
        if spec.base_url_env:
            override = self._environ.get(spec.base_url_env, "").strip()
            if override and _origin(override) in own:
                # A shell set up to send this SDK through the gateway must not make the gateway
                # call itself forever.
                log.info("ignoring %s: it points at this gateway", spec.base_url_env)
            elif override:
                return override.rstrip("/")
        return spec.base_url

    def order(
        self, provider: str, keys: list[PoolKey], *, strategy: str, caller: str = ""
    ) -> list[PoolKey]:
        """The pool in the order to try it: the keys not resting, then the one resting key
        whose rest ends first (not away: a rate limit may lift early, and a lone key is always
        tried). Only one: with every key of a pool rate limited, each request asking each key
        again multiplied a 429 storm by the pool's size, against the Retry-After each sent."""
        if len(keys) > 1:
            if strategy == "round-robin":
                turn = next(self._turns.setdefault(provider, itertools.count()))
                start = turn % len(keys)
                keys = keys[start:] + keys[:start]
            elif strategy == "caller" and caller:
                # The same caller keeps the same key: its prompt cache lives with that account.
                digest = hashlib.sha256(caller.encode()).digest()
                start = int.from_bytes(digest[:4], "big") % len(keys)
                keys = keys[start:] + keys[:start]
        now = self._clock()
        ready = [k for k in keys if self._resting.get((provider, k.label), 0) <= now]
        if len(ready) == len(keys):  # none resting, as nearly always: no sort of nothing
            return ready
        resting = [k for k in keys if k not in ready]
        soonest = sorted(resting, key=lambda k: self._resting[(provider, k.label)])[:1]
        return ready + soonest

    def rest(self, provider: str, key: PoolKey, retry_after_s: float | None) -> None:
        """Let a rate-limited key rest before it goes first again."""
        seconds = KEY_REST.asked(retry_after_s)
        self._resting[(provider, key.label)] = self._clock() + seconds


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "localhost":
        host = "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"
