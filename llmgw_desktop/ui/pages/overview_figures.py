"""The Overview's first line: four large figures that answer what a person opens it for.

- **Gateway**: is it working? ("Working", "Partly working" in amber while a provider fails,
  "Not working" in red while every provider that can answer fails, "Paused", "Degraded";
  "No provider" can answer, in amber, opening Provider keys, when no key, local server or
  coding CLI can, in red when a key was refused), with how long it has run and how many
  requests clients sent in the health window (`Totals.client_requests`);
- **Spent today**: what the requests started since midnight cost (the header's figure), and
  the budget it is spent against;
- **Failing**: how many providers fail or need a look now (the window's one verdict,
  `attention.provider_verdicts`), else how many requests failed in the window, their client
  getting no answer (never "None" over "3 of 42 failed"; a call that failed over to another
  target is said apart, as the providers' figure), with where they failed (each provider's
  own count, as its Providers row says it: a provider with a verdict is seldom the only one
  whose calls failed, and a failed-over call fails at a provider that still counts as ready),
  and the calls
  refused before any provider was asked in the same window (one window for the card);
- **Stuck**: jobs with no output past their limit, and the jobs running (`counts.job_counts`,
  the header's and the Jobs page's figures).

Each is a `StatCard` that opens the place explaining it (Providers, Budgets, the failed
requests in the Flight recorder, Jobs). The words come from `figure_words` (no Qt: tested
alone); every figure reads what the header and the rest of the page read, so none disagrees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.api import (
    BudgetStatus,
    Degradation,
    Totals,
    format_usd,
)
from llmgw_desktop.ui.attention import NoProvider, ProviderVerdict, SpendToday
from llmgw_desktop.ui.budget_words import SpendChip
from llmgw_desktop.ui.counts import JobCounts, running_words
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.gateway_state import GatewaySigns, GatewayState, gateway_state
from llmgw_desktop.ui.header import providers_words
from llmgw_desktop.ui.kit.stat_card import StatCard
from llmgw_desktop.ui.pages.overview_totals import failed_over_words
from llmgw_desktop.ui.qt import QHBoxLayout, QWidget

__all__ = [
    "FIGURES",
    "REFUSED_MEANS",
    "Figure",
    "FigureStrip",
    "GatewayFacts",
    "failed_where",
    "failovers_by_provider",
    "failures_by_provider",
    "figure_words",
]

# The cards, left to right, each with its caption and the place it opens.
FIGURES = (
    ("gateway", "Gateway", "providers"),
    ("spend", "Spent today", "budgets"),
    ("failing", "Failing", "recorder"),
    ("stuck", "Stuck", "jobs"),
)


@dataclass(frozen=True)
class Figure:
    """One card's words: the figure, the line under it, its tone and its tooltip."""

    value: str
    detail: str
    tone: str = ""
    tip: str = ""
    # Shorter ways to say `detail`, longest first: the card shows the first that fits its
    # lines at its width (the tooltip and the accessible name keep the whole).
    shorter: tuple[str, ...] = ()
    place: str = ""  # the place a press opens, when not the card's own (`FIGURES`)
    focus: str = ""  # what it selects there (a provider's switch id), when the figure names one


@dataclass(frozen=True)
class GatewayFacts:
    """What the four figures are read from, at one moment."""

    state: str  # the engine's state ("running", "stopped" ...)
    paused: bool
    degraded: tuple[Degradation, ...]  # `engine.degradations`
    uptime: str  # "2h 05m"
    window_minutes: int
    totals: Totals  # the health window's live figures
    verdicts: Sequence[ProviderVerdict]
    spend: SpendToday | None
    spend_chip: SpendChip
    refused: dict[str, Any]  # `engine.refusals.health()`
    # Each provider whose calls failed in the window: (its name, failed, asked), most first.
    failed_at: Sequence[tuple[str, int, int]] = ()
    # Each provider whose failed calls failed over to another target: (its name, how many).
    failed_over_at: Sequence[tuple[str, int]] = ()
    jobs: JobCounts = field(default_factory=JobCounts)  # now (`counts.job_counts`)
    no_provider: NoProvider | None = None  # nothing can answer a call (`attention`)
    # The global budget refusing every call (`budgets.refusals.refusing_every_call`), or None.
    refusing: BudgetStatus | None = None
    # API calls waiting long for their answer to begin (`counts.waiting_words`), or None.
    waiting: str | None = None
    all_failing: bool = False  # every provider that can answer is failing (`attention`)

    @property
    def signs(self) -> GatewaySigns:
        """What the gateway's state is decided from (`gateway_state`), as these facts say."""
        return GatewaySigns(
            state=self.state,
            paused=self.paused,
            degraded=self.degraded,
            refusing=self.refusing,
            no_provider=self.no_provider,
            verdicts=self.verdicts,
            all_failing=self.all_failing,
            waiting=self.waiting,
        )


