"""Which models answer on this machine's keys, in the order a caller who names none is given
one: the one choice of "a model that answers" for everything that needs it.

`GET /v1/models` lists what answers now (`ProvidersService.models`: providers with a key or a
login, switched on, not in lasting trouble, within the caller's key scope). From those rows:

- `connect` and `run` name a model in a tool's set-up where the tool's own vendor has no key
  (`shell/connect_facts.py`, which reads the running gateway's list over HTTP);
- `/v1/generate` and `ask_model` (and the seed's names for them) answer a prompt that names no
  model, as the settings reference promises for an empty `gateway.default_model`
  (`ProvidersService.model_to_ask`);
- `list_models` lists the API providers' models in this order.

The order: API providers and local servers first, in the catalogue's order of providers (the
vendors a tool is best asked for come first), each provider's catalogue models before the rest
of its list; the coding CLIs' bridges last, and only where asked for (`bridges`): a tool set
up through the gateway would otherwise be answered by itself, while a prompt sent to the
gateway is answered by a CLI when no API key answers, as the seed's provider priority says.
Aliases and routes are not listed: their targets are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS

__all__ = ["answering_of", "first_answering"]

# The `/v1/models` row types that are a provider's own model (not an alias or a route).
_API_KINDS = ("api", "local")
_BRIDGE_KIND = "cli"


def answering_of(
    rows: Iterable[Mapping[str, Any]], *, bridges: bool = False
) -> dict[str, tuple[str, ...]]:
    """Provider id -> the models of it that answer, preferred first, from `/v1/models`' rows;
    providers in the order they are preferred. With `bridges`, the coding CLIs' bridges too,
    after every API provider and local server."""
    kinds = (*_API_KINDS, _BRIDGE_KIND) if bridges else _API_KINDS
    listed: dict[str, list[str]] = {}
    for row in rows:
        if row.get("type") in kinds:
            listed.setdefault(str(row.get("provider")), []).append(str(row.get("id")))
    catalogue = {spec.id: spec for spec in API_PROVIDERS}
    place = {pid: index for index, pid in enumerate(catalogue)}
    kind_of = {str(row.get("provider")): row.get("type") for row in rows}

    def rank(provider: str) -> tuple[int, int]:
        return (kind_of[provider] == _BRIDGE_KIND, place.get(provider, len(place)))

    preferred: dict[str, tuple[str, ...]] = {}
    for provider in sorted(listed, key=rank):
        own = catalogue[provider].models if provider in catalogue else ()
        models = listed[provider]
        preferred[provider] = (
            *[m for m in own if m in models],
            *[m for m in models if m not in own],
        )
    return preferred


def first_answering(
    answering: Mapping[str, tuple[str, ...]], provider: str | None = None
) -> str | None:
    """The model to ask: `provider`'s first that answers when one is named, else the first of
    the first provider that answers; None when none does."""
    if provider is not None:
        return next(iter(answering.get(provider, ())), None)
    return next((models[0] for models in answering.values() if models), None)
