"""What the gateway can serve right now: providers with why-not, models, local servers found.

Local model servers (Ollama, LM Studio, vLLM, llama.cpp) are probed on their default loopback
ports. A server that answers is *offered* (listed, with how to switch it on), never used until
it is configured; a configured one has its model list read so bare model ids route to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from llmgw_desktop.engine.errors import GatewayError, NotFound
from llmgw_desktop.engine.gateway.catalog import CLI_BRIDGES, ApiProviderSpec
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.upstream import UpstreamClient

__all__ = ["ProviderDirectory"]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.8
REFRESH_AFTER_S = 60.0


class ProviderDirectory:
    """Availability of every gateway provider, and the models they offer."""

    def __init__(
        self,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        *,
        cli_available: Callable[[str], Awaitable[GatewayError | None]],
        detect_local: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._keys = keys
        self._upstream = upstream
        self._cli_available = cli_available
        self._detect_local = detect_local
        self._clock = clock
        self.detected: dict[str, str] = {}  # provider id -> base URL that answered
        self._refreshed_at: float | None = None
        self._refresh_lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        """Probe local servers and read configured ones' model lists (at most once a minute)."""
        async with self._refresh_lock:
            now = self._clock()
            # `is not None`: a refresh at clock time 0.0 (an injected clock) still counts.
            last = self._refreshed_at
            if not force and last is not None and now - last < REFRESH_AFTER_S:
                return
            self._refreshed_at = now
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

    async def _probe(self, spec: ApiProviderSpec) -> tuple[str, ...] | None:
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
        """Every provider with `available` and, when not, `reason` saying what would fix it."""
        await self.refresh()
        out = []
        for spec in self._registry.config.providers.values():
            pool = await self._keys.pool(spec, project) if spec.enabled else []
            reason = None
            if spec.local and not spec.enabled:
                reason = (
                    f"detected at {self.detected[spec.id]}; switch it on with "
                    f"[gateway.providers.{spec.id}] in config.toml"
                    if spec.id in self.detected
                    else "not running (nothing answers on its default port)"
                )
            elif not spec.enabled:
                reason = "switched off in config.toml"
            elif not pool:
                names = " or ".join(spec.key_env) or "an API key"
                reason = f"no API key: set {names} or store one with POST /v1/credentials"
                if self._keys.vault_problem:
                    reason += f" (the vault is unavailable: {self._keys.vault_problem})"
            out.append(
                {
                    "id": spec.id,
                    "name": spec.name,
                    "type": spec.kind,
                    "available": reason is None,
                    "reason": reason,
                    "dialect": spec.dialect,
                    "baseUrl": self._keys.base_url(spec),
                    "keySources": [k.label for k in pool if k.value],
                    "detected": spec.id in self.detected if spec.local else None,
                    "models": list(self._registry.models_of(spec.id)),
                }
            )
        for bridge in CLI_BRIDGES:
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

    async def models(self, project: str | None = None) -> list[dict[str, Any]]:
        """Models of available providers, plus aliases, in OpenAI's list-item shape."""
        rows: list[dict[str, Any]] = []
        available = {p["id"]: p for p in await self.providers(project) if p["available"]}
        for pid, info in available.items():
            for model in info["models"]:
                rows.append(_model(model, pid, info["type"]))
        for alias, target in self._registry.config.aliases.items():
            try:
                owner = self._registry.resolve(target)
            except NotFound:
                log.warning("alias %s points at unknown model %s", alias, target)
                continue
            if owner.provider in available:
                rows.append(_model(alias, owner.provider, "alias") | {"alias_of": target})
        return rows


def _model(model_id: str, provider: str, kind: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 0,
        "owned_by": provider,
        "provider": provider,
        "type": kind,
    }
