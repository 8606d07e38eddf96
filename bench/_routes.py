"""`gateway_overhead.py --routes`: gateways whose request model is a route of one target and of
three, and the balancer's own cost per request, measured in this process.

The three targets are three providers of the one upstream (openai-compatible, each with the
bench key), weighted 3:1:1, so every request is ordered by `Balancer.order` (smooth weighted
round robin), counted in flight, timed to its first token, and its share counted. The route of
one target is the same providers and route with nothing to choose, so the difference between the
two is the choice alone; both answer as the `current` gateway does (the same dialect, the same
model id: the bytes go as they came).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.config.principals import LOCAL
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer
from llmgw_desktop.engine.gateway.router import ModelRegistry, plan_request

__all__ = ["choice_cost_us", "targets_env"]

PROVIDERS = ("route-a", "route-b", "route-c")
WEIGHTS = [3, 1, 1]
ROUNDS = 100_000


def _tables(
    base_url: str, model: str, targets: int = 3
) -> tuple[dict[str, object], dict[str, object]]:
    providers = {
        pid: {
            "kind": "openai-compatible",
            "base_url": base_url,
            "models": [model],
            "api_key": "sk-bench-key",
        }
        for pid in PROVIDERS
    }
    route = {
        model: {
            "targets": [f"{pid}/{model}" for pid in PROVIDERS[:targets]],
            "strategy": "weighted",
            "weights": WEIGHTS[:targets],
        }
    }
    return providers, route


def targets_env(base_url: str, request: Mapping[str, object], targets: int = 3) -> dict[str, str]:
    """The environment of a gateway whose request model is a route of `targets` targets (one:
    the same providers and route, nothing to choose)."""
    providers, routes = _tables(base_url, str(request["model"]), targets)
    return {
        "LLM_GATEWAY_PROVIDERS": json.dumps(providers),
        "LLM_GATEWAY_ROUTES": json.dumps(routes),
    }


def choice_cost_us(rounds: int = ROUNDS) -> float:
    """Microseconds per request the balancer spends choosing among three targets and keeping
    their figures (order, in flight, answered with rate-limit headers, share), over what a plan
    of one target costs it."""
    model = "gpt-4o"
    providers, routes = _tables("http://127.0.0.1:9/v1", model)
    three = ModelRegistry(
        gateway_config(providers=providers, aliases={}, routes=routes, fallback=[])
    )
    one = ModelRegistry(gateway_config(providers={}, aliases={}, routes={}, fallback=[]))
    headers = {"x-ratelimit-remaining-requests": "499", "x-ratelimit-limit-requests": "500"}
    costs = []
    for registry in (three, one):
        balancer = Balancer()
        started = time.perf_counter()
        for _ in range(rounds):
            plan = plan_request(registry, model)
            ordered = balancer.order(
                plan, principal=LOCAL, caller="", tokens=12, cost=lambda _t: None
            )
            target = ordered.targets[0]
            flight = balancer.began(target, LOCAL)
            balancer.answered(target, 0.001, headers, principal=LOCAL)
            balancer.served(plan, target)
            flight.release()
        costs.append((time.perf_counter() - started) / rounds * 1e6)
    return costs[0] - costs[1]
