"""The strip above every page: what matters at a glance, each item a button to its place.

Five chips, left to right: the gateway's state (`gateway_state`, the one the Overview's Gateway
card and the tray say: "Running", "Partly working", "Not working", "Paused", "Degraded" ...),
what today has cost against the day's dollar budget and the budgets past their limits (by name
when one, `spend_chip`), the providers failing or where some calls fail now (the one verdict
the pages and the tray show, in their words: `providers_words`; "No provider can answer" in
amber, opening Provider keys, when nothing can: `attention.no_provider`), the jobs running and
stuck, and the questions (approvals, consents) waiting at the desk. Each is coloured by the one
tone vocabulary (`theme.py`) and opens its place when pressed (Enter or Space with the focus on
it, too): Overview, Budgets, Providers (the first failing one, else the first where some calls
fail, selected; Provider keys when nothing can answer), Jobs (the active ones), the waiting
question's dialog. A narrow window makes them say less, never silently: short words end in "…"
where they leave something out, and each chip's tooltip and accessible name hold all of its
words (`level`).

Figures are the engine's (`attention.py`), the same the pages and the tray show. They are
redrawn when the bridge says something changed and on a slow tick while the window is shown.
Today's spend is read once (one summing query off the loop: the requests started today that
finished before the read) and then kept up by adding each request's cost as it finishes
(`RequestFinished`, the event Overview's live figures count), so the chip is never behind the
Overview's "last 15 min" cost: read every few seconds, it had shown $0.0673 for today beside
$0.0682 for the last 15 minutes. It is read again at midnight, at most every
`SPEND_REREAD_MS` after requests finished (another gateway sharing the store writes rows
this one hears nothing of). Hidden, the header reads nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date

from llmgw_desktop.engine.api import (
    AttemptFailedOver,
    RequestFinished,
    format_usd,
)
from llmgw_desktop.ui.attention import (
    FAILING,
    SOME_CALLS_FAIL,
    ProviderVerdict,
    SpendToday,
    no_provider,
    provider_verdicts,
    spend_today,
)
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.budget_words import budgets_to_tell, spend_chip
from llmgw_desktop.ui.counts import job_counts, jobs_words, provider_counts
from llmgw_desktop.ui.decision_dialog import QuestionDesk
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.gateway_state import GatewaySigns, gateway_signs, gateway_state
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.qt import (
    QHBoxLayout,
    QResizeEvent,
    QSize,
    Qt,
    QTimer,
    QToolButton,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone, themed

__all__ = ["CHIPS", "StatusHeader"]

TICK_MS = 2000
SPEND_REREAD_MS = 60_000
# A flood of finished requests redraws the spend chip (and, after failures, every chip) at
# most this often.
SPEND_DRAW_MS = 200
CHIPS = ("gateway", "spend", "providers", "jobs", "questions")
# Short of room, the chips give up their words one at a time in this order (the spend, which
# says the most, last), so the room there is goes to the chip that needs it: all of them
# shortened at once cut the spend to "2 budgets exceeded …" with 90 px left free.
GIVE_WAY = ("jobs", "gateway", "questions", "providers", "spend")
_GLYPHS = {
    "gateway": "gateway",
    "spend": "spend",
    "providers": "providers",
    "jobs": "jobs",
    "questions": "approval",
}


class StatusHeader(QWidget):
    """The chips; `opened(place, detail)` asks the window to show a place ("providers",
    "budgets" ...), `detail` naming what to select there ("" for nothing)."""

    def __init__(
        self,
        bridge: EngineBridge,
        open_place: Callable[[str, str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("statusHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        themed(self, "header")  # its chips' look, scoped to the header
        self._engine = bridge.engine
        self._open_place = open_place
        self._questions: list[QuestionDesk] = []
        self._tasks = UiTasks(on_error=lambda _message: None)  # a failed read keeps the last
        self.spend: SpendToday | None = None
        # Requests finished while a read of today's spend is under way: the read leaves out
        # those finishing after its start, so they are added when it lands.
        self._while_reading: list[RequestFinished | AttemptFailedOver] | None = None
        self._spend_stale = True
        self._spend_read_at = 0.0
        self._spend_day: date | None = None
        self._reading = False
        self._spend_watchers: list[Callable[[], None]] = []  # the tray's spend line
        self.chips: dict[str, QToolButton] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(SPACE["m"], SPACE["s"], SPACE["m"], SPACE["s"])
        row.setSpacing(SPACE["s"])
        for name in CHIPS:
            chip = QToolButton()
            chip.setObjectName(f"chip:{name}")
            chip.setProperty("chip", True)
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            chip.setIconSize(QSize(16, 16))
            chip.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _checked=False, n=name: self.press(n))
            self.chips[name] = chip
            row.addWidget(chip)
        row.addStretch(1)
        self._texts: dict[str, tuple[str, str]] = {}  # chip -> its words, full and short
        self._tones: dict[str, str] = {}  # chip -> its tone ("": nothing to report)
        # How much the chips give up for room: 0 all their words, 1 their short words (the
        # window is narrow), 2 also no words on the chips with nothing to report (their icon
        # alone: "No approvals" beside a red spend chip), so the chips that report something
        # keep their words whole rather than being cut by Qt mid-word.
        self.level = 0  # the most any chip gives up now
        self.levels: dict[str, int] = dict.fromkeys(CHIPS, 0)  # each chip's
        # The window may be narrower than the chips' full words: they then say less (the
        # tooltips say all), never push the window wider.
        self.setMinimumWidth(1)

        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.redraw)
        self._spend_timer = QTimer(self)
        self._spend_timer.setSingleShot(True)
        self._spend_timer.setInterval(SPEND_DRAW_MS)
        self._spend_timer.timeout.connect(self._draw_spend)
        self._verdict_timer = QTimer(self)
        self._verdict_timer.setSingleShot(True)
        self._verdict_timer.setInterval(SPEND_DRAW_MS)
        self._verdict_timer.timeout.connect(self.redraw)
        for signal in (
            bridge.pauseChanged,
            bridge.engineStateChanged,
            bridge.storeHealthChanged,
            bridge.breakerChanged,
            bridge.restsChanged,
            bridge.providerToggled,
            bridge.jobStateChanged,
            bridge.jobStuckChanged,
            bridge.answeringChanged,
        ):
            signal.connect(lambda *_args: self._changed())
        bridge.requestFinished.connect(self._on_request)
        bridge.attemptFailedOver.connect(self._on_failed_over)
        self.redraw()

    def watch_questions(self, desks: Sequence[QuestionDesk]) -> None:
        """Count the questions open at these desks (approvals, consents) in the header."""
        self._questions = list(desks)
        for desk in desks:
            desk.changed.connect(self._changed)
        self.redraw()

    # -- showing --------------------------------------------------------------------------

    def start(self) -> None:
        """The window is shown: keep the figures fresh."""
        self._tick.start()
        self.redraw()

    def stop(self) -> None:
        """The window is hidden: read nothing."""
        self._tick.stop()
        self._spend_timer.stop()
        self._verdict_timer.stop()
        self._tasks.cancel_all()
        self._reading = False
        self._while_reading = None

    def _on_request(self, event: object) -> None:
        # Cheap, whatever the flood: a few additions; the chip is redrawn on a short timer.
        if not isinstance(event, RequestFinished):
            return
        self._spend_stale = True
        if self._while_reading is not None:
            self._while_reading.append(event)
        if self.spend is not None and self.spend.counts(event):
            self.spend = self.spend.plus(event)
            if self._tick.isActive() and not self._spend_timer.isActive():
                self._spend_timer.start()
        # A call that failed may make a provider failing, and one that did not may end it:
        # the chips say so as soon as the Overview's figures do, not at the next tick.
        news = event.state != "completed" or self._tones.get("providers") in ("error", "warning")
        if news and self._tick.isActive() and not self._verdict_timer.isActive():
            self._verdict_timer.start()

    def _on_failed_over(self, event: object) -> None:
        # An attempt the spend counted as a request failed over: no longer one (its cost stays).
        if not isinstance(event, AttemptFailedOver):
            return
        if self._while_reading is not None:
            self._while_reading.append(event)
        if self.spend is not None and self.spend.counts(event):
            self.spend = self.spend.plus(event)

    def _changed(self) -> None:
        # Hidden (a tray-only run, the window closed), the header draws nothing; it catches up
        # when shown.
        if self._tick.isActive():
            self.redraw()

    def redraw(self) -> None:
        """Every chip from the engine's state now (today's spend as last read)."""
        engine = self._engine
        verdicts = provider_verdicts(engine)
        signs = gateway_signs(engine, verdicts)  # one read, for the gateway and providers chips
        nothing = signs.no_provider
        self._draw_gateway(signs)
        self._draw_spend()
        if nothing is not None:
            lines = [f"{v.name} ({v.said}): {v.why}" for v in verdicts]
            tip = "\n".join([nothing.tip, *lines])
            self._set(
                "providers",
                nothing.words,
                nothing.tone,
                tip,
                short="No provider",
                target=nothing.place_name,
            )
        elif verdicts:
            words, short = providers_words(verdicts)
            tip = "\n".join(f"{v.name} ({v.said}): {v.why}" for v in verdicts)
            tone = "error" if any(v.failing for v in verdicts) else "warning"
            self._set("providers", words, tone, tip, access=f"Providers: {words}", short=short)
        else:
            self._set("providers", "Providers OK", "", "No provider is failing.", short="OK")
        words, short, tone = jobs_words(job_counts(engine))
        tip = "Jobs running now; a stuck one printed nothing too long."
        self._set("jobs", words, tone, tip, access=f"Jobs: {words}", short=short)
        waiting = sum(desk.waiting() for desk in self._questions)
        if waiting:
            words = f"{waiting} waiting"
            self._set(
                "questions",
                words,
                "warning",
                "A question waits for your answer.",
                access=f"Approvals: {words}",
            )
        else:
            # One wording at every width: a narrow window said "None waiting" for the same
            # state a wide one called "No approvals".
            self._set("questions", "No approvals", "", "No approval or consent waits for you.")
        if self._spend_day != date.today():  # midnight: today starts from nothing
            self._spend_stale = True
        if self._tick.isActive() and self._spend_stale:
            self._read_spend()

    def _draw_gateway(self, signs: GatewaySigns) -> None:
        """The gateway chip: the one state the Overview's card and the tray say too
        (`gateway_state`), in its fewer words and the same colour."""
        state = gateway_state(signs)
        self._set("gateway", state.short, state.level, state.why)

    def _draw_spend(self) -> None:
        spend = self.spend
        budgets = self._engine.budgets
        today = "…" if spend is None else format_usd(spend.usd)
        chip = spend_chip(today, budgets.statuses() + budgets.key_statuses())
        tip = "What the requests started today cost (reported or estimated).\n"
        tip += "\n".join(chip.budget_lines)
        if spend is not None and spend.unpriced:
            tip += f"\n{spend.unpriced} request(s) could not be priced."
        words = chip.words
        self._set("spend", words, chip.tone, tip, access=f"Spend: {words}", short=chip.short)

    def watch_spend(self, changed: Callable[[], None]) -> None:
        """Call `changed` each time today's spend is read anew (the tray shows the figure)."""
        self._spend_watchers.append(changed)

    def read_spend_soon(self) -> None:
        """Read today's spend off the loop unless a fresh enough read is kept or under way
        (the tray's menu opened while the window never was)."""
        self._read_spend()

    def _read_spend(self) -> None:
        now = time.monotonic()
        new_day = self._spend_day != date.today()
        due = now - self._spend_read_at >= SPEND_REREAD_MS / 1000
        if self._reading or not (self.spend is None or new_day or due):
            return
        self._reading = True
        self._spend_read_at = now
        if not self._tasks.spawn(self.refresh_spend(), what="read today's spend"):
            self._reading = False

    async def refresh_spend(self) -> SpendToday:
        """Read today's spend now, add what finished meanwhile, and redraw (the tick does it
        while shown)."""
        self._while_reading = []
        self._spend_stale = False
        self._spend_day = date.today()
        try:
            spend = await spend_today(self._engine)
            for event in self._while_reading or ():
                if spend.counts(event):
                    spend = spend.plus(event)
        finally:
            self._reading = False
            self._while_reading = None
        self.spend = spend
        self._draw_spend()
        for changed in self._spend_watchers:
            changed()
        return spend

    def _set(
        self,
        name: str,
        words: str,
        tone: str,
        tip: str,
        *,
        access: str = "",
        short: str = "",
        target: str = "",
    ) -> None:
        chip = self.chips[name]
        self._texts[name] = (words, _shortened(words, short or words))
        self._tones[name] = tone
        shown = self._shown(name, self.levels[name])
        if chip.text() != shown:
            _say(chip, shown)
            self._fit()
        # The whole of its words lead the tooltip (and are what a screen reader hears),
        # however little the chip says on a narrow window: nothing is lost there.
        tip = f"{words}\n{tip}"
        status = {"error": "error", "warning": "warning", "ok": "ok"}.get(tone, "")
        icon_key = (_GLYPHS[name], status)
        if chip.property("iconKey") != "/".join(icon_key):
            chip.setProperty("iconKey", "/".join(icon_key))
            chip.setIcon(glyph(_GLYPHS[name], status))
        set_tone(chip, tone)
        target = target or _TARGETS[name]
        full_tip = f"{tip}\nPress to open {target}."
        if chip.toolTip() != full_tip:
            chip.setToolTip(full_tip)
            chip.setAccessibleName(access or words)
            chip.setAccessibleDescription(f"{tip} Opens {target}.")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _shown(self, name: str, level: int) -> str:
        """What chip `name` says at `level` (see `level`)."""
        if level >= 2 and not self._tones.get(name):
            return ""
        return self._texts[name][1 if level else 0]

    def _fit(self) -> None:
        """Say it all when there is room; less, a chip and a level at a time (`GIVE_WAY`),
        when the window is narrow."""
        if len(self._texts) < len(CHIPS) or self.width() <= 1:
            return
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else None
        room = self.width() - (margins.left() + margins.right() if margins else 0)
        room -= sum(w.sizeHint().width() for w in self._trailing_widgets())
        spacing = (len(CHIPS) + len(self._trailing_widgets())) * SPACE["s"]

        def need(levels: dict[str, int]) -> int:
            total = spacing
            for name, chip in self.chips.items():
                metrics = chip.fontMetrics()
                # Its width with its icon alone, then what its words add beside it.
                gap = _text_gap(chip)
                icon_only = chip.sizeHint().width()
                if chip.text():
                    icon_only -= metrics.horizontalAdvance(chip.text()) + gap
                shown = self._shown(name, levels[name])
                total += icon_only + (gap + metrics.horizontalAdvance(shown) if shown else 0)
            return total

        levels = dict.fromkeys(CHIPS, 0)
        steps = [(name, level) for level in (1, 2) for name in GIVE_WAY]
        for name, level in steps:
            if need(levels) <= room:
                break
            levels[name] = level
        if levels != self.levels:
            self.levels = levels
            self.level = max(levels.values())
            for name, chip in self.chips.items():
                _say(chip, self._shown(name, levels[name]))

    def _trailing_widgets(self) -> list[QWidget]:
        layout = self.layout()
        if layout is None:
            return []
        found = []
        for index in range(layout.count()):
            item = layout.itemAt(index)
            widget = item.widget() if item is not None else None
            if widget is not None and widget not in self.chips.values():
                found.append(widget)
        return found

    # -- pressing -------------------------------------------------------------------------

    def press(self, name: str) -> None:
        """Open the place of chip `name` (what a click or Enter on it does)."""
        if name == "gateway":
            self._open_place("overview", "")
        elif name == "spend":  # the budget its words are most about, as the tray's first line
            told = budgets_to_tell(self._engine.budgets.statuses())
            self._open_place("budgets", told[0].budget.key if told else "")
        elif name == "providers" and (nothing := no_provider(self._engine)) is not None:
            self._open_place(nothing.place, nothing.focus)
        elif name == "providers":
            verdicts = provider_verdicts(self._engine)
            self._open_place("providers", verdicts[0].provider if verdicts else "")
        elif name == "jobs":
            stuck = bool(job_counts(self._engine).stuck)
            self._open_place("jobs", "stuck" if stuck else "active")
        elif name == "questions" and not any(desk.bring_forward() for desk in self._questions):
            self._open_place("notifications", "")


