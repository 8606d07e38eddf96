"""What answers a call now, decided here for every place that needs it: whether anything can
answer at all (`Answering`, `AnsweringWatch`), and which models answer, in the order a caller
who names none is given one (`answering_of`, `first_answering`).

## Whether anything answers

One fact, read by the window's header, the Overview's first card, the Playground, `/health`
and the start banner on the terminal. What answers is what `GET /v1/models` lists
(`ProvidersService.models`): the models of every provider with a key its provider did not
refuse, every local server switched on and running, every coding CLI found, less what is
switched off or paused. Counted once here, so the banner's
"openai (7 models)" is the length of that list, never the catalogue's six read before the
provider's own list came in.

The fact is kept (`AnsweringWatch.now`, read without waiting) and looked at again when a
switch, the pause or a model list changes, and every `CHECK_EVERY_S` besides (a key stored in
the vault makes its provider answer with no event of its own): a look is a read of the cached
lists, about half a millisecond. Each change is published (`AnsweringChanged`). "Nothing
answers" is said only once the gateway's first look at the providers has ended (local servers
probed, model lists read): before it, a key whose list is still being read is not yet known to
answer or not.

## Which models answer, preferred first

From the same rows (for one caller: within its key's scope), the one choice of "a model that
answers" for everything that needs one:

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

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.events import (
    Event,
    EventBus,
    ModelListRead,
    PauseChanged,
    ProviderToggled,
)

__all__ = [
    "CHECK_EVERY_S",
    "Answering",
    "AnsweringChanged",
    "AnsweringWatch",
    "answering_of",
    "first_answering",
]

log = logging.getLogger(__name__)

# How often the fact is looked at again besides the events that change it.
CHECK_EVERY_S = 3.0


@dataclass(frozen=True)
class Answering:
    """What can answer now: the models `GET /v1/models` lists, counted by provider."""

    # (provider, models listed), in the list's order: the gateway's ids (`openai`, `claude-cli`)
    by_provider: tuple[tuple[str, int], ...] = ()
    # Providers with a key or login whose models are held back: the provider refused it (by
    # switch id: `openai`, `claude`), so a reader can say what to fix rather than "add a key".
    refused: tuple[str, ...] = ()
    # The first look at the providers has ended: until then "nothing answers" is not said.
    settled: bool = False
    # CLIs whose models are held back until a person sets something up (`cli_login.py`): a
    # login the CLI says it lacks, or the key of the vendor a pointed agent's calls go through;
    # (switch id, what to do), in those words; never in `refused` (no key of theirs to replace).
    to_set_up: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        rows: Iterable[Mapping[str, Any]],
        refused: Iterable[str] = (),
        *,
        settled: bool,
        to_set_up: Mapping[str, str] | None = None,
    ) -> Answering:
        """The fact for the model list `rows` (`/v1/models`' rows)."""
        counts: dict[str, int] = {}
        for row in rows:
            provider = str(row.get("provider") or row.get("owned_by") or "")
            counts[provider] = counts.get(provider, 0) + 1
        out = tuple(sorted((to_set_up or {}).items()))
        return cls(tuple(counts.items()), tuple(sorted(set(refused))), settled, out)

    @property
    def models(self) -> int:
        """How many models answer: the length of `GET /v1/models`."""
        return sum(n for _provider, n in self.by_provider)

    @property
    def none(self) -> bool:
        """Nothing can answer a call (and that is known: the first look has ended)."""
        return self.settled and not self.by_provider


@dataclass(frozen=True)
class AnsweringChanged(Event):
    """What can answer a call changed: a provider began or ceased to answer, or nothing
    answers any more."""

    answering: Answering


class AnsweringWatch:
    """Keeps the fact fresh and says when it changes."""

    def __init__(
        self,
        read: Callable[[], Awaitable[Answering]],
        events: EventBus,
        *,
        before: Callable[[], Awaitable[None]] | None = None,
        every_s: float = CHECK_EVERY_S,
    ) -> None:
        """`read`: the fact now (a read of the cached model lists, never an upstream);
        `before`: what the watch has done before each of its looks (the lists due read)."""
        self._read = read
        self._before = before
        self._events = events
        self._every_s = every_s
        self._last = Answering()
        self._nudged: asyncio.Event | None = None  # made on the loop the task runs on
        for kind in (ProviderToggled, PauseChanged, ModelListRead):
            events.subscribe(kind, self._nudge, after=True)

    def _nudge(self, _event: object) -> None:
        if self._nudged is not None:
            self._nudged.set()

    def now(self) -> Answering:
        """The fact as last looked at (nothing answers, not yet settled, before the first)."""
        return self._last

    async def check(self) -> Answering:
        """Look now; publish `AnsweringChanged` when the fact changed."""
        fact = await self._read()
        if fact != self._last:
            before, self._last = self._last, fact
            if fact.none and not before.none:
                log.warning("no provider can answer a call: %s", _why_none(fact))
            self._events.publish(AnsweringChanged(fact))
        return fact

    async def run_forever(self) -> None:
        """The service task: look when something changed, else every `every_s`."""
        nudged = self._nudged = asyncio.Event()
        while True:
            nudged.clear()
            try:
                if self._before is not None:
                    await self._before()
                await self.check()
            except Exception:
                log.exception("could not tell what can answer")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(nudged.wait(), self._every_s)


def _why_none(fact: Answering) -> str:
    """Why nothing answers, for the log: the keys refused and the logins missing, where that
    is why (it said "no key" beside a key its provider had refused)."""
    said = [f"{provider} refused its key" for provider in fact.refused]
    said += [words for _provider, words in fact.to_set_up]
    return "; ".join(said) or "no key, local server or CLI"


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
