"""A locked gateway whose route spreads one model over several scripted upstreams, one provider
each, called through the official OpenAI SDK with a gateway key under a hard dollar budget, the
recorder on: what the route-target tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import openai

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER, LOCAL, LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

__all__ = ["PROVIDERS", "RouteRig", "route_rig"]

GATEWAY_TOKEN = "route-targets-operator-token-0123456789"
# One provider per upstream, each with a key of its own (told apart by length upstream).
PROVIDERS = ("alpha", "beta", "gamma")
KEYS = {"alpha": "sk-alpha-key-1111", "beta": "sk-beta-key-22222222", "gamma": "sk-gamma-k-3"}
# A generous hard dollar budget on the caller's key: every target is held for and counted.
KEY_BUDGET_USD = 50.0


@dataclass
class RouteRig:
    """The gateway, its upstreams by provider id, and a client holding a gateway key."""

    gateway: GatewayRuntime
    upstreams: dict[str, ScriptedUpstream]
    client: openai.AsyncOpenAI
    principal: str

    async def ask(self, model: str = "team-model", **extra: Any) -> str:
        """One chat call; the provider that answered (`x-gateway-provider`)."""
        raw = await self.client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}], **extra
        )
        return raw.headers["x-gateway-provider"]

    def calls(self, provider: str) -> int:
        return len(self.upstreams[provider].llm_requests)

    async def rows(self, limit: int = 500) -> list[dict[str, Any]]:
        """The key holder's recorder rows, oldest first."""
        recorder = self.gateway.engine.recorder
        return list(reversed(await recorder.recent(self.principal, limit=limit)))


@asynccontextmanager
async def route_rig(
    start_gateway: GatewayFactory,
    route: Mapping[str, Any],
    *,
    models: Sequence[str] = ("gpt-4o-mini",) * 3,
    settings: Mapping[str, Any] | None = None,
    local: bool = False,
    clock: Clock | None = None,
) -> AsyncIterator[RouteRig]:
    """A gateway with the route `team-model` = `route` over providers alpha, beta, gamma (as
    many as `models`: each serves its model at its own scripted upstream); `local`: the client
    is the local user (the instance token), whose failures count for everyone, not the key;
    `clock`: what its rests and cool-downs are measured by (`tests/clock.py`)."""
    async with AsyncExitStack() as stack:
        upstreams = {
            pid: await stack.enter_async_context(ScriptedUpstream())
            for pid in PROVIDERS[: len(models)]
        }
        providers = {
            pid: {
                "kind": "openai-compatible",
                "base_url": up.base_url + "/v1",
                "models": [model],
                "api_key": KEYS[pid],
            }
            for (pid, up), model in zip(upstreams.items(), models, strict=True)
        }
        gateway: GatewayRuntime = await start_gateway(
            {
                "http.auth_token": GATEWAY_TOKEN,
                "http.rate_limit_per_minute": 0,
                "gateway.providers": providers,
                "gateway.routes": {"team-model": dict(route)},
                **(settings or {}),
            },
            monotonic=clock,
        )
        made = await gateway.engine.keys.create(
            LOCAL_CALLER, KeySpec(name="team", budget_usd=KEY_BUDGET_USD)
        )
        if local:
            token = {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token}
            client, principal = openai_client(gateway, headers=token), LOCAL
        else:
            client, principal = openai_client(gateway, made.secret), made.record.principal
        try:
            yield RouteRig(gateway, upstreams, client, principal)
        finally:
            await client.close()
