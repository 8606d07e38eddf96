"""The Flight recorder detail's actions: Replay on…, Copy as curl, and turning capture on.

"Replay on…" lists the models the gateway serves (the recorded one first); choosing one opens
the Playground with the request's messages sent to that model, its answer beside the recorded
one (`replayRequested(model)`; the page does the opening). A job's request can always be
replayed (its prompt is kept); a gateway request only when body capture kept it. Where it did
not, the button is disabled and both its tooltip and a line under it say why and the way out:
"Body not captured, so it cannot be replayed. Turn on capture for OpenAI (Settings › Flight
recorder › Capture providers)". The first link adds the provider to
`recorder.capture.providers` (saved to config.toml, live at once: `captureRequested(provider)`),
so its next requests can be replayed; the second opens that setting on the Settings page. The
line once said only "Body not captured · Turn on capture for OpenAI": nothing said what was
missing for a replay, nor where the setting lives (review 41-3). "Copy as curl" copies a
command that sends the kept request again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from html import escape
from typing import Any

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, PlaygroundReply, RecordDetail
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.navigator import navigator_of
from llmgw_desktop.ui.pages.replay import NOT_CAPTURED, ReplayPlan, replay_plan
from llmgw_desktop.ui.pages.settings_rules import group_of, label_of
from llmgw_desktop.ui.provider_names import NOT_ROUTED, ProviderNames
from llmgw_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSize,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["CAPTURE_KEY", "CAPTURE_SETTING", "MENU_GROUP_AFTER", "ReplayActions", "capture_name"]

log = logging.getLogger(__name__)

CAPTURE_KEY = "recorder.capture.providers"
# Where that setting is, as the Settings page names it: "Settings › Flight recorder › Capture
# providers" (read from the page's own words, so the two never disagree).
CAPTURE_SETTING = f"Settings › {group_of(CAPTURE_KEY)} › {label_of(CAPTURE_KEY)}"
NOT_KEPT = f"{NOT_CAPTURED}, so it cannot be replayed"

REPLAY_TIP = (
    "Send this request again to a model you choose, in the Playground, its answer beside the "
    "recorded one"
)
WHY_NOT = (
    "it cannot be replayed. Requests marked ▶ in the list kept their bodies and can; a job's "
    "prompt is kept with its job"
)

# With more models than this, the menu groups them by provider (a submenu each).
MENU_GROUP_AFTER = 16


def capture_name(record: dict[str, Any]) -> str:
    """The name `recorder.capture.providers` knows a request's provider by: the gateway's id
    of who answered (or was tried first, or asked for), as body capture matches it."""
    route = record.get("route")
    if isinstance(route, dict):
        if route.get("resolvedProvider"):
            return str(route["resolvedProvider"])
        for attempt in route.get("attempts") or []:
            if isinstance(attempt, dict) and attempt.get("target"):
                return str(attempt["target"]).partition("/")[0]
        if route.get("requestedProvider"):
            return str(route["requestedProvider"])
    provider = str(record.get("provider") or "")
    return "" if provider == NOT_ROUTED else provider


class ReplayActions(QWidget):
    """Replay on…, Copy as curl, and the capture line, for the request `show_detail` gave;
    `replayRequested(original, messages, model)` asks the page to open the Playground."""

    replayRequested = Signal(object, object, str)  # PlaygroundReply, the messages, the model
    captureRequested = Signal(str)  # the provider whose bodies to keep from now on

    def __init__(self, engine: Engine, tasks: UiTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = tasks
        self.detail: RecordDetail | None = None
        self._names = ProviderNames()
        self.setObjectName("recorderActions")
        self.replay_button = QToolButton()
        self.replay_button.setObjectName("recorderReplay")
        self.replay_button.setText("Replay on…")
        self.replay_button.setIcon(glyph("play"))
        self.replay_button.setIconSize(QSize(16, 16))
        self.replay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.replay_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.replay_button.setToolTip(REPLAY_TIP)
        self.menu = QMenu(self.replay_button)
        self.menu.setObjectName("recorderReplayMenu")
        self.replay_button.setMenu(self.menu)
        self.curl_button = action_button(
            "Copy as curl",
            "recorderDetailCurl",
            icon="copy",
            tip="Copy a curl command that sends this request to the gateway again",
        )
        # Why a request cannot be replayed, and the way out when there is one (a link).
        self.why_label = QLabel()
        self.why_label.setObjectName("recorderReplayWhy")
        self.why_label.setWordWrap(True)
        self.why_label.setTextFormat(Qt.TextFormat.RichText)
        self.why_label.linkActivated.connect(self._link)
        set_tone(self.why_label, "muted")
        buttons = QHBoxLayout()
        buttons.setSpacing(SPACE["s"])
        buttons.addWidget(self.replay_button)
        buttons.addWidget(self.curl_button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(SPACE["xs"])
        column.addLayout(buttons)
        column.addWidget(self.why_label)
        self.plan = ReplayPlan()
        self._models: list[dict[str, Any]] = []
        self._captured_now = ""
        self.show_plan(ReplayPlan(why_not="No request chosen"), curl=False)
        self.captureRequested.connect(self.turn_on_capture)

    def load_models(self) -> None:
        """List the models the gateway serves now, for the menu (in the background)."""
        self._tasks.spawn(self._load_models(), what="list the gateway's models")

    async def _load_models(self) -> None:
        self.set_models(await self._engine.playground.models())

    def show_detail(self, detail: RecordDetail | None, names: ProviderNames) -> None:
        """Offer the actions for the request of `detail` (None: none chosen, or pruned)."""
        self.detail, self._names = detail, names
        if detail is None:
            self.show_plan(ReplayPlan(why_not="No request chosen"), curl=False)
            return
        record = detail.record
        captured = self._engine.body_capture.captured_providers()
        provider = capture_name(record)
        offer = None
        if provider and provider not in captured and "*" not in captured:
            # A request refused before any provider was asked has none of its own: the one it
            # asked for is named ("Turn on capture for never sent", a review found).
            own = str(record.get("provider") or "")
            switch = names.by_gateway_id.get(provider, "") if own in ("", NOT_ROUTED) else own
            offer = (provider, names.name(switch) if switch else provider)
        now = self._captured_now if provider in captured else ""
        self.show_plan(
            replay_plan(detail), curl=detail.bodies is not None, capture_for=offer, captured_now=now
        )

    def turn_on_capture(self, provider: str) -> None:
        """Keep the bodies of `provider`'s requests from now on (saved to config.toml)."""
        self._tasks.spawn(self._capture(provider), what="turn body capture on")

    async def _capture(self, provider: str) -> None:
        providers = [*self._engine.body_capture.captured_providers(), provider]
        try:
            await self._engine.settings_saver.save(LOCAL_CALLER, CAPTURE_KEY, providers)
        except (OSError, RuntimeError) as exc:  # no file to save to: on until a restart
            log.warning("body capture for %s is on, but not saved: %s", provider, exc)
        self._engine.body_capture.apply(CAPTURE_KEY, providers)
        record = self.detail.record if self.detail is not None else {}
        self._captured_now = self._names.name(str(record.get("provider") or provider))
        self.show_detail(self.detail, self._names)

    def set_models(self, models: Sequence[dict[str, Any]]) -> None:
        """The models the gateway serves now (the Playground's list)."""
        self._models = list(models)
        self._fill_menu()

    def show_plan(
        self,
        plan: ReplayPlan,
        *,
        curl: bool,
        capture_for: tuple[str, str] | None = None,
        captured_now: str = "",
    ) -> None:
        """Offer `plan`'s replay (or say why not); Copy as curl when `curl`. `capture_for`
        (provider id, name) offers turning capture on for it; `captured_now` (a name) says it
        was just turned on."""
        self.plan = plan
        self.replay_button.setEnabled(plan.possible)
        # Disabled, its tooltip says why too (the line under it says so with the way out).
        self.replay_button.setToolTip(
            REPLAY_TIP if plan.possible else _why_not_tip(plan, capture_for, captured_now)
        )
        self.curl_button.setEnabled(curl)
        if plan.possible:
            self._say(plan.note)
        elif captured_now:
            self._say(
                f"{NOT_CAPTURED} for this request. Capture is on for {escape(captured_now)}: "
                "its next requests can be replayed."
            )
        elif plan.why_not == NOT_CAPTURED:
            setting = f'<a href="setting:{CAPTURE_KEY}">{escape(CAPTURE_SETTING)}</a>'
            if capture_for is None:
                self._say(f"{NOT_KEPT}. Body capture is set in {setting}.")
            else:
                provider, name = capture_for
                self._say(
                    f'{NOT_KEPT}. <a href="capture:{escape(provider)}">Turn on capture for '
                    f"{escape(name)}</a> ({setting})"
                )
        else:
            self._say(escape(plan.why_not))
        self._fill_menu()

    def _say(self, html: str) -> None:
        self.why_label.setText(html)
        self.why_label.setVisible(bool(html))

    def _link(self, link: str) -> None:
        kind, _, target = link.partition(":")
        if kind == "capture" and target:
            self.captureRequested.emit(target)
        elif kind == "setting" and target:
            # The window opens the Settings page on it (a page alone has no window to ask).
            navigator = navigator_of(self)
            if navigator is not None:
                navigator.open_place("settings", target)

    def _fill_menu(self) -> None:
        """The recorded model first, then every model (by provider when there are many)."""
        self.menu.clear()
        recorded = self.plan.model
        ids = [str(m["id"]) for m in self._models]
        if recorded:
            self._add(self.menu, recorded, f"{recorded} (the recorded model)")
            self.menu.addSeparator()
        if len(ids) <= MENU_GROUP_AFTER:
            for model in sorted(ids):
                self._add(self.menu, model, model)
            return
        groups: dict[str, list[str]] = {}
        for entry in self._models:
            provider = str(entry.get("provider") or entry.get("owned_by") or "other")
            groups.setdefault(provider, []).append(str(entry["id"]))
        # Each provider by the name the other pages give it ("Claude Code", not "claude-cli").
        names = self._names
        shown = {p: names.name(names.by_gateway_id.get(p, p)) for p in groups}
        for provider in sorted(groups, key=lambda p: shown[p].casefold()):
            submenu = self.menu.addMenu(shown[provider])
            for model in sorted(groups[provider]):
                self._add(submenu, model, model)

    def _add(self, menu: QMenu, model: str, text: str) -> None:
        action = menu.addAction(text)
        action.setObjectName(f"replayOn:{model}")
        action.triggered.connect(lambda _=False, m=model: self.replay_on(m))

    def replay_on(self, model: str) -> None:
        """Ask for the chosen request to be replayed on `model` (a menu entry's click)."""
        detail, plan = self.detail, self.plan
        if detail is None or not plan.possible:
            return
        original = PlaygroundReply(
            model=plan.model,
            text=plan.answer,
            record_id=str(detail.record["id"]),
            record=detail.record,
        )
        self.replayRequested.emit(original, list(plan.messages), model)


def _why_not_tip(plan: ReplayPlan, capture_for: tuple[str, str] | None, captured_now: str) -> str:
    """The disabled Replay on…'s tooltip: why, and for a body not kept, how to keep the next
    ones (a tooltip is read alone: it names the setting and where it is in full)."""
    if plan.why_not != NOT_CAPTURED:
        return f"{plan.why_not}: {WHY_NOT}"
    if captured_now:
        return f"{NOT_KEPT}. Capture is on for {captured_now} now: its next requests can be."
    who = f" for {capture_for[1]}" if capture_for is not None else ""
    return (
        f"{NOT_KEPT}: a replay sends the request's kept body again, and this one was not "
        f"kept. Turn on body capture{who} with the link under this button, or in "
        f"{CAPTURE_SETTING} ({CAPTURE_KEY}); its next requests can then be replayed. "
        "Requests marked ▶ in the list kept their bodies and can be replayed now."
    )
