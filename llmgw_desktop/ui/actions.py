"""The gateway's user actions as QActions, shared by the tray menu and the window's menu bar.

One set of actions means the tray and the window can never disagree about a provider's switch:
both show the same checkable QAction, kept in step with the engine through the bridge. There
is one per provider the engine knows (coding CLIs, API providers, local servers). A provider
no switch can make answer (a CLI not installed, no API key, a server not running) is shown as
unavailable, not as a switch: a grey circle and why ("Groq (no key)"), in each menu's one
"Unavailable (N)" submenu (23 greyed lines made the tray's menu 40 entries long, review 41-3
finding 25), its section heading hidden when none of the section is left; a provider that is
failing, or where some calls fail (`attention.provider_verdict`, the verdict every page
shows), says so beside its switch.
Quitting goes through `request_quit`, which asks first while jobs are running, because
stopping the engine interrupts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from llmgw_desktop.engine.api import LOCAL_CALLER, EngineError, answering_of
from llmgw_desktop.ui.attention import ProviderVerdict, provider_verdicts
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.connect import TOKEN_PLACEHOLDER, Snippet, editors_send_token, snippets
from llmgw_desktop.ui.connect_setups import GatewayFacts, model_call_setups
from llmgw_desktop.ui.counts import job_counts
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.mcp_switches import McpServerSwitches
from llmgw_desktop.ui.pages.provider_rows import (
    TRAFFIC_WINDOW,
    ProviderRow,
    load_provider_rows,
    ready_words,
    switchable,
    unusable_reason,
    unusable_words,
)
from llmgw_desktop.ui.qt import (
    QAction,
    QGuiApplication,
    QIcon,
    QMenu,
    QMessageBox,
    QObject,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import OnceMore, UiTasks

__all__ = ["PROVIDER_SECTIONS", "GatewayActions"]

log = logging.getLogger(__name__)

# The menu's provider sections, by `ProviderState.kind`, in the order shown.
PROVIDER_SECTIONS = {"cli": "Coding CLIs", "api": "API providers", "local": "Local servers"}


class GatewayActions(QObject):
    """Provider toggles, Pause all, Open dashboard (and each page), Copy MCP endpoint, Copy
    API base URL, Copy setup for (each tool), Quit."""

    pagesChanged = Signal()
    unavailableChanged = Signal()

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        endpoint: Callable[[], str],
        open_dashboard: Callable[[], None],
        quit_app: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._engine = bridge.engine
        self._endpoint = endpoint

        self.providers: dict[str, QAction] = {}
        self.provider_kinds: dict[str, str] = {}  # switch id -> "cli", "api" or "local"
        self._names: dict[str, str] = {}
        for state in self._engine.providers.states():
            action = QAction(state.display_name, self)
            action.setCheckable(True)
            action.setChecked(state.enabled)
            action.setObjectName(f"provider:{state.id}")
            action.setToolTip(f"Let tools call {state.display_name} through the gateway")
            action.toggled.connect(lambda on, pid=state.id: self._set_provider(pid, on))
            self.providers[state.id] = action
            self.provider_kinds[state.id] = state.kind
            self._names[state.id] = state.display_name
        # Providers no switch can make answer: id -> (their line, why), for the submenu.
        self.unavailable: dict[str, tuple[str, str]] = {}
        self._tasks = UiTasks()
        self._looking = OnceMore(self._tasks, self._look_for_clis, "look for the CLIs")

        # The user's own MCP servers: a switch each (the tray's submenu, the MCP servers page).
        self.mcp_servers = McpServerSwitches(self._engine, self)

        self.pause_all = QAction("Pause all", self)
        self.pause_all.setCheckable(True)
        self.pause_all.setChecked(self._engine.providers.paused)
        self.pause_all.setToolTip("Refuse every provider call until resumed")
        self.pause_all.toggled.connect(
            lambda on: self._engine.providers.set_paused(LOCAL_CALLER, on)
        )

        self.open_dashboard = QAction("Open dashboard", self)
        self.open_dashboard.triggered.connect(open_dashboard)
        # Filled once the window exists (the window itself is built with these actions);
        # every menu's Open submenu follows through `pagesChanged`.
        self.open_pages: dict[str, QAction] = {}

        self._build_copy_actions()

        self._quit_app = quit_app
        self.quit_box: QMessageBox | None = None
        self.quit = QAction("Quit", self)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit.triggered.connect(self.request_quit)

        bridge.providerToggled.connect(self._on_provider_toggled)
        bridge.answeringChanged.connect(lambda _answering: self.read_facts_soon())
        self.read_facts_soon()
        self.check_installed()
        bridge.pauseChanged.connect(self._on_pause_changed)

    def _build_copy_actions(self) -> None:
        """Copy MCP endpoint, Copy API base URL, and Copy setup for (one per client)."""
        self.copy_endpoint = QAction("Copy MCP endpoint", self)
        self.copy_endpoint.triggered.connect(self._copy_endpoint)
        self.copy_base_url = QAction("Copy API base URL", self)
        self.copy_base_url.setToolTip(
            "Copy the gateway's API base URL (/v1), for OpenAI-compatible tools and SDKs"
        )
        self.copy_base_url.triggered.connect(self._copy_base_url)
        # One action per client: the exact command or config snippet for the live endpoint,
        # the coding tools' model calls first (`connect_setups`, as `connect` prints them).
        self.copy_setup: list[QAction] = []
        # What the tools' snippets name: the models that answer, read again when that changes.
        self.facts = GatewayFacts(self.base_url, self._engine.auth.configured, {}, "")
        for snippet in self._setup_snippets(self.facts):
            action = QAction(snippet.client, self)
            action.setToolTip(f"Copy the {snippet.client} setup ({snippet.where})")
            action.triggered.connect(lambda _=False, c=snippet.client: self._copy_setup(c))
            self.copy_setup.append(action)

    def build_menu(self, title: str = "Gateway", parent: QWidget | None = None) -> QMenu:
        """A menu holding every action, for the tray or a menu bar."""
        menu = QMenu(title, parent)
        menu.setToolTipsVisible(True)
        sections: dict[str, QAction] = {}
        for kind, heading in PROVIDER_SECTIONS.items():
            sections[kind] = menu.addSection(heading)
            for pid, action in self.providers.items():
                if self.provider_kinds[pid] == kind:
                    menu.addAction(action)
        menu.addMenu(_UnavailableMenu(self, menu, sections))
        # Whether a CLI is installed can change while the app runs: look again when opened.
        menu.aboutToShow.connect(self.check_installed)
        menu.addSeparator()
        menu.addAction(self.pause_all)
        self.mcp_servers.add_to(menu)
        menu.addSeparator()
        menu.addAction(self.open_dashboard)
        menu.addMenu(_OpenMenu(self, menu))
        menu.addAction(self.copy_endpoint)
        menu.addAction(self.copy_base_url)
        setup = menu.addMenu("Copy setup for")
        for action in self.copy_setup:
            setup.addAction(action)
        menu.addSeparator()
        menu.addAction(self.quit)
        return menu

    def set_pages(self, pages: Mapping[str, str], open_page: Callable[[str], None]) -> None:
        """Fill the Open submenu: one action per dashboard page (key -> title), in order."""
        old = list(self.open_pages.values())
        self.open_pages = {}
        for key, title in pages.items():
            action = QAction(title, self)
            action.setObjectName(f"open:{key}")
            action.triggered.connect(lambda _=False, k=key: open_page(k))
            self.open_pages[key] = action
        self.pagesChanged.emit()
        for action in old:
            action.deleteLater()

    def active_jobs(self) -> int:
        """Jobs queued or running in the engine: what quitting would interrupt (the header's
        count, `counts.job_counts`)."""
        return job_counts(self._engine).active

    def request_quit(self) -> None:
        """Quit now, or first ask (without blocking the loop) while jobs are running."""
        active = self.active_jobs()
        if active == 0:
            self._quit_app()
            return
        if self.quit_box is not None:  # asked already: bring the question forward
            self.quit_box.raise_()
            self.quit_box.activateWindow()
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "llmgw-desktop: quit?",
            f"{active} job(s) still running or queued.\n\nQuitting stops them: they end as "
            "interrupted, with the output so far kept. Quit anyway?",
        )
        box.setObjectName("confirmQuit")
        quit_anyway = box.addButton("Quit anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_result: int) -> None:
            self.quit_box = None
            confirmed = box.clickedButton() == quit_anyway
            box.deleteLater()
            if confirmed:
                self._quit_app()

        box.finished.connect(answered)
        self.quit_box = box
        box.open()

    def check_installed(self) -> None:
        """Look at every provider again in the background (the CLIs located, cached by the
        engine for a few seconds), then show each as a switch or as unavailable (asked while
        it looks, it looks once more after)."""
        self._looking.request()

    async def _look_for_clis(self) -> None:
        self.show_rows(await load_provider_rows(self._engine, {}, versions=False))

    def show_rows(self, rows: list[ProviderRow]) -> None:
        """Show each provider of `rows` as its switch (marked when it is failing or needs a
        look), or as unavailable with why when no switch can make it answer."""
        # The failed calls Overview's health table counts: a "Ready" one says them too, a
        # verdict's words count them so.
        served = self._engine.metrics.series(TRAFFIC_WINDOW).by_provider
        verdicts = {v.provider: v for v in provider_verdicts(self._engine, served)}
        for row in rows:
            pid = row.switch_id
            if pid is None or pid not in self.providers:
                continue
            if switchable(row):
                totals = served.get(pid)
                self._show_switch(pid, verdicts.get(pid), totals.errors if totals else 0)
            else:
                name = self._names[pid]
                self._show_unavailable(pid, f"{name} ({unusable_words(row)})", unusable_reason(row))

    def _show_switch(self, pid: str, verdict: ProviderVerdict | None, failed: int = 0) -> None:
        """The provider as its switch: checked when on, saying so when it fails, and its
        `failed` recent calls when it is ready all the same ("OpenAI (Ready, 5 recent
        failures)", as Overview's health table says it)."""
        action, name = self.providers[pid], self._names[pid]
        # Quietly: turning a switch back into a check box must not switch the engine.
        blocked = action.blockSignals(True)
        try:
            action.setCheckable(True)
            action.setChecked(self._engine.providers.is_enabled(pid))
        finally:
            action.blockSignals(blocked)
        action.setEnabled(True)
        if verdict is None and failed:
            action.setText(f"{name} ({ready_words(failed)})")
            action.setToolTip(f"{ready_words(failed)} in the last 15 min; let tools call {name}")
        elif verdict is None:
            action.setText(name)
            action.setToolTip(f"Let tools call {name} through the gateway")
        else:
            action.setText(f"{name} ({verdict.said})")
            action.setToolTip(f"{verdict.status}: {verdict.why}")
        action.setIcon(QIcon())
        action.setVisible(True)
        action.changed.emit()  # its followers (the Overview's boxes) read it again
        if self.unavailable.pop(pid, None) is not None:
            self.unavailableChanged.emit()

    def _show_unavailable(self, pid: str, text: str, tip: str) -> None:
        """The provider as unavailable: a grey circle and why, not a check box."""
        action = self.providers[pid]
        # Quietly: a check box turned into a plain entry emits "unchecked", which must not
        # switch the provider off.
        blocked = action.blockSignals(True)
        try:
            action.setCheckable(False)
        finally:
            action.blockSignals(blocked)
        action.setIcon(glyph("missing", "muted"))
        action.setText(text)
        action.setToolTip(tip)
        action.setEnabled(False)
        # Listed in the menus' Unavailable submenu instead of a greyed line of its own.
        action.setVisible(False)
        action.changed.emit()
        if self.unavailable.get(pid) != (text, tip):
            self.unavailable[pid] = (text, tip)
            self.unavailableChanged.emit()

    def switch_provider(self, provider: str, enabled: bool) -> None:
        """Turn `provider` on or off from a page's switch: through its shared action while
        that is a check box (so every menu follows), else the engine's switch itself."""
        action = self.providers.get(provider)
        if action is not None and action.isCheckable():
            action.setChecked(enabled)
        else:
            self._set_provider(provider, enabled)

    def _set_provider(self, provider: str, enabled: bool) -> None:
        try:
            self._engine.providers.set_enabled(LOCAL_CALLER, provider, enabled)
        except EngineError as exc:  # not expected: the actions come from the engine's list
            log.error("could not switch %s: %s", provider, exc.message)

    def _on_provider_toggled(self, provider: str, enabled: bool) -> None:
        action = self.providers.get(provider)
        if action is not None and action.isChecked() != enabled:
            action.setChecked(enabled)

    def _on_pause_changed(self, paused: bool) -> None:
        if self.pause_all.isChecked() != paused:
            self.pause_all.setChecked(paused)

    def read_facts_soon(self) -> None:
        """Read which models answer (in the background), for the tools' snippets."""
        self._tasks.spawn(self.read_facts(), what="read which models answer")

    async def read_facts(self) -> GatewayFacts:
        """The facts the tools' snippets are built from, read from the gateway's model list."""
        rows = await self._engine.providers.models()
        self.facts = GatewayFacts(
            self.base_url, self._engine.auth.configured, answering_of(rows), ""
        )
        return self.facts

    def _copy_setup(self, client: str) -> None:
        """Put `client`'s snippet on the clipboard, as the Connect page's Copy without token
        gives it."""
        snippet = next(s for s in self._setup_snippets(self.facts) if s.client == client)
        QGuiApplication.clipboard().setText(snippet.text)
        self._bridge.notice.emit("info", f"Copied the {client} setup ({snippet.where})")

    def _setup_snippets(self, facts: GatewayFacts) -> list[Snippet]:
        """The snippets as the Connect page's Copy gives them: on a locked gateway with the
        token's placeholder (the real token is copied only on the Connect page, on purpose)."""
        auth, settings = self._engine.auth, self._engine.settings
        locked = editors_send_token(
            locked=auth.configured,
            oauth=auth.oauth is not None,
            static_token=bool(settings.http.auth_token),
        )
        tools = [s for setup in model_call_setups(facts) for s in setup.snippets]
        return [*tools, *snippets(self._endpoint(), token=TOKEN_PLACEHOLDER if locked else None)]

    @property
    def base_url(self) -> str:
        """The gateway's root URL (the MCP endpoint without its path)."""
        return self._endpoint().removesuffix(self._engine.settings.http.path)

    def _copy_endpoint(self) -> None:
        QGuiApplication.clipboard().setText(self._endpoint())
        self._bridge.notice.emit("info", f"Copied {self._endpoint()}")

    def _copy_base_url(self) -> None:
        url = self.base_url + "/v1"
        QGuiApplication.clipboard().setText(url)
        self._bridge.notice.emit("info", f"Copied {url}")