def figure_words(facts: GatewayFacts) -> dict[str, Figure]:
    """Each card's words, by its name in `FIGURES`."""
    return {
        "gateway": _gateway(facts),
        "spend": _spend(facts),
        "failing": _failing(facts),
        "stuck": _stuck(facts),
    }


def _calls(totals: Totals, minutes: int) -> str:
    """`8 requests in the last 15 min`: what clients sent (an attempt that failed over to
    another target is not one: `Totals.client_requests`)."""
    requests = totals.client_requests
    if not requests:
        return f"no requests in the last {minutes} min"
    noun = "request" if requests == 1 else "requests"
    return f"{requests:,} {noun} in the last {minutes} min"


def _gateway(facts: GatewayFacts) -> Figure:
    """The Gateway card: the one state the header's chip and the tray say too
    (`gateway_state`), in its own words and the same colour."""
    state = gateway_state(facts.signs)
    served = _calls(facts.totals, facts.window_minutes)
    value, tone, why = state.headline, state.level, state.why
    if state.kind == "degraded":
        return Figure(value, f"{facts.degraded[0].headline}; {served}", tone, why)
    if state.kind == "stopped":
        return Figure(value, "The gateway is not serving calls.", tone, why)
    if state.kind == "paused":
        return Figure(value, why, tone, "Switch Pause all providers off to serve calls again.")
    if state.kind == "refusing" and (refusing := facts.refusing) is not None:
        detail = f"The {refusing.budget.name} budget refuses calls; {served}"
        shorter = (f"The {refusing.budget.name} budget refuses calls",)
        return Figure(value, detail, tone, why, shorter, place="budgets")
    if state.kind == "no_provider" and (nothing := facts.no_provider) is not None:
        # The first thing a person with no key sees, the header's words with what to do.
        return Figure(
            value,
            f"can answer: {nothing.fix}",
            tone,
            f"{why}\nClick for {nothing.place_name}.",
            (f"can answer: {nothing.brief}",),
            place=nothing.place,
            focus=nothing.focus,
        )
    return _serving(facts, state, served)


def _serving(facts: GatewayFacts, state: GatewayState, served: str) -> Figure:
    """The card of a running gateway something can answer for: how well it serves."""
    tip = f"{state.why} Click for the providers."
    names = ", ".join(state.failing)
    if state.kind == "not_working":
        detail = f"{names} failing; {served}"
        return Figure(state.headline, detail, state.level, tip, (f"{names} failing",))
    if state.kind == "partly_working":
        many = len(state.failing) > 1
        count = f"{len(state.failing)} providers" if many else names
        # Two long names leave no room for the calls at 1024 px: the names first.
        shorter = (f"{names} failing", f"{count} failing; {served}", f"{count} failing")
        return Figure(state.headline, f"{names} failing; {served}", state.level, tip, shorter)
    if state.kind == "waiting":
        detail = f"{facts.waiting}; {served}"
        return Figure(state.headline, detail, state.level, tip, (str(facts.waiting),))
    return Figure(state.headline, f"Running for {facts.uptime}; {served}", state.level, tip)


def _spend(facts: GatewayFacts) -> Figure:
    if facts.spend is None:
        return Figure("…", "Reading today's spend", "", "")
    amount = format_usd(facts.spend.usd)
    words = facts.spend_chip.words
    # The chip's words start with the amount shown large here; the rest is the detail.
    detail = words.removeprefix(amount).strip(" ·") or "today"
    if detail == "today":
        count = facts.spend.requests
        detail = f"{count:,} request{'s' if count != 1 else ''} since midnight; no budget set"
    tip = "What the requests started today cost (reported or estimated).\n"
    tip += "\n".join(facts.spend_chip.budget_lines) + "\nClick for the budgets."
    # Toned by the budget it is said against (1 % of the day's budget is not alarming,
    # whatever an agent's own budget says: the detail counts those).
    return Figure(amount, detail, facts.spend_chip.spend_tone, tip)


# What "refused" means, the one wording of it (the Overview's Refused line says it too).
REFUSED_MEANS = (
    "calls the gateway said no to before asking any provider: no key for the model, a "
    "budget reached, a provider switched off, a denied approval, a bad request."
)


