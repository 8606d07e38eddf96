"""Providers: every coding CLI and API provider in a list, the chosen one's details beside it.

Those that answer come first; those that cannot whatever their switch says (a CLI not
installed, no key, no server: `switchable`) are folded under the list, "Show N more", and
unfolded when one of them is chosen from elsewhere.

The rows come from `provider_rows.py` (the engine's public parts only), loaded in a task on
the loop and refreshed while the page is shown: on the engine's events (a provider's health
changed by its calls included, coalesced over a second) and every 15 s. The first load draws
at once and again when the CLIs' versions are in (some CLIs take seconds to print one); a
CLI's models are listed when its row is first chosen, and its login read from its own files.
The first row is chosen when nothing is, so the details are never an empty pane. A test runs
as its own task and reports in the details (and, once it failed, in the row's status: "Test
failed"), so nothing waits on a provider. Config entries naming a
model its provider does not list, and that no call has answered since the list was read (a
stale alias or route: `stale_references.py`), are shown in amber above the list, on the
provider's status and in its details. The status is the window's one badge
(`badge.py`): a failing provider (an open circuit, a failed Test, calls failing
`auth_required`) is red with the reason. A provider that cannot answer now (`usable_row`, the
judgement the tray and the first-run guide use) has its name in the muted tone (readable, at
4.5:1 or more), its status saying why once ("No API key"), not beside the name again.
Each row has its switch (none for a provider no switch can make answer); a provider switched
off says "Switched off". The list shows what fits beside the details: Circuit, Version and
Kind give way first on a narrow window (the details have them).
"""

from __future__ import annotations

import asyncio
import dataclasses