class _OpenMenu(QMenu):
    """The Open submenu of one menu: an entry per dashboard page, hidden while there is none.

    A child of its menu, so it goes with it; the signal connection to a bound method of a
    QObject ends when the submenu is destroyed.
    """

    def __init__(self, actions: GatewayActions, parent: QWidget) -> None:
        super().__init__("Open", parent)
        self.setObjectName("openPage")
        self._actions = actions
        actions.pagesChanged.connect(self.refill)
        self.refill()

    def refill(self) -> None:
        self.clear()  # the page actions belong to GatewayActions: clear() only removes them
        for action in self._actions.open_pages.values():
            self.addAction(action)
        self.menuAction().setVisible(bool(self._actions.open_pages))


class _UnavailableMenu(QMenu):
    """The "Unavailable (N)" submenu of one menu: a greyed line per provider no switch can make
    answer, with why, in the menu's order; hidden while there is none. A provider section
    whose every member is in it loses its heading too."""

    def __init__(
        self, actions: GatewayActions, parent: QWidget, sections: Mapping[str, QAction]
    ) -> None:
        super().__init__("Unavailable", parent)
        self.setObjectName("unavailableProviders")
        self.setToolTipsVisible(True)
        self._actions = actions
        self._sections = dict(sections)
        actions.unavailableChanged.connect(self.refill)
        self.refill()

    def refill(self) -> None:
        self.clear()
        unavailable = self._actions.unavailable
        for pid in self._actions.providers:
            if pid not in unavailable:
                continue
            text, tip = unavailable[pid]
            entry = self.addAction(glyph("missing", "muted"), text)
            entry.setObjectName(f"unavailable:{pid}")
            entry.setToolTip(tip)
            entry.setEnabled(False)
        self.setTitle(f"Unavailable ({len(unavailable)})")
        self.menuAction().setVisible(bool(unavailable))
        kinds = self._actions.provider_kinds
        for kind, heading in self._sections.items():
            heading.setVisible(any(k == kind and p not in unavailable for p, k in kinds.items()))
