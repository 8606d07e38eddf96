"""The first-run guide's steps: which coding CLIs this machine has, which API keys the gateway
found and storing one more in the vault after a real test call, and where to go next.

Each step reads the engine through its public parts only (`engine/api.py`), in tasks on the
loop, the same calls the Providers and Provider keys pages make, so the guide never says
something those pages would contradict. Nothing is stored unless the person presses Store: the
default button of every step is Next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from html import escape

from llmgw_desktop.engine.api import (
    DEFAULT_KEY_NAME,
    LOCAL_CALLER,
    CliStatus,
    Engine,
    EngineError,
    ProbeResult,
    ProbeVerdict,
)
from llmgw_desktop.ui.attention import KEY_REFUSED, no_provider, provider_verdicts
from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.counts import ProviderCounts, answering_rows, provider_counts
from llmgw_desktop.ui.kit.tables import fit_rows
from llmgw_desktop.ui.kit.text import home_short
from llmgw_desktop.ui.pages.credentials_live import key_refused, key_where, shown_mask
from llmgw_desktop.ui.pages.provider_rows import (
    ProviderRow,
    cannot_answer,
    load_provider_rows,
    unusable_reason,
    usable_row,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QColor,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QGuiApplication,
    QHBoxLayout,
    QHeaderView,
    QIcon,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import error_colour, set_tone

__all__ = ["CLI_COLUMNS", "KEY_COLUMNS", "LABEL_WIDTH", "ClisStep", "ConnectStep", "KeysStep"]

CLI_COLUMNS = ("CLI", "Found", "Version", "Path, or how to install it")
KEY_COLUMNS = ("Provider", "Source", "Value")
KEYS_SHOWN = 5  # the keys step's list shows this many whole rows before it scrolls
# The guide's forms put their fields at one x: a label column this wide.
LABEL_WIDTH = 90
INSTALLED, MISSING, CHECKING = "installed", "not installed", "checking…"
NOTHING_CAN_ANSWER = (
    "Nothing can answer yet: no API key is usable (none found, switched off, or it failed its "
    "Test) and no coding CLI was found (or it is switched off). Store an API key on the first "
    "step and Test it, or install a CLI (the second step lists the commands); then the "
    "Providers page shows it Ready."
)
VAULT_HOW_TO_OPEN = (
    "The vault opens with LLM_GATEWAY_MASTER_KEY, the OS keyring or vault.key in the data "
    "folder; fix what is said above and start the gateway again. Keys in the environment "
    "keep working meanwhile."
)


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for index, cells in enumerate(rows):
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(index, col, item)
    for col in range(table.columnCount() - 1):
        table.resizeColumnToContents(col)


def _label(text: str, buddy: QWidget) -> QLabel:
    """A form's label, `LABEL_WIDTH` wide, so every form of the guide lines its fields up."""
    label = QLabel(text)
    label.setBuddy(buddy)
    label.setFixedWidth(LABEL_WIDTH)
    return label


