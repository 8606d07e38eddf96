"""The gateway's state, decided in one place: the header's gateway chip, the Overview's Gateway
card and the tray's tooltip all read `gateway_state`, so none says another state or colour than
the others. No Qt.

The first that holds: degraded (what `/health` says degraded), not running, every provider
paused (with what is known wrong with the providers: a pause hides no trouble, and the header's
providers chip and the tray's lines keep their verdicts), a global budget refusing every call,
no provider able to answer (`attention.no_provider`), every provider that can answer failing
("Not working", red), some provider failing ("Partly working", amber), a provider whose host
took no connection when its model list was read and no call has answered since ("Not
connected", amber), an API call waiting long for its answer to begin ("Working", neither green
nor red: a model thinking and an upstream hanging look alike), else working (green). Each state
has its level (the tone vocabulary's "error", "warning", "" or "ok"), its words for the card
(`headline`), fewer for the narrow chip (`chip`: "Refusing", "Running") and why, in a sentence
for a tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmgw_desktop.engine.api import (
    BudgetStatus,
    Degradation,
    Engine,
    degraded_sentence,
    refusing_every_call,
)
from llmgw_desktop.ui.attention import (
    NOT_CONNECTED,
    NoProvider,
    ProviderVerdict,
    all_failing,
    no_provider,
)
from llmgw_desktop.ui.budget_words import refusing_words
from llmgw_desktop.ui.counts import waiting_words

__all__ = ["KINDS", "GatewaySigns", "GatewayState", "gateway_signs", "gateway_state"]

# Each state, in the order the first that holds wins.
KINDS = (
    "degraded",
    "stopped",
    "paused",
    "refusing",
    "no_provider",
    "not_working",
    "partly_working",
    "unreached",
    "waiting",
    "working",
)


@dataclass(frozen=True)
class GatewaySigns:
    """What the state is decided from, read at one moment (`gateway_signs`)."""

    state: str  # the engine's state ("running", "stopped" ...)
    paused: bool = False
    degraded: tuple[Degradation, ...] = ()  # `engine.degradations`
    refusing: BudgetStatus | None = None  # the global budget refusing every call
    no_provider: NoProvider | None = None  # nothing can answer a call (`attention`)
    verdicts: Sequence[ProviderVerdict] = ()  # `attention.provider_verdicts`
    all_failing: bool = False  # every provider that can answer is failing (`attention`)
    waiting: str | None = None  # API calls waiting long for an answer (`counts.waiting_words`)


@dataclass(frozen=True)
class GatewayState:
    """The gateway's state in the window's words (one of `KINDS`)."""

    kind: str
    headline: str  # the card's words: "Not working", "Refusing calls"
    level: str  # its colour wherever it is said: "error", "warning", "" (neutral) or "ok"
    why: str  # the whole of it, for a tooltip
    chip: str = ""  # the header chip's fewer words, where they differ ("Refusing", "Running")
    failing: tuple[str, ...] = ()  # the failing providers' names, while some are

    @property
    def short(self) -> str:
        """The words the header's chip says."""
        return self.chip or self.headline


def gateway_signs(engine: Engine, verdicts: Sequence[ProviderVerdict]) -> GatewaySigns:
    """What `gateway_state` decides from, read from the engine now; `verdicts`: the caller's
    read of `attention.provider_verdicts`, the one its other words are drawn from."""
    return GatewaySigns(
        state=engine.state.value,
        paused=engine.providers.paused,
        degraded=engine.degradations,
        refusing=refusing_every_call(engine.budgets.statuses()),
        no_provider=no_provider(engine),
        verdicts=verdicts,
        all_failing=all_failing(engine, verdicts),
        waiting=waiting_words(engine),
    )


def gateway_state(signs: GatewaySigns) -> GatewayState:
    """The first state of `KINDS` that holds, with its words and level."""
    if degraded := signs.degraded:  # never green beside what /health says degraded
        level = "error" if any(d.serious for d in degraded) else "warning"
        return GatewayState("degraded", "Degraded", level, degraded_sentence(degraded))
    if (state := signs.state) != "running":
        return GatewayState("stopped", state.capitalize(), "error", f"The gateway is {state}.")
    if signs.paused:
        why = " ".join(
            filter(None, ("Every provider is paused: calls are refused.", _trouble(signs)))
        )
        failing = tuple(v.name for v in signs.verdicts if v.failing)
        return GatewayState("paused", "Paused", "warning", why, failing=failing)
    if (refusing := signs.refusing) is not None:  # nothing is served: never green
        why = refusing_words(refusing)
        return GatewayState("refusing", "Refusing calls", "error", why, chip="Refusing")
    if (nothing := signs.no_provider) is not None:  # green would say it answers: it cannot
        return GatewayState("no_provider", "No provider", nothing.tone, nothing.tip)
    return _serving(signs)


def _trouble(signs: GatewaySigns) -> str:
    """What is known wrong with the providers, in a sentence ("Calls to Anthropic fail; some
    calls to Backup fail."), "" for nothing: said beside the pause, which calls nothing."""
    failing = [v.name for v in signs.verdicts if v.failing]
    unreached = [v.name for v in signs.verdicts if v.status == NOT_CONNECTED]
    some = [v.name for v in signs.verdicts if not v.failing and v.status != NOT_CONNECTED]
    parts = [
        words
        for names, words in (
            (failing, f"calls to {', '.join(failing)} fail"),
            (some, f"some calls to {', '.join(some)} fail"),
            (unreached, f"{', '.join(unreached)} could not be connected to"),
        )
        if names
    ]
    sentence = "; ".join(parts)
    return f"{sentence[:1].upper()}{sentence[1:]}." if sentence else ""


def _serving(signs: GatewaySigns) -> GatewayState:
    """The states of a running gateway something can answer for: how well it serves."""
    failing = tuple(v.name for v in signs.verdicts if v.failing)
    names = ", ".join(failing)
    if failing and signs.all_failing:  # nothing gets through: red, never amber or grey
        why = (
            "The gateway is running, but every provider that can answer is failing: calls "
            f"to {names} fail."
        )
        return GatewayState("not_working", "Not working", "error", why, failing=failing)
    if failing:  # never green beside a provider whose every call fails: it serves, not all
        why = f"The gateway is running, but calls to {names} fail."
        return GatewayState("partly_working", "Partly working", "warning", why, failing=failing)
    if unreached := tuple(v.name for v in signs.verdicts if v.status == NOT_CONNECTED):
        # Never green beside a provider its host took no connection for: no call proves it.
        names = ", ".join(unreached)
        why = f"The gateway is running, but {names} could not be connected to."
        return GatewayState("unreached", "Not connected", "warning", why)
    if waiting := signs.waiting:  # not green: a model thinking and a hung upstream look alike
        why = (
            f"The gateway is running; {waiting} with no answer yet (a model thinking takes "
            "this long, and so does an upstream that hangs)."
        )
        return GatewayState("waiting", "Working", "", why, chip="Running")
    why = "The gateway is running and serving calls."
    return GatewayState("working", "Working", "ok", why, chip="Running")