from llmgw_desktop.engine.api import CliAccount
from llmgw_desktop.ui.attention import answering_switches, provider_verdicts
from llmgw_desktop.ui.counts import fold_words, provider_counts, providers_words
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.navigator import other_page
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.credentials import CredentialsPage
from llmgw_desktop.ui.pages.provider_detail import ProviderDetail
from llmgw_desktop.ui.pages.provider_editor import ProviderEditorDialog
from llmgw_desktop.ui.pages.provider_rows import (
    NOT_FOUND,
    ProviderRow,
    cannot_answer,
    load_provider_rows,
    stale_warnings,
    switchable,
    usable_row,
)
from llmgw_desktop.ui.pages.provider_table import ProvidersTable
from llmgw_desktop.ui.pages.provider_tests import ProviderTests
from llmgw_desktop.ui.pages.route_targets import RouteTargetsView
from llmgw_desktop.ui.qt import (
    QGuiApplication,
    QLabel,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone, warning_colour

__all__ = ["ProvidersPage"]

# Versions are cached by discovery for minutes; this only picks up switches, keys and breakers.
REFRESH_MS = 15_000
# A provider's health changed by its calls: redrawn this soon, once for all that changed by
# then (several providers can turn at once; one failing half its calls turns at each call).
HEALTH_REDRAW_MS = 1000


def first_worth_showing(rows: list[ProviderRow]) -> int:
    """The row whose details to show when none is chosen: the first that needs attention,
    else the first that can answer, else the first."""
    for wanted in (lambda r: bool(r.attention), usable_row):
        for index, row in enumerate(rows):
            if wanted(row):
                return index
    return 0


class ProvidersPage(Page):
    KEY = "providers"
    TITLE = "Providers"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.rows: list[ProviderRow] = []
        self.tests = ProviderTests(self.engine, self.tasks, self._tested)
        self.accounts: dict[str, CliAccount] = {}
        self._cli_models: dict[str, tuple[str, ...]] = {}
        self._listing: set[str] = set()  # CLIs whose models are being listed
        self._chosen: dict[str, str] = {}  # row key -> the model picked for its tests
        self._loading = False
        self._reload = False
        self._recheck_after = False  # a Refresh pressed during a load: the reload rechecks
        self._pending_select: str | None = None

        head = self._page_head()
        self.editor: ProviderEditorDialog | None = None
        # Stale aliases and routes: requests for them may fail upstream with a bare 404.
        self.stale_label = QLabel()
        self.stale_label.setObjectName("staleReferences")
        self.stale_label.setWordWrap(True)
        self.stale_label.setVisible(False)
        # Routes over several providers: each target's share, latency and cool-down.
        self.route_targets = RouteTargetsView()
        # A rest the table shows ended: read again, so no "until" it shows is in the past.
        self.route_targets.restEnded.connect(lambda: self.request_refresh())
        # How many answer, fail and cannot answer: the header's and the Overview's counts.
        self.counts_label = QLabel()
        self.counts_label.setObjectName("providersCounts")
        set_tone(self.counts_label, "muted")

        self.table = ProvidersTable()
        self.columns = self.table.columns
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.table.switched.connect(self.switch_provider)
        self._build_detail()
        listing = self._listing_with_fold()
        column = QVBoxLayout(self)
        page_margins(column)
        column.addWidget(head)
        column.addWidget(self.counts_label)
        column.addWidget(self.stale_label)
        column.addWidget(self.route_targets)
        column.addWidget(MasterDetail(listing, self.detail), 1)
        self.detail.heading.setText("Loading the providers…")  # until the first rows are in

        bridge = context.bridge
        bridge.providerToggled.connect(self._on_toggled)
        bridge.pauseChanged.connect(lambda _paused: self.request_refresh())
        bridge.breakerChanged.connect(lambda _p, _state: self.request_refresh())
        bridge.restsChanged.connect(self.request_refresh)
        # Failing, or well again, by its calls: the status and counts must not wait the timer.
        self._health_timer = QTimer(self)
        self._health_timer.setSingleShot(True)
        self._health_timer.setInterval(HEALTH_REDRAW_MS)
        self._health_timer.timeout.connect(self.request_refresh)
        bridge.providerHealthChanged.connect(lambda _p, _state: self._refresh_soon())
        # A CLI logged in or out, a key refused or taken: the statuses and logins follow.
        bridge.answeringChanged.connect(lambda _answering: self.request_refresh())
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)

    def _page_head(self) -> PageHead:
        """The title, what the page lists, Refresh and Add provider…."""
        head = PageHead(
            self.TITLE,
            "Coding CLIs run as jobs on this machine; API providers are reached over HTTP with "
            "the keys from the vault, config.toml or the environment.",
        )
        self.refresh_button = head.add_action(
            action_button("Refresh", "refreshProviders", icon="refresh")
        )
        self.refresh_button.setToolTip(
            "Check versions, keys, logins and switches again, and read the model lists"
        )
        self.refresh_button.clicked.connect(lambda: self.request_refresh(recheck=True))
        # Your own OpenAI- or Anthropic-compatible endpoints (`provider_editor.py`).
        self.add_button = head.add_action(
            action_button("Add provider…", "addProvider", icon="add", primary=True)
        )
        self.add_button.setToolTip("Add your own OpenAI- or Anthropic-compatible endpoint")
        self.add_button.clicked.connect(lambda: self.open_editor(None))
        return head

    def _build_detail(self) -> None:
        """The chosen provider's details, its controls by the names the page always had, and
        what they do."""
        self.detail = ProviderDetail()
        self.status_label = self.detail.status_label
        self.enabled_box = self.detail.enabled_box
        self.config_state = self.detail.config_state
        self.model_box = self.detail.model_box
        self.default_label = self.detail.default_label
        self.where_label = self.detail.where_label
        self.keys_label = self.detail.keys_label
        self.models_note = self.detail.models_note
        self.stale_detail = self.detail.stale_detail
        self.plan_label = self.detail.plan_label
        self.copy_plan = self.detail.copy_plan
        self.test_button = self.detail.test_button
        self.test_label = self.detail.test_label
        self.edit_button = self.detail.edit_button
        self.enabled_box.toggled.connect(self._switch)
        self.model_box.currentTextChanged.connect(self._model_chosen)
        self.copy_plan.clicked.connect(self._copy_plan)
        self.test_button.clicked.connect(self._start_test)
        self.edit_button.clicked.connect(self._edit_selected)
        self.detail.keys_button.clicked.connect(self._open_keys)

    def _listing_with_fold(self) -> QWidget:
        """The list, with the providers that cannot answer whatever their switch says (a CLI
        not installed, no key, no server) folded under it, one click away."""
        self.unfold_button = QToolButton()
        self.unfold_button.setObjectName("providersShowAll")
        self.unfold_button.setCheckable(True)
        self.unfold_button.setAutoRaise(True)
        self.unfold_button.toggled.connect(self._fold)
        listing = QWidget()
        listing_column = QVBoxLayout(listing)
        listing_column.setContentsMargins(0, 0, 0, 0)
        listing_column.setSpacing(SPACE["xs"])
        listing_column.addWidget(self.table, 1)
        listing_column.addWidget(self.unfold_button, 0, Qt.AlignmentFlag.AlignLeft)
        return listing

    # -- loading ------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._timer.start()
        self.request_refresh()

    def page_hidden(self) -> None:
        self._timer.stop()
        self._health_timer.stop()

    def _refresh_soon(self) -> None:
        if self.isVisible() and not self._health_timer.isActive():
            self._health_timer.start()

    def request_refresh(self, *, recheck: bool = False) -> None:
        """Reload in the background while shown; a request during a load reloads once after
        (rechecking, when any of those requests was a Refresh)."""
        if recheck:
            self._cli_models.clear()
            self.accounts.clear()
        if not self.isVisible():
            return
        if self._loading:
            self._reload = True
            self._recheck_after |= recheck
            return
        self._loading = True
        if not self.tasks.spawn(self._load(recheck), what="load the providers"):
            self._loading = False

    async def _load(self, recheck: bool) -> None:
        try:
            await self.refresh(recheck=recheck)
        finally:
            self._loading = False
        if self._reload:
            recheck, self._reload, self._recheck_after = self._recheck_after, False, False
            self.request_refresh(recheck=recheck)

    async def refresh(self, *, recheck: bool = False) -> None:
        """Load every provider and redraw the list, keeping the choice. The first load
        draws at once and again when the CLIs' versions are in; then the CLIs' logins."""
        if not self.rows:
            self._draw(await load_provider_rows(self.engine, self._cli_models, versions=False))
        if recheck:
            await asyncio.gather(
                self.engine.providers.cli_statuses(refresh=True),
                self.engine.providers.read_lists_now(),
            )
        self._draw(await load_provider_rows(self.engine, self._cli_models))
        self._show_stale(stale_warnings(self.engine))
        providers = self.engine.providers
        # The provider rows' verdicts: a target of a failing provider never reads "Answering".
        verdicts = {r.gateway_id: r.verdict for r in self.rows if r.verdict and not r.is_cli}
        self.route_targets.show_targets(providers.routes(), providers.cooling(), verdicts)
        # Offline, from each CLI's own files (a few small reads): who is logged in, and the
        # plan, read with each load so a login made meanwhile shows with the status it changed.
        accounts = {a.provider: a for a in await self.engine.cli_accounts.read()}
        if accounts != self.accounts:
            self.accounts = accounts
            self._show_selected()

    def _show_stale(self, lines: tuple[str, ...]) -> None:
        """The config entries that name models their providers do not list (and no call has
        answered since the lists were read), or nothing: what is known, that calls may fail."""
        self.stale_label.setVisible(bool(lines))
        if not lines:
            return
        self.stale_label.setStyleSheet(f"color: {warning_colour()};")
        self.stale_label.setText(
            "⚠ config.toml names models their providers' model lists do not name, and no call "
            "for them has answered since the lists were read; calls for them may fail:\n"
            + "\n".join(f"• {line}" for line in lines)
        )

    def _draw(self, rows: list[ProviderRow]) -> None:
        """Show `rows`, those that answer first, keeping the choice (or the pending one, or
        the first row)."""
        selected = self.selected_row()
        self.rows = rows = sorted(rows, key=lambda r: (not switchable(r), not usable_row(r)))
        self.table.show_rows(rows, self.engine.providers.is_enabled)
        self._fold()
        pending, self._pending_select = self._pending_select, None
        if pending is not None and any(r.switch_id == pending for r in rows):
            self.select_provider(pending)
        elif (selected is None or not self.select(selected.key)) and rows:
            self.table.selectRow(first_worth_showing(rows))  # never an empty pane
        self._show_selected()

    @property
    def folded(self) -> list[ProviderRow]:
        """The rows folded away now (none while every row is shown)."""
        if self.unfold_button.isChecked():
            return []
        return cannot_answer(self.rows)

    def _fold(self) -> None:
        """Hide the rows that cannot answer whatever their switch says, unless asked."""
        folded = {row.key for row in self.folded}
        changed = False
        for index, row in enumerate(self.rows):
            if self.table.isRowHidden(index) != (row.key in folded):
                self.table.setRowHidden(index, row.key in folded)
                changed = True
        if changed:
            # The scroll range now, not at Qt's delayed layout: a row unfolded and chosen at
            # once must be scrolled to with the range that holds it.
            self.table.doItemsLayout()
        counts = provider_counts(
            provider_verdicts(self.engine), self.rows, answering_switches(self.engine)
        )
        self.counts_label.setText(providers_words(counts))
        cannot = counts.cannot_answer
        self.unfold_button.setVisible(bool(cannot))
        self.unfold_button.setText(fold_words(cannot, self.unfold_button.isChecked()))
        chosen = self.selected_row()
        if chosen is not None and chosen.key in folded:
            visible = [i for i, row in enumerate(self.rows) if row.key not in folded]
            if visible:
                self.table.selectRow(visible[0])

    def select(self, key: str) -> bool:
        """Select the row of `key` ("cli:claude", "api:openai"), unfolding the list when it
        is folded away; False when there is none."""
        for index, row in enumerate(self.rows):
            if row.key == key:
                if self.table.isRowHidden(index):
                    self.unfold_button.setChecked(True)
                self.table.selectRow(index)
                # Qt scrolls to a new current row only while the list is shown; a row chosen
                # from the tray or the header is chosen as the page opens.
                self.table.scrollTo(self.table.model().index(index, 0))
                self._show_selected()
                return True
        return False

    def select_provider(self, switch_id: str) -> None:
        """Select the provider whose switch is `switch_id` (the header's failing provider),
        now or once the rows are loaded."""
        for row in self.rows:
            if row.switch_id == switch_id:
                self.select(row.key)
                return
        self._pending_select = switch_id

    def selected_row(self) -> ProviderRow | None:
        model = self.table.selectionModel()
        chosen = model.selectedRows() if model is not None else []
        if not chosen or chosen[0].row() >= len(self.rows):
            return None
        return self.rows[chosen[0].row()]

    # -- the details ----------------------------------------------------------------------

    def open_editor(self, provider_id: str | None) -> ProviderEditorDialog:
        """Open the editor for a new provider (None) or one of yours; it reports when saved."""
        dialog = ProviderEditorDialog(self.engine, self.tasks, provider_id, self)
        dialog.saved.connect(lambda _pid: self.request_refresh())
        self.editor = dialog
        dialog.open()
        return dialog

    def _is_custom(self, row: ProviderRow | None) -> bool:
        return row is not None and row.gateway_id in self.engine.provider_editor.custom_ids()

    def _edit_selected(self) -> None:
        row = self.selected_row()
        if row is not None and self._is_custom(row):
            self.open_editor(row.gateway_id)

    def _open_keys(self) -> None:
        """The Provider keys page, its form set to the chosen provider."""
        row = self.selected_row()
        found = other_page(self, CredentialsPage.KEY, CredentialsPage)
        if row is None or found is None:
            return  # a page shown on its own (tests) has no window to open it in
        navigator, keys = found
        navigator.show_page(CredentialsPage.KEY)
        keys.choose_provider(row.gateway_id)

    def _show_selected(self) -> None:
        row = self.selected_row()
        self.edit_button.setEnabled(self._is_custom(row))
        if row is None:
            return
        self._list_models(row)
        switched_on = row.switch_id is not None and self.engine.providers.is_enabled(row.switch_id)
        account = self.accounts.get(row.switch_id or "") if row.is_cli else None
        self.detail.show_row(
            row, switched_on=switched_on, custom=self._is_custom(row), account=account
        )
        self.detail.list_models(row, self._chosen.get(row.key))
        self._show_test(row)

    def _list_models(self, row: ProviderRow) -> None:
        """Ask an installed CLI for its models once, in the background."""
        pid = row.switch_id
        if not row.is_cli or pid is None or row.where == NOT_FOUND or pid in self._cli_models:
            return
        if pid not in self._listing and self.tasks.spawn(self._list(pid), what="list models"):
            self._listing.add(pid)

    async def _list(self, pid: str) -> None:
        try:
            models = tuple(await self.engine.providers.cli_models(pid))
        finally:
            self._listing.discard(pid)
        self._cli_models[pid] = models
        self.rows = [
            dataclasses.replace(r, models=models) if r.is_cli and r.switch_id == pid else r
            for r in self.rows
        ]
        current = self.selected_row()
        if current is not None and current.switch_id == pid:
            self._show_selected()

    def _model_chosen(self, model: str) -> None:
        row = self.selected_row()
        if row is not None:
            self._chosen[row.key] = model

    def _switch(self, enabled: bool) -> None:
        row = self.selected_row()
        if row is not None and row.switch_id is not None:
            self.switch_provider(row.switch_id, enabled)

    def switch_provider(self, switch_id: str, enabled: bool) -> None:
        """Turn a provider on or off (its switch in the list or in the details)."""
        self.context.actions.switch_provider(switch_id, enabled)

    def _on_toggled(self, provider: str, enabled: bool) -> None:
        """Switched anywhere (tray, menu, MCP, the list): both switches follow now, the
        status ("Switched off") on reload."""
        row = self.selected_row()
        if row is not None and row.switch_id == provider:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(enabled)
            self.enabled_box.blockSignals(False)
            self.detail.show_switch(enabled)
        self.table.switch_cells.set_on(provider, enabled)
        self.request_refresh()

    def _copy_plan(self) -> None:
        row = self.selected_row()
        command = row.plan.partition(": ")[2] if row is not None else ""
        if command:  # "Upgrade: npm install -g ...", not "checking…"
            QGuiApplication.clipboard().setText(command)

    # -- testing --------------------------------------------------------------------------

    def _start_test(self) -> None:
        row = self.selected_row()
        if row is not None and self.tests.start(row, self.model_box.currentText()):
            self._show_test(row)

    def _tested(self, row: ProviderRow) -> None:
        self.request_refresh()  # the status says a failed test (the engine keeps it)
        current = self.selected_row()
        if current is not None and current.key == row.key:
            self._show_test(current)

    def _show_test(self, row: ProviderRow) -> None:
        self.test_button.setEnabled(row.key not in self.tests.running and row.installed)
        text, failed = self.tests.line(row.key)
        self.test_label.setText(text)
        set_tone(self.test_label, "error" if failed else "")
