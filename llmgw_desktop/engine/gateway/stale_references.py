"""Config entries that name a model its provider does not list: the one rule of the warning.

An alias or route written months ago keeps pointing at a model the provider has since retired;
requests for it then fail upstream with a 404 that says little about the config line to fix.
Every place config.toml names a model is checked against the lists the providers' APIs gave
(only lists read successfully count: a provider that could not be asked proves nothing).

A list proves less than an answer: a provider may serve a model it does not list (a server
that lists a few, an alias of its own). So a reference is stale only while no call for its
model has answered since its provider's list was read (`answered_at`); and its words say what
is known, that the list does not name it and calls may fail, never that they will.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.gateway_tables import GatewayConfig
from llmgw_desktop.engine.errors import NotFound
from llmgw_desktop.engine.gateway.model_lists import is_listed
from llmgw_desktop.engine.gateway.router import ModelRegistry

__all__ = ["StaleReference", "config_references", "find_stale_references"]


@dataclass(frozen=True)
class StaleReference:
    """One config entry naming a model that its provider's list does not hold."""

    # alias, route_target, route_small_request, route_fallback, route_pin, fallback,
    # default_model, small_request_model
    kind: str
    name: str  # the alias, the route pattern (and caller, for a pin), or the setting's key
    model: str  # the model as the config names it
    provider: str
    provider_model: str  # the id the provider would be asked for

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "model": self.model,
            "provider": self.provider,
            "providerModel": self.provider_model,
        }

    def describe(self) -> str:
        """One line for the log and the dashboard: `alias 'fast' names 'gpt-4o-mini', not in
        openai's model list: calls may fail`."""
        where = {
            "alias": f"alias {self.name!r}",
            "route_target": f"target of route {self.name!r}",
            "route_small_request": f"small-request target of route {self.name!r}",
            "route_fallback": f"fallback of route {self.name!r}",
            "route_pin": f"pin of route {self.name}",
            "fallback": "gateway.fallback",
        }.get(self.kind, self.name)
        unlisted = f"not in {self.provider}'s model list"
        if self.provider_model == self.model:
            return f"{where} names {self.model!r}, {unlisted}: calls may fail"
        named = f"{where} names {self.model!r}"
        return f"{named}: {self.provider_model!r} is {unlisted}, calls may fail"


def config_references(config: GatewayConfig) -> Iterator[tuple[str, str, str]]:
    """(kind, name, model) for every place the config names a model."""
    for alias, model in config.aliases.items():
        yield "alias", alias, model
    for route in config.routes:
        for model in route.targets:
            yield "route_target", route.pattern, model
        if route.small_request:
            yield "route_small_request", route.pattern, route.small_request
        for model in route.fallback:
            yield "route_fallback", route.pattern, model
        for caller, model in route.pin.items():
            yield "route_pin", f"{route.pattern!r} (caller {caller})", model
    for model in config.fallback:
        yield "fallback", "gateway.fallback", model
    if config.default_model:
        yield "default_model", "gateway.default_model", config.default_model
    if config.small_request_model:
        yield "small_request_model", "gateway.small_request_model", config.small_request_model


def find_stale_references(
    registry: ModelRegistry,
    lists: Mapping[str, Collection[str]],
    answered: Callable[[str, str], bool],
) -> tuple[StaleReference, ...]:
    """The config's references to API models missing from their provider's list in `lists`
    (provider id -> ids it listed) for which no call has answered since that list was read
    (`answered(provider, model)`); a provider absent from `lists` is never blamed."""
    stale: list[StaleReference] = []
    for kind, name, model in config_references(registry.config):
        try:
            target = registry.resolve(model)
        except NotFound:
            continue  # unknown or looping: the request itself says so, with the fix
        listed = lists.get(target.provider)
        if target.kind != "api" or listed is None or is_listed(target.model, listed):
            continue
        if answered(target.provider, target.model):
            continue  # it answered, listed or not
        stale.append(StaleReference(kind, name, model, target.provider, target.model))
    return tuple(stale)