def _failing(facts: GatewayFacts) -> Figure:
    totals, minutes = facts.totals, facts.window_minutes
    failed, sent = totals.client_failed, totals.client_sent
    over = dict(facts.failed_over_at)
    lines = [f"{v.name} ({v.said}): {v.why}" for v in facts.verdicts]
    lines += [
        _calls_line(name, errors, asked, over.get(name, 0))
        for name, errors, asked in facts.failed_at
    ]
    # What "refused" means only beside a count of them (it was said over no refusal at all).
    lines += [f"Refused: {REFUSED_MEANS}"] if totals.refused else []
    tip = "\n".join([*lines, "Click for the failed requests."])
    if not totals.asked and facts.verdicts:
        # Failing with no calls (a key refused as its list was read): which, as the header
        # names them (it read only "No calls to providers in 15 min" under "1 failing").
        named, _short = providers_words(facts.verdicts)
        said: tuple[str, ...] = (f"{named}; no calls in {minutes} min", named)
    elif not totals.asked:
        said = (f"No calls to providers in {minutes} min",)
    elif not failed:
        none = f"None of {sent:,} request{'s' if sent != 1 else ''} failed in {minutes} min"
        said = (*_with_failed_over(none, facts), none)
    else:
        said = _failed_words(facts)
    # The window's refusals, as the totals line under the charts counts them: one window for
    # every figure on the card (the Overview's Refused line keeps the count since start).
    refused = totals.refused
    if refused:
        # The refusals after the failures, then the failures alone where both do not fit.
        also = f"{refused:,} refused"
        said = (*[f"{words}; {also}" for words in said], *said)
    if not facts.verdicts and failed:
        # No provider is failing, yet requests failed: the figure says how many, never "None".
        count = f"{failed:,} request{'s' if failed != 1 else ''}"
        return Figure(count, said[0], "warning", tip, said[1:])
    if not facts.verdicts:
        # Calls that failed over are no failure of a request, nor all well: not green.
        tone = "ok" if sent and not refused and not totals.failed_over else ""
        return Figure("None", said[0], tone, tip, said[1:])
    failing = [v for v in facts.verdicts if v.failing]
    # The header's words for the same verdicts ("Some calls fail"), so the chip and the figure
    # never say two things of one moment; the failing counted, as a figure ("1 failing": the
    # header names the one, and the line under the figure says where calls failed).
    _words, short = providers_words(facts.verdicts)
    value = f"{len(failing)} failing" if failing else short
    return Figure(value, said[0], "error" if failing else "warning", tip, said[1:])


def _calls_line(name: str, errors: int, asked: int, failed_over: int) -> str:
    """The tooltip's line of one provider: `backup: 3 of 3 calls failed, 3 failed over`."""
    line = f"{name}: {errors:,} of {asked:,} calls failed"
    return line + (f", {failed_over:,} failed over" if failed_over else "")


def _with_failed_over(words: str, facts: GatewayFacts) -> tuple[str, ...]:
    """`words` with the provider calls that failed over after them, longest first (where
    they failed, then without), or nothing where none did: they are the providers' figure,
    never the requests' (`overview_totals.failed_over_words`)."""
    count = facts.totals.failed_over
    if not count:
        return ()
    over = failed_over_words(count)
    where = ", ".join(f"{name} {n:,}" for name, n in facts.failed_over_at[:2])
    return (f"{words}; {over}: {where}", f"{words}; {over}") if where else (f"{words}; {over}",)


def _failed_words(facts: GatewayFacts) -> tuple[str, ...]:
    """The failed requests and where they failed, longest first, down to what fits a card of
    a 1024 px window with long names: "7 of 303 failed (2%) in 15 min: Mistral Vibe 1, OpenAI
    4 and 1 more" ... "7 failed in 15 min: Mistral Vibe 1 and 2 more". A request failed where
    its client got no answer: a call that failed over to another target is not one."""
    totals = facts.totals
    failed, sent = totals.client_failed, totals.client_sent
    over = dict(facts.failed_over_at)
    unanswered = [
        (name, errors - over.get(name, 0), asked)
        for name, errors, asked in facts.failed_at
        if errors > over.get(name, 0)
    ]
    share = f"{failed:,} of {sent:,} failed ({failed / sent:.0%})"
    two = failed_where(unanswered, facts.verdicts)
    one = failed_where(unanswered, facts.verdicts, shown=1)
    window = f"in {facts.window_minutes} min"  # named in every form: the card's one window
    counted = f"{failed:,} of {sent:,} failed {window}"
    errors = f"{failed:,} failed {window}"
    # The two places named as long as any form fits them ("OpenAI 20 and 1 more" left out the
    # agent failing through it, a review): the counts shorten first.
    said = [f"{share} {window}", counted, errors, counted, errors]
    wheres = [two, two, two, one, one]
    forms = tuple(
        f"{words}: {where}" if where else words for words, where in zip(said, wheres, strict=True)
    )
    return (*_with_failed_over(forms[0], facts)[-1:], *forms)