def _wrapping(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ClisStep(QWizardPage):
    """(b) The vendor CLIs: those found first (path and version), the others folded under one
    line until asked for (each with the command that installs it)."""

    def __init__(self, engine: Engine, tasks: UiTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = tasks
        self.statuses: list[CliStatus] = []
        self.setTitle("Coding CLIs on this machine")
        self.setSubTitle(
            "The gateway runs these CLIs as jobs for your tools. Install the ones you use; "
            "the others stay off."
        )
        self.table = _table((*CLI_COLUMNS, ""), "guideClis")
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(
            len(CLI_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.note = _wrapping("guideClisNote", "Looking for the CLIs…")
        # The CLIs not installed, folded under one line: what works comes first.
        self.missing_label = _wrapping("guideClisMissing")
        self.missing_label.setTextFormat(Qt.TextFormat.RichText)
        self.missing_label.linkActivated.connect(lambda _link: self.show_missing(True))
        self.missing_shown = False
        column = QVBoxLayout(self)
        column.addWidget(self.table, 1)
        column.addWidget(self.missing_label)
        column.addWidget(self.note)

    def initializePage(self) -> None:
        self._tasks.spawn(self.load(), what="look for the coding CLIs")

    async def load(self) -> None:
        """Locate every CLI at once (instant), then ask each for its version (some take
        seconds), drawing after each."""
        providers = self._engine.providers
        catalog = providers.catalog()  # the engine's: the ACP agents config adds too
        found = await asyncio.gather(*(providers.locate_cli(p.id) for p in catalog))
        self._draw([CliStatus(p.id, f is not None, f) for p, f in zip(catalog, found, strict=True)])
        self._draw(await providers.cli_statuses(), checked=True)

    def show_missing(self, shown: bool) -> None:
        """Unfold (or fold) the CLIs that are not installed, each with its install command."""
        self.missing_shown = shown
        self._fold()

    def _fold(self) -> None:
        missing = [index for index, s in enumerate(self.statuses) if not s.installed]
        for index in range(self.table.rowCount()):
            self.table.setRowHidden(index, index in missing and not self.missing_shown)
        count = len(missing)
        self.missing_label.setVisible(bool(count))
        lead = "No coding CLI found: " if count == len(self.statuses) else ""
        if self.missing_shown:
            self.missing_label.setText(f"{lead}{count} not installed, listed with how to install")
        else:
            self.missing_label.setText(
                f"{lead}{count} {'more ' if not lead else ''}not installed. "
                '<a href="show">Show them, with their install commands</a>'
            )

    def _draw(self, statuses: list[CliStatus], *, checked: bool = False) -> None:
        # Those installed first: what works leads.
        statuses = sorted(statuses, key=lambda status: not status.installed)
        self.statuses = statuses
        rows = []
        for status in statuses:
            info = self._engine.providers.catalog().info(status.provider)
            if status.installed:
                version = status.version or (f"error: {status.error}" if status.error else "")
                where = home_short(status.executable or "")
                rows.append((info.display_name, INSTALLED, version or CHECKING, where))
            else:
                rows.append((info.display_name, MISSING, "—", info.install_command))
        _fill(self.table, rows)
        for index, status in enumerate(statuses):
            found = self.table.item(index, CLI_COLUMNS.index("Found"))
            if found is not None:  # ✓ installed; not installed in words alone (an empty
                # circle beside each read as a column of radio buttons)
                status_cell(found, "ok" if status.installed else "missing", found.text())
                if not status.installed:
                    found.setIcon(QIcon())
            self._copy_button(index, "" if status.installed else rows[index][-1])
        self.table.resizeColumnToContents(CLI_COLUMNS.index("Found"))
        self._fold()
        installed = sum(s.installed for s in statuses)
        if not installed:
            # The line above says none was found ("0 of 12 found" said it twice, a review).
            self.note.setText(
                "Once one is installed, the Providers page shows it, with upgrades and a Test "
                "button."
            )
            return
        self.note.setText(
            f"{installed} of {len(statuses)} found"
            + ("." if checked else "; checking their versions…")
            + " The Providers page shows them again, with upgrades and a Test button."
        )

    def _copy_button(self, row: int, command: str) -> None:
        """A Copy button for the install command in `row` ("" for none)."""
        column = len(CLI_COLUMNS)
        if not command:
            self.table.removeCellWidget(row, column)
            return
        button = QPushButton("Copy")
        button.setObjectName("guideCopyInstall")
        button.setAutoDefault(False)
        button.setToolTip(f"Copy: {command}")
        button.clicked.connect(lambda: self._copy(command))
        self.table.setCellWidget(row, column, button)

    def _copy(self, command: str) -> None:
        QGuiApplication.clipboard().setText(command)
        self.note.setText(f"Copied: {command}. Paste it in a terminal, then come back.")

    def row_of(self, provider: str) -> tuple[str, ...]:
        """The cells shown for one CLI (by engine id); empty ones until the CLIs are listed."""
        for index, status in enumerate(self.statuses):
            if status.provider == provider:
                return tuple(
                    item.text() if (item := self.table.item(index, col)) else ""
                    for col in range(len(CLI_COLUMNS))
                )
        return ("",) * len(CLI_COLUMNS)


class KeysStep(QWizardPage):
    """(a) The API keys found (masked, with their source), and storing one in the vault after
    a real test call with exactly that key."""

    def __init__(self, engine: Engine, tasks: UiTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = tasks
        self.setTitle("API keys")
        self.setSubTitle(
            "Keys the gateway already uses, from the environment, config.toml or the vault "
            "(masked). You can add one to the vault; nothing is stored unless you press Store."
        )
        self.table = _table(KEY_COLUMNS, "guideKeys")

        self.form = QGroupBox("Store a key in the vault (optional)")
        self.provider_box = QComboBox()
        self.provider_box.setObjectName("guideKeyProvider")
        self.provider_box.addItems(
            sorted(s.id for s in engine.providers.api_providers() if s.needs_key)
        )
        self.value_edit = QLineEdit()
        self.value_edit.setObjectName("guideKeyValue")
        self.value_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.value_edit.setPlaceholderText("paste the key")
        # Enter must not store a key: the wizard's default button (Next) takes it.
        self.test_button = QPushButton("&Test")
        self.test_button.setObjectName("guideTestKey")
        self.test_button.setToolTip("Send one tiny request with this key alone")
        self.store_button = QPushButton("&Store in vault")
        self.store_button.setObjectName("guideStoreKey")
        for button in (self.test_button, self.store_button):
            button.setAutoDefault(False)
        self.test_button.clicked.connect(self._start_test)
        self.store_button.clicked.connect(self._start_store)
        # Another key: what the last Test said was about the old one.
        self.value_edit.textChanged.connect(lambda _text: self._forget_result())
        self.provider_box.currentTextChanged.connect(lambda _text: self._forget_result())
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.store_button)
        buttons.addStretch(1)
        self.result_label = _wrapping("guideKeyResult")
        self.vault_label = _wrapping("guideVaultState")
        form = QFormLayout(self.form)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.addRow(_label("&Provider", self.provider_box), self.provider_box)
        form.addRow(_label("&Key", self.value_edit), self.value_edit)
        form.addRow("", buttons)
        form.addRow("", self.result_label)
        form.addRow("", self.vault_label)

        # The keys listed whole: a row cut in half by a short table read as broken.
        fit_rows(self.table, least=1, most=KEYS_SHOWN)
        column = QVBoxLayout(self)
        column.addWidget(self.table)
        column.addWidget(self.form)
        column.addStretch(1)
        self.last_result: ProbeResult | None = None
        # The optional server step's box (the guide sets it): a server added reloads the keys.
        self.server: QWidget | None = None
        self._busy = False
        self._show_vault()

    def initializePage(self) -> None:
        self._show_vault()
        self._tasks.spawn(self.load(), what="read the API keys")

    async def load(self) -> None:
        """Every key the gateway would use now (the Provider keys page's reader), once the
        vault has finished opening (the first step opens with the window, while it may
        still be opening), and what the vault allows."""
        await self._engine.vault.settled()
        self._show_vault()
        await self._load_keys()

    async def _load_keys(self) -> None:
        keys = await self._engine.providers.live_keys(LOCAL_CALLER)
        # Named and masked as the Provider keys page writes them ("OpenAI", "sk-env…••••").
        names = ProviderNames.of(self._engine)
        refused = [key_refused(self._engine, k) for k in keys]
        rows = [
            (names.name(k.provider), key_where(k, how), shown_mask(k.masked_value))
            for k, how in zip(keys, refused, strict=True)
        ]
        if not rows:
            rows = [("(none)", "no API key in the environment, config.toml or the vault", "")]
        _fill(self.table, rows)
        # A refused key's place in the error colour, as Provider keys draws it.
        for index, how in enumerate(refused):
            item = self.table.item(index, 1)
            if how is not None and item is not None:
                item.setForeground(QColor(error_colour()))

    def _show_vault(self) -> None:
        status = self._engine.vault.status()
        if status["state"] == "open":
            self.vault_label.setText(f"The vault is open (master key from {status['keySource']}).")
        elif status["state"] == "locked":
            reason = str(status["reason"])
            self.vault_label.setText(
                f"Store is off: {reason[:1].upper()}{reason[1:]}\n{VAULT_HOW_TO_OPEN}"
            )
        else:
            self.vault_label.setText("Store is off: the vault opens when the gateway starts.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_key = bool(self.value_edit.text().strip() and self.provider_box.currentText())
        self.test_button.setEnabled(has_key and not self._busy)
        self.store_button.setEnabled(has_key and not self._busy and not self._engine.vault.locked)

    def _forget_result(self) -> None:
        self.last_result = None
        self.result_label.clear()
        self._update_buttons()

    def _say(self, text: str, *, failed: bool) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(f"color: {error_colour()};" if failed else "")

    # -- test ------------------------------------------------------------------------------

    def _start_test(self) -> None:
        provider, key = self.provider_box.currentText(), self.value_edit.text().strip()
        if not (provider and key) or self._busy:
            return
        self._busy = True
        self._say(f"Testing the key with {provider}…", failed=False)
        self._update_buttons()
        if not self._tasks.spawn(self.test(provider, key), what="test the key"):
            self._busy = False

    async def test(self, provider: str, key: str) -> ProbeResult:
        """One tiny request to `provider` with `key` alone, through the engine; shown as ok,
        auth failed or unreachable."""
        try:
            result = await self._engine.providers.probe(provider, key=key)
        finally:
            self._busy = False
            self._update_buttons()
        self.last_result = result
        took = f"{result.latency_ms:.0f} ms"
        if result.verdict == ProbeVerdict.OK:
            self._say(f"OK: {provider} answered in {took} with this key.", failed=False)
        elif result.verdict == ProbeVerdict.AUTH_FAILED:
            self._say(f"Auth failed: {provider} refused this key. {result.error}", failed=True)
        elif result.verdict == ProbeVerdict.UNREACHABLE:
            self._say(f"Unreachable: {provider} did not answer. {result.error}", failed=True)
        else:
            self._say(f"Failed: {result.error}", failed=True)
        return result

    # -- store -----------------------------------------------------------------------------

    def _start_store(self) -> None:
        provider, key = self.provider_box.currentText(), self.value_edit.text().strip()
        if not (provider and key) or self._busy:
            return
        self._busy = True
        self._update_buttons()
        if not self._tasks.spawn(self.store(provider, key), what="store the key"):
            self._busy = False

    async def store(self, provider: str, key: str) -> bool:
        """Store `key` as the provider's global default key; False (and why) when refused."""
        try:
            await self._engine.vault.store_key(LOCAL_CALLER, provider, key)
        except EngineError as exc:
            self._say(f"Not stored: {exc.message}", failed=True)
            return False
        finally:
            self._busy = False
            self._show_vault()
        tested = self.last_result is not None and self.last_result.verdict == ProbeVerdict.OK
        self.value_edit.clear()  # forgets the test's result: it was about this key
        self._say(
            f"Stored in the vault as the {provider} key {DEFAULT_KEY_NAME!r} (every project)."
            + ("" if tested else " It was not tested: the Providers page's Test checks it."),
            failed=False,
        )
        await self.load()
        return True


class ConnectStep(QWizardPage):
    """(d) The way on: Finish opens the Connect page, with a setup snippet per tool, and the
    API base URL is one Copy away. Before that it says plainly what can answer (a CLI found
    and switched on, or an API provider with a key whose Test has not failed), first; what
    cannot is one line, a count by reason (the Providers page's count) with a "Show them" link
    that unfolds each one with what would fix it, in the pages' words (a CLI not installed is
    named once, its command being on the coding CLIs step)."""

    def __init__(
        self, endpoint: str, engine: Engine, tasks: UiTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = tasks
        self.setTitle("Connect your tools")
        self.setSubTitle("Checking what can answer…")
        self.verdict_label = _wrapping("guideVerdict")
        self.base_url = endpoint.removesuffix(engine.settings.http.path) + "/v1"
        self.text_label = _wrapping(
            "guideConnect",
            f"MCP endpoint: {endpoint}\nAPI base URL: {self.base_url}\n\n"
            "Finish opens the Connect page: a ready-made setup for Claude Code, Codex and "
            "Gemini CLI (their model calls through the gateway, on a model that answers with "
            "your keys), Cursor, VS Code, the editors' agent panels and the SDKs, with the "
            "token where the gateway asks for one.\n\n"
            "This guide is in the Help menu if you want it again.",
        )
        self.copy_base_url = QPushButton("Copy API base URL")
        self.copy_base_url.setObjectName("guideCopyBaseUrl")
        self.copy_base_url.setAutoDefault(False)
        self.copy_base_url.setToolTip(f"Copy {self.base_url}, for OpenAI-compatible tools")
        self.copy_base_url.clicked.connect(self._copy_base_url)
        self.cannot_label = _wrapping("guideCannotCount")
        self.cannot_label.setTextFormat(Qt.TextFormat.RichText)
        self.cannot_label.linkActivated.connect(lambda _link: self.show_cannot(True))
        set_tone(self.cannot_label, "muted")
        self.unusable_label = _wrapping("guideUnusable")
        set_tone(self.unusable_label, "muted")  # readable (4.5:1): disabled grey was 2.5:1
        self.unusable_label.hide()
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.copy_base_url)
        copy_row.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(self.verdict_label)
        column.addWidget(self.text_label)
        column.addLayout(copy_row)
        column.addWidget(self.cannot_label)
        column.addWidget(self.unusable_label)
        column.addStretch(1)

    def initializePage(self) -> None:
        self._tasks.spawn(self.check(), what="check what can answer")

    def _copy_base_url(self) -> None:
        QGuiApplication.clipboard().setText(self.base_url)
        self.copy_base_url.setText("Copied")

    def show_cannot(self, shown: bool) -> None:
        """Unfold (or fold) the list of what cannot answer and why."""
        self.unusable_label.setVisible(shown and bool(self.unusable_label.text()))

    def _nothing_words(self) -> str:
        """Why nothing answers: a CLI that is installed but logged out says so and what to do
        (the second step showed it installed); a refused key or failing calls as the window's
        "No provider can answer" says them; else no usable key and no CLI."""
        fact = self._engine.answering.now()
        said = [words for _provider, words in fact.to_set_up]
        if not said:
            nothing = no_provider(self._engine, fact)
            if nothing is not None and fact.refused:
                return f"Nothing can answer yet: {nothing.fix}."
            failing = [v for v in provider_verdicts(self._engine) if v.failing]
            if failing:
                said = [
                    f"{v.name} refused its key"
                    if v.status == KEY_REFUSED
                    else f"{v.name} is failing"
                    for v in failing
                ]
                refused = any(v.status == KEY_REFUSED for v in failing)
                fix = "replace it on Provider keys" if refused else "the Providers page says why"
                return f"Nothing answers now: {'; '.join(said)} ({fix})."
            return NOTHING_CAN_ANSWER
        return (
            f"Nothing can answer yet: {'; '.join(said)}. Or store an API key on the first step "
            "and Test it; then the Providers page shows it Ready."
        )

    async def check(self) -> list[ProviderRow]:
        """Read every provider's row and say whether any can answer; the usable rows."""
        rows = await load_provider_rows(self._engine, {}, versions=False)
        # Those every other place counts as able to answer: a provider whose key was refused
        # is failing and answers nothing, whatever its status word.
        usable = answering_rows(rows, provider_verdicts(self._engine))
        if usable:
            self.setSubTitle("The gateway is running; point your coding tools at it.")
            names = ", ".join(row.name for row in usable)
            self.verdict_label.setText(f"Can answer now: {names}.")
            set_tone(self.verdict_label, "")
        else:
            self.setSubTitle("Nothing can answer yet.")
            self.verdict_label.setText(self._nothing_words())
            set_tone(self.verdict_label, "error")
        # The Providers page's count ("Show N more that cannot answer"), one list for both,
        # then those a switch, a resume or a new Test would bring back.
        cannot = cannot_answer(rows)
        held = [row for row in rows if not usable_row(row) and row not in cannot]
        counts = provider_counts((), rows)
        self.cannot_label.setText(cannot_summary(counts))
        self.cannot_label.setVisible(bool(counts.cannot or counts.held))
        self.unusable_label.setText(cannot_lines([*held, *cannot]))
        self.show_cannot(self.unusable_label.isVisible())
        return usable


def cannot_summary(counts: ProviderCounts) -> str:
    """`25 more cannot answer yet (12 not installed, 9 no API key, 4 not running); 1
    switched off. Show them`, as rich text whose link unfolds the list; "" for none. The
    count is the Providers page's (`counts.provider_counts`: what cannot answer whatever its
    switch says), then those kept from answering by a switch, the pause, a failed Test or a
    rest."""
    if not counts.cannot and not counts.held:
        return ""
    parts = []
    if counts.cannot:
        why = ", ".join(f"{n} {status}" for status, n in counts.cannot)
        parts.append(f"{counts.cannot_answer} more cannot answer yet ({why})")
    if counts.held:
        parts.append(", ".join(f"{n} {status}" for status, n in counts.held))
    return f'{escape("; ".join(parts))}. <a href="show">Show them</a>'


def cannot_lines(rows: Sequence[ProviderRow]) -> str:
    """Each provider that cannot answer, with what would fix it in the pages' words; the
    CLIs not installed on one line (the coding CLIs step has their install commands)."""
    missing = [row.name for row in rows if row.is_cli and row.status == "Not installed"]
    lines = [
        f"{row.name}: {unusable_reason(row)}"
        for row in rows
        if not (row.is_cli and row.status == "Not installed")
    ]
    if missing:
        lines.append(
            "Not installed (the coding CLIs step has their install commands): " + ", ".join(missing)
        )
    return "\n".join(lines)
