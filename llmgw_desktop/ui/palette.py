"""The command palette (Ctrl+K): type a few letters, press Enter, be there.

It reaches every page (a tab included), the window's actions (pause all, copy the MCP
endpoint, the first-run guide), every provider, gateway key, recent job and recorded request;
typing something that looks like an id also searches the whole recorder and the job list for
it. Pages, actions and providers are known at once; keys, jobs and requests are read when the
palette opens (off the loop, through the engine's public reads), and the list grows as they
arrive, so it opens at once. Matching is by words: every word typed must be in an entry's
words, a title that starts with the first word ranks first.

Up and Down move through the list while the typing stays in the box; Enter goes, Escape
closes. The palette is non-modal (`show`, never `exec`): the loop and the gateway run on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    DeskFilter,
    DeskJob,
    Engine,
    RecorderFilters,
    RecordSummary,
    format_usd,
)
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import NAMES, glyph
from llmgw_desktop.ui.nav import Place
from llmgw_desktop.ui.pages.base import Page
from llmgw_desktop.ui.pages.recorder_words import format_state, format_time
from llmgw_desktop.ui.qt import (
    QAction,
    QDialog,
    QEvent,
    QKeyEvent,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QObject,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["CommandPalette", "Entry", "PaletteWindow", "matches"]

SHOWN_MAX = 60
RECENT_JOBS = 50
RECENT_REQUESTS = 50
ID_SEARCH_MIN = 6  # typed this long, the recorder and the job list are searched for it too
WIDTH = 620


@dataclass(frozen=True)
class Entry:
    """One thing the palette can go to."""

    kind: str  # Page, Action, Provider, Key, Job, Request
    title: str
    detail: str
    icon: str  # a glyphs.NAMES name
    go: Callable[[], None]
    key: str = ""  # what tells two entries apart (a job's id), for de-duplication

    @property
    def words(self) -> str:
        return f"{self.kind} {self.title} {self.detail} {self.key}".lower()


class PaletteWindow(Protocol):
    """What the palette needs of the window."""

    pages: Mapping[str, Page]  # built when looked up
    page_titles: dict[str, str]  # every page's title, none built
    places: dict[str, Place]
    guide_action: QAction

    def show_page(self, key: str) -> None: ...


def matches(entries: Sequence[Entry], typed: str) -> list[Entry]:
    """The entries with every typed word in their words, those whose title starts with the
    first word first (in their given order otherwise)."""
    words = typed.lower().split()
    if not words:
        return list(entries)
    found = [e for e in entries if all(word in e.words for word in words)]
    return sorted(found, key=lambda e: not e.title.lower().startswith(words[0]))


class CommandPalette(QDialog):
    """A box to type in and the entries that match it."""

    def __init__(
        self, window: PaletteWindow, engine: Engine, actions: Sequence[tuple[str, QAction]]
    ):
        parent = window if isinstance(window, QWidget) else None
        super().__init__(parent)
        self.setObjectName("commandPalette")
        self.setWindowTitle("Go to…")
        self.setAccessibleName("Command palette")
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint)
        self.setWindowFlag(Qt.WindowType.Popup, False)
        self._window = window
        self._engine = engine
        self._actions = list(actions)
        self._tasks = UiTasks(on_error=lambda _message: None)  # a failed read leaves it out
        self._fixed: list[Entry] = []
        self._loaded: list[Entry] = []
        self._searched: list[Entry] = []
        self.search = QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setAccessibleName("Go to")
        self.search.setPlaceholderText(
            "Go to a page, provider, key, job or request; or run an action…"
        )
        self.search.textChanged.connect(self._typed)
        self.search.installEventFilter(self)
        self.results = QListWidget()
        self.results.setObjectName("paletteResults")
        self.results.setAccessibleName("Matches")
        self.results.setIconSize(QSize(18, 18))
        self.results.setUniformItemSizes(True)
        self.results.itemActivated.connect(self._go)
        # In the list's place when nothing matches: a blank box read as broken.
        self.empty = QLabel()
        self.empty.setObjectName("paletteNothing")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        set_tone(self.empty, "muted")
        self.empty.hide()
        self.hint = QLabel("↑↓ to choose · Enter to go · Esc to close")
        set_tone(self.hint, "muted")
        column = QVBoxLayout(self)
        column.setContentsMargins(SPACE["m"], SPACE["m"], SPACE["m"], SPACE["s"])
        column.setSpacing(SPACE["s"])
        column.addWidget(self.search)
        column.addWidget(self.results, 1)
        column.addWidget(self.empty, 1)
        column.addWidget(self.hint)
        self._searching = ""  # the id being looked for in the recorder and the jobs
        self.resize(WIDTH, 420)

    # -- opening --------------------------------------------------------------------------

    def open_palette(self) -> None:
        """Show the palette over the window, empty, and read the keys, jobs and requests."""
        self._fixed = self._known_now()
        self._loaded, self._searched = [], []
        self.search.clear()
        self._place()
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus()
        self._refill()
        self._tasks.cancel_all()
        self._tasks.spawn(self._load(), what="list keys, jobs and requests for the palette")

    def _place(self) -> None:
        owner = self.parentWidget()
        if owner is None:
            return
        width = min(WIDTH, max(360, owner.width() - 4 * SPACE["xl"]))
        height = min(420, max(240, owner.height() - 160))
        self.resize(width, height)
        top_left = owner.mapToGlobal(owner.rect().topLeft())
        self.move(top_left.x() + (owner.width() - width) // 2, top_left.y() + 80)

    def _known_now(self) -> list[Entry]:
        window, entries = self._window, []
        places = {key: place for place in window.places.values() for key in place.pages}
        for key, title in window.page_titles.items():  # no page is built to be listed
            place = places.get(key)
            where = place.title if place is not None and place.key != key else "Page"
            entries.append(
                Entry(
                    "Page",
                    title,
                    where if where != "Page" else "",
                    key if key in NAMES else "next",
                    functools.partial(window.show_page, key),
                    key,
                )
            )
        for title, action in self._actions:
            if action.isVisible() and action.isEnabled():
                tip = action.toolTip().replace("&", "")
                entries.append(
                    Entry("Action", title, "" if tip == title else tip, "command", action.trigger)
                )
        guide = window.guide_action
        entries.append(Entry("Action", "First-run guide", "", "command", guide.trigger))
        for state in self._engine.providers.states():
            entries.append(
                Entry(
                    "Provider",
                    state.display_name,
                    "on" if state.enabled else "switched off",
                    "providers",
                    functools.partial(self._open, "providers", "select_provider", state.id),
                    state.id,
                )
            )
        return entries

    async def _load(self) -> None:
        loaded: list[Entry] = []
        for record in await self._engine.keys.list(LOCAL_CALLER):
            loaded.append(
                Entry(
                    "Key",
                    record.principal,
                    f"{record.shown} · {record.scope.describe_targets()}",
                    "keys",
                    functools.partial(self._open, "keys", "select_key", record.name),
                    record.name,
                )
            )
        self._loaded = loaded
        self._refill()
        jobs = await self._engine.jobs.list_for_desk(DeskFilter(), RECENT_JOBS)
        self._loaded = loaded + [self._job_entry(job) for job in jobs]
        self._refill()
        page = await self._engine.recorder_query.page(RecorderFilters(), limit=RECENT_REQUESTS)
        self._loaded += [self._request_entry(row) for row in page.rows]
        self._refill()

    def _job_entry(self, job: DeskJob) -> Entry:
        view = job.view
        prompt = (job.prompt or "").strip()
        detail = f"{view.provider} · {view.state.value}" + (f" · {prompt[:60]}" if prompt else "")
        return Entry(
            "Job",
            f"Job {view.id[:12]}",
            detail,
            "jobs",
            functools.partial(self._open, "jobs", "show_job", view.id),
            view.id,
        )

    def _request_entry(self, summary: RecordSummary) -> Entry:
        cost = summary.cost_usd
        detail = " · ".join(
            part
            for part in (
                format_time(summary.started_at),
                summary.provider,
                summary.model or "",
                format_state(summary.state, failed_over=summary.failed_over),
                summary.caller,
                format_usd(cost) if cost else "",
            )
            if part
        )
        rid = summary.id
        return Entry(
            "Request",
            f"Request {rid[:12]}",
            detail,
            "recorder",
            functools.partial(self._open, "recorder", "show_request", rid, caller=""),
            rid,
        )

    # -- typing and going -----------------------------------------------------------------

    def _typed(self, text: str) -> None:
        typed = text.strip()
        searching = len(typed) >= ID_SEARCH_MIN and " " not in typed
        self._searching = typed if searching else ""
        self._refill()
        if searching:
            self._tasks.spawn(self._search(typed), what="search the recorder and the jobs")

    async def _search(self, typed: str) -> None:
        """Anything with this id (or text) in the whole recorder and the job list."""
        try:
            jobs = await self._engine.jobs.list_for_desk(DeskFilter(text=typed), 10)
            page = await self._engine.recorder_query.page(RecorderFilters(text=typed), limit=10)
        finally:
            if self._searching == typed:
                self._searching = ""
        if self.search.text().strip() != typed:
            return  # typed on meanwhile
        self._searched = [self._job_entry(j) for j in jobs]
        self._searched += [self._request_entry(r) for r in page.rows]
        self._refill()

    def entries(self) -> list[Entry]:
        """Everything the palette knows now, each once."""
        seen: set[tuple[str, str]] = set()
        every: list[Entry] = []
        for entry in (*self._fixed, *self._loaded, *self._searched):
            mark = (entry.kind, entry.key or entry.title)
            if mark not in seen:
                seen.add(mark)
                every.append(entry)
        return every

    def shown(self) -> list[Entry]:
        """The entries listed now, in order."""
        items = (self.results.item(i) for i in range(self.results.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items]

    def _refill(self) -> None:
        typed = self.search.text()
        found = matches(self.entries(), typed)
        if not typed.strip():
            found = [e for e in found if e.kind in ("Page", "Action")] + [
                e for e in found if e.kind not in ("Page", "Action")
            ]
        current = self.results.currentItem()
        chosen = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.results.clear()
        for entry in found[:SHOWN_MAX]:
            text = f"{entry.title}    {entry.detail}" if entry.detail else entry.title
            item = QListWidgetItem(glyph(entry.icon), f"{entry.kind}: {text}")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            item.setToolTip(text)
            self.results.addItem(item)
        row = next((i for i, e in enumerate(found[:SHOWN_MAX]) if e is chosen), 0)
        if self.results.count():
            self.results.setCurrentRow(row)
        self._say_nothing(typed.strip() if not found else "")

    def _say_nothing(self, typed: str) -> None:
        """Say that nothing matched `typed` in the list's place ("" : the list is shown)."""
        if typed:
            looking = (
                " Looking for it in the whole recorder and the jobs…"
                if self._searching == typed
                else ""
            )
            self.empty.setText(
                f"Nothing matches “{typed}”.{looking}\nTry a page's name (Jobs, Settings), a "
                "provider, a key's name, or a request's or job's id."
            )
        self.empty.setVisible(bool(typed))
        self.results.setVisible(not typed)

    def go(self) -> bool:
        """Go to the chosen entry (what Enter does); False when nothing matches."""
        item = self.results.currentItem()
        if item is None:
            return False
        self._go(item)
        return True

    def _go(self, item: QListWidgetItem) -> None:
        entry = item.data(Qt.ItemDataRole.UserRole)
        self.hide()
        self._tasks.cancel_all()
        if isinstance(entry, Entry):
            entry.go()

    def _open(self, page_key: str, method: str, value: str, **options: str) -> None:
        page = self._window.pages.get(page_key)
        do = getattr(page, method, None)
        if callable(do):
            do(value, **options)
        self._window.show_page(page_key)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The arrows move through the list while the typing stays in the box.
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.results.keyPressEvent(event)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.go()
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            self._tasks.cancel_all()
            return
        super().keyPressEvent(event)