def _say(chip: QToolButton, text: str) -> None:
    """Show `text` on `chip`, or its icon alone (no empty room beside it) for none."""
    style = Qt.ToolButtonStyle
    chip.setToolButtonStyle(style.ToolButtonTextBesideIcon if text else style.ToolButtonIconOnly)
    chip.setText(text)


def _text_gap(chip: QToolButton) -> int:
    """What QToolButton puts between its icon and its words besides them (4 px and a space
    each side of the words)."""
    return 4 + 2 * chip.fontMetrics().horizontalAdvance(" ")


def _shortened(words: str, short: str) -> str:
    """The short words as a narrow window shows them: ending in "…" when they leave out the
    end of the whole words ("$0.0682 today · 2 budgets exceeded …"), so the chip never drops
    a part without a sign (review 41-3: "· 1 past soft limit" went silently at 1024 px)."""
    return f"{short} …" if short != words and words.startswith(short) else short


def providers_words(verdicts: Sequence[ProviderVerdict]) -> tuple[str, str]:
    """The providers chip's words and its short words (`Anthropic failing`): `Anthropic failing
    · OpenAI: some calls fail`, `2 failing`, `Some calls fail on 2 providers`. The state where
    only some calls fail has the words the Providers page's status gives it (the chip said
    "needs a look"). One failing is named: "1 failing · OpenAI: some calls fail" read as if
    OpenAI were the one failing."""
    failing = provider_counts(verdicts).failing
    some = [v for v in verdicts if not v.failing]
    down = [v for v in verdicts if v.failing]
    named = f"{failing} failing"
    if len(down) == 1:  # named, in its own words ("Anthropic: key refused")
        one = down[0]
        named = f"{one.name} failing" if one.said == FAILING else f"{one.name}: {one.said}"
    parts = [named] if failing else []
    if len(some) == 1:
        parts.append(f"{some[0].name}: {some[0].said}")
    elif some:
        parts.append(f"{SOME_CALLS_FAIL} on {len(some)} providers")
    words = " · ".join(parts)
    # The failing first, named when one: at 1024 px the whole line did not fit, and "1
    # failing" left which one to the tooltip.
    # One that could not be connected to has its own words ("OpenAI: could not connect").
    alone = len(some) == 1 and some[0].said != SOME_CALLS_FAIL
    short = parts[0] if failing or alone else SOME_CALLS_FAIL
    return words[:1].upper() + words[1:], short[:1].upper() + short[1:]


_TARGETS = {
    "gateway": "Overview",
    "spend": "Budgets",
    "providers": "Providers",
    "jobs": "Jobs",
    "questions": "the waiting question (or the notification history)",
}