def failures_by_provider(
    by_provider: Mapping[str, Totals], names: Mapping[str, str]
) -> tuple[tuple[str, int, int], ...]:
    """Each provider whose calls failed in the live figures' window, as (its name, failed,
    asked), the most failures first: the counts the Overview's health table and the Providers
    page show on its row."""
    found = [
        (names.get(provider, provider), totals.errors, totals.asked)
        for provider, totals in by_provider.items()
        if totals.errors
    ]
    return tuple(sorted(found, key=lambda f: (-f[1], f[0])))


def failovers_by_provider(
    by_provider: Mapping[str, Totals], names: Mapping[str, str]
) -> tuple[tuple[str, int], ...]:
    """Each provider whose calls failed over to another target in the live figures' window, as
    (its name, how many), the most first."""
    found = [
        (names.get(provider, provider), totals.failed_over)
        for provider, totals in by_provider.items()
        if totals.failed_over
    ]
    return tuple(sorted(found, key=lambda f: (-f[1], f[0])))


def failed_where(
    failed_at: Sequence[tuple[str, int, int]],
    verdicts: Sequence[ProviderVerdict] = (),
    shown: int = 2,
) -> str:
    """`Mistral Vibe 1, Anthropic 3 and 1 more`: where the window's calls failed, the providers the
    header calls failing first (then those whose calls fail some, then the most failures), each
    with its own count; the tooltip lists every one. A provider with a verdict is never the one
    left out: the card must lead to what the header says is wrong."""
    counts = {name: errors for name, errors, _asked in failed_at}
    rank = {verdict.name: 0 if verdict.failing else 1 for verdict in verdicts}
    said = {verdict.name: verdict.said for verdict in verdicts}
    names = sorted(
        {*counts, *rank}, key=lambda name: (rank.get(name, 2), -counts.get(name, 0), name)
    )
    # One with a verdict and no failed call of its own (an agent whose calls fail at its
    # vendor's provider) says its state, not a bare name beside the others' counts.
    named = [
        f"{name} {counts[name]:,}" if name in counts else f"{name} ({said[name]})"
        for name in names[:shown]
    ]
    rest = len(names) - shown
    return ", ".join(named) + (f" and {rest} more" if rest > 0 else "")


def _stuck(facts: GatewayFacts) -> Figure:
    running = running_words(facts.jobs)
    tip = "A job is stuck when its tool prints nothing for longer than its limit."
    if not facts.jobs.stuck:
        return Figure("None", f"No job stuck; {running}", "", tip)
    count = len(facts.jobs.stuck)
    return Figure(
        f"{count} job{'s' if count != 1 else ''}",
        f"No output past the limit; {running}",
        "warning",
        tip + "\nClick for the jobs.",
    )


class FigureStrip(QWidget):
    """The four cards in a row; `open_place(place, focus)` when one is pressed (`focus`: what
    its figure names there, else "")."""

    def __init__(
        self, open_place: Callable[[str, str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("overviewFigures")
        self.cards: dict[str, StatCard] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(SPACE["s"])
        # Where each card leads now: its own place, or the one its figure names.
        self.places = {name: place for name, _caption, place in FIGURES}
        self.focuses = dict.fromkeys(self.places, "")
        for name, caption, _place in FIGURES:
            card = StatCard(name, caption)
            card.clicked.connect(lambda n=name: open_place(self.places[n], self.focuses[n]))
            self.cards[name] = card
            row.addWidget(card, 1)

    def show_facts(self, facts: GatewayFacts) -> None:
        own = {name: place for name, _caption, place in FIGURES}
        for name, figure in figure_words(facts).items():
            self.places[name] = figure.place or own[name]
            self.focuses[name] = figure.focus
            self.cards[name].show_figure(
                figure.value, figure.detail, figure.tone, figure.tip, shorter=figure.shorter
            )
