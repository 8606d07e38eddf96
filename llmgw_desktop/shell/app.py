"""Composition root of the desktop app: Qt and asyncio in one loop (qasync), the gateway inside.

Build order: QApplication, event loop, runtime (engine + front doors), bridge, actions,
window, tray. Shutdown runs the other way: the UI lets go of the engine, then the runtime
stops its front doors and the engine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import (
    ApprovalGate,
    ConsentQueue,
    PendingApproval,
    PendingConsent,
    SecretQuestion,
    SecretQuestions,
    StoreError,
)
from llmgw_desktop.shell.autostart import Autostart, autostart_for_platform
from llmgw_desktop.shell.banner import print_banner
from llmgw_desktop.shell.cli.messages import fail, port_in_use_message
from llmgw_desktop.shell.exit_codes import rows_lost_at_stop
from llmgw_desktop.shell.headless import install_stop_signals, say_refused_keys
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.logging_setup import LOG_FILE_NAME
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.shell.start_problems import ScratchStore, settle_store_error, settle_vault
from llmgw_desktop.transports.http_server import PortInUse, find_free_port
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.approvals import DeskApprovals, provider_words, who_asks
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.consent import DeskConsent
from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.first_run import FirstRunGuide, guide_due
from llmgw_desktop.ui.gc_guard import GuiThreadCollector
from llmgw_desktop.ui.icons import app_icon
from llmgw_desktop.ui.main_window import MainWindow, WindowFacts
from llmgw_desktop.ui.qt import QApplication, QMessageBox, QSystemTrayIcon, QTimer, QWidget
from llmgw_desktop.ui.secret_questions import DeskSecrets
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import follow_system_theme
from llmgw_desktop.ui.tray import TrayIcon

__all__ = ["DesktopApp", "run_desktop"]

log = logging.getLogger(__name__)

# When start-up's objects are frozen out of the collector's walks: after the window's first
# paint and the Overview's charts (built 50 ms after it is shown).
FREEZE_AFTER_MS = 1000


def run_desktop(loaded: LoadedSettings, lock: InstanceLock, *, hidden: bool = False) -> int:
    """Run the desktop app until Quit, SIGINT or SIGTERM; the process exit code. `hidden`
    starts it in the tray only (a login start), as `ui.start_hidden` does. A database that
    cannot be opened, or a vault that stays locked, is asked about in a dialog
    (`start_problems.py`)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("llmgw-desktop")
    app.setWindowIcon(app_icon())
    follow_system_theme(app)
    loop = GatewayEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(DesktopApp(loaded, lock, hidden=hidden).run()))
    finally:
        asyncio.set_event_loop(None)


class DesktopApp:
    """Owns the runtime and the widgets for one run of the desktop app."""

    def __init__(
        self,
        loaded: LoadedSettings,
        lock: InstanceLock,
        *,
        hidden: bool = False,
        autostart: Autostart | None = None,
    ) -> None:
        self._loaded = loaded
        self._lock = lock
        self._hidden = hidden
        # The OS's start-at-login switch, shown in Settings and the tray.
        self.autostart = autostart if autostart is not None else autostart_for_platform()
        self._quit: asyncio.Event | None = None
        self._collector: GuiThreadCollector | None = None
        # The temporary database of a session whose own could not be opened (none until then).
        self._scratch = ScratchStore()
        # What the start asks of the person once the window is up (a locked vault).
        self._checks = UiTasks()
        self.window: MainWindow | None = None
        self.tray: TrayIcon | None = None
        self.runtime: GatewayRuntime | None = None
        self.actions: GatewayActions | None = None
        self.approvals: DeskApprovals | None = None
        self.consent: DeskConsent | None = None
        self.secrets: DeskSecrets | None = None
        self.guide: FirstRunGuide | None = None

    def request_quit(self) -> None:
        if self._quit is not None:
            self._quit.set()

    async def run(self) -> int:
        """Start the gateway, show the UI, serve until asked to quit; the exit code."""
        # The tray keeps the app alive with no window open, and a closing dialog must not end
        # the loop: quitting is always an explicit request that goes through shutdown.
        QApplication.setQuitOnLastWindowClosed(False)
        self._quit = asyncio.Event()
        # Cyclic garbage is collected on this (the GUI) thread only: see ui/gc_guard.py.
        self._collector = GuiThreadCollector()
        try:
            return await self._serve()
        finally:
            self._collector.stop()
            self._scratch.remove()

    async def _serve(self) -> int:
        assert self._quit is not None
        runtime = await self._start_runtime()
        if isinstance(runtime, int):
            return runtime  # the exit code of a start given up
        self.runtime = runtime
        bridge = EngineBridge(runtime.engine)
        self._build_ui(runtime, bridge)
        bridge.tell_unheard()  # what the engine told while it started, before the desk was
        if self._collector is not None:
            # After the first paint and the charts, not before, so they are frozen too; the
            # MCP SDK, if it loads later, is frozen when it has
            # (`gc_tuning.freeze_late_arrivals`).
            QTimer.singleShot(FREEZE_AFTER_MS, self._collector.freeze_startup_objects)
        self.approvals = _NotifyingApprovals(runtime.engine.approvals, self.window, self.tray)
        self.consent = _NotifyingConsent(runtime.engine.consent, self.window, self.tray)
        self.secrets = _NotifyingSecrets(runtime.engine.guard.questions, self.window, self.tray)
        if self.window is not None:
            self.window.watch_questions([self.approvals, self.consent, self.secrets])
        install_stop_signals(asyncio.get_running_loop(), self._quit)
        # The terminal a person started it from says what the headless banner says.
        shown = self.window is not None and self.window.isVisible()
        running = "running, its window open" if shown else "running in the tray"
        self._checks.spawn(print_banner(runtime, running), what="print what answers")
        # A vault that stays locked is said in a dialog once its opening ends (off this path).
        self._checks.spawn(
            settle_vault(runtime.engine.vault, self._loaded.settings.data_path, self.request_quit),
            what="check the vault",
        )
        log.info("desktop app ready (tray: %s)", QSystemTrayIcon.isSystemTrayAvailable())
        try:
            await self._quit.wait()
        finally:
            self._checks.cancel_all()
            if self.approvals is not None:
                self.approvals.detach()
            if self.consent is not None:
                self.consent.detach()
            if self.secrets is not None:
                self.secrets.detach()
            bridge.detach()
            if self.tray is not None:
                self.tray.hide()
            if self.guide is not None:
                self.guide.tasks.cancel_all()
                self.guide.hide()
            if self.window is not None:
                self.window.hide()
                # A page's refresh may still be waiting on the engine (a CLI version check):
                # cancelled now, it ends while the runtime stops instead of outliving the loop.
                for page in self.window.built_pages():
                    page.tasks.cancel_all()
            await runtime.stop()
        return rows_lost_at_stop(runtime.engine.recorder.lost_at_stop)

    async def _start_runtime(self, port: int | None = None) -> GatewayRuntime | int:
        """The runtime, started (the person asked what to do about a taken port or a database
        that cannot be opened); else the exit code to end with."""
        runtime = GatewayRuntime(
            self._loaded,
            mode="desktop",
            lock=self._lock,
            on_activate=self._on_second_launch,
            on_quit=self.request_quit,
            port=port,
        )
        say_refused_keys(runtime)  # before the start, which reads the model lists
        try:
            await runtime.start()
        except PortInUse as exc:
            settings = self._loaded.settings
            free = find_free_port(settings.http.host, exc.port + 1)
            if free is not None and await self._ask_use_port(exc.port, free):
                return await self._start_runtime(free)
            return port_in_use_message(exc, settings.http.host)
        except StoreError as exc:
            loaded = await settle_store_error(str(exc), self._loaded, self._scratch)
            if loaded is None:
                return fail(str(exc))
            self._loaded = loaded
            return await self._start_runtime(port)
        return runtime

    async def _ask_use_port(self, taken: int, free: int) -> bool:
        """Offer the next free port without a nested event loop: await the dialog's answer."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "llmgw-desktop",
            f"Port {taken} is already used by another program.\n\n"
            f"Start the gateway on port {free} for this session? Tools configured with the "
            f"old endpoint will need the new one. (Set http.port in config.toml to keep it.)",
        )
        use = box.addButton(f"Use port {free}", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_finished(_result: int) -> None:
            if not answered.done():
                answered.set_result(box.clickedButton())

        box.finished.connect(on_finished)
        box.open()
        return bool(await answered == use)

    def _build_ui(self, runtime: GatewayRuntime, bridge: EngineBridge) -> None:
        settings = self._loaded.settings
        has_tray = QSystemTrayIcon.isSystemTrayAvailable()
        actions = GatewayActions(
            bridge,
            endpoint=lambda: runtime.mcp_url,
            open_dashboard=lambda: self.window.bring_forward() if self.window else None,
            quit_app=self.request_quit,
        )
        self.window = MainWindow(
            bridge,
            actions,
            WindowFacts(
                endpoint=runtime.mcp_url,
                health_url=runtime.base_url + "/health",
                data_dir=settings.data_path,
                log_file=settings.log_path / LOG_FILE_NAME,
                loaded_settings=self._loaded,
                autostart=self.autostart,
            ),
            close_quits=not has_tray,
            on_quit=actions.request_quit,  # asks first while jobs are running
        )
        actions.set_pages(dict(self.window.page_titles), self._open)
        # Built with or without a tray (GNOME's default has none): it decides what is news (a
        # provider failing, a job stuck or done, a question waiting), which the notification
        # history keeps either way; only its icon and balloons need the tray.
        self.tray = TrayIcon(
            bridge,
            actions,
            runtime.mcp_url,
            autostart=self.autostart,
            spend=self.window.header,  # the menu's spend line is the header chip's figure
        )
        self.tray.set_quiet_hours(settings.ui.quiet_hours)  # checked when loaded
        self.tray.shown.connect(self.window.notifications.record)
        self.tray.opened.connect(self._open_place)
        self.window.settingSaved.connect(self._setting_saved)
        if has_tray:
            self.tray.show()
        self.window.guide_action.triggered.connect(self.open_guide)
        if not (has_tray and (settings.ui.start_hidden or self._hidden)):
            self.window.show()
            # First launch: the guide, over the window. A launch into the tray waits for one
            # with a window, since a guide nobody sees would be marked done when closed.
            if guide_due(settings.data_path):
                self.open_guide()
        self.actions = actions  # parentless QObjects: keep them referenced while the app runs

    def open_guide(self) -> None:
        """Show the first-run guide (again, from the Help menu); one at a time."""
        if self.runtime is None or self.window is None:
            return
        if self.guide is not None and self.guide.isVisible():
            self.guide.raise_()
            self.guide.activateWindow()
            return
        window = self.window
        self.guide = FirstRunGuide(
            self.runtime.engine,
            endpoint=self.runtime.mcp_url,
            data_dir=self._loaded.settings.data_path,
            on_finish=lambda: window.show_page("connect"),
            parent=window,
        )
        self.guide.show()  # not modal: an approval or consent question may come meanwhile

    def _open(self, page: str) -> None:
        if self.window is not None:
            self.window.show_page(page)
            self.window.bring_forward()

    def _open_place(self, place: str, detail: str) -> None:
        """A notification was clicked: the window, at the place it is about."""
        if self.window is not None:
            self.window.bring_forward()
            self.window.open_place(place, detail)

    def _setting_saved(self, key: str, value: object) -> None:
        if key == "ui.quiet_hours" and self.tray is not None:
            self.tray.set_quiet_hours(str(value))  # checked before it was saved

    def _on_second_launch(self) -> str:
        log.info("a second launch asked for the window; bringing it forward")
        if self.window is not None:
            self.window.bring_forward()
        return "desktop"


class _NotifyingApprovals(DeskApprovals):
    """The desk approval dialog plus a tray message: the window may be hidden in the tray."""

    def __init__(self, gate: ApprovalGate, window: QWidget | None, tray: TrayIcon | None) -> None:
        super().__init__(gate, window)
        self._tray = tray

    def show(self, pending: PendingApproval) -> None:
        super().show(pending)
        if self._tray is not None:
            request = pending.request
            self._tray.notify_waiting(
                "Approval needed",
                f"{who_asks(request.caller, request.principal)} asks "
                f"{provider_words(request.provider)}: "
                "the call waits for your approval.",
                question=pending.id,
            )


class _NotifyingConsent(DeskConsent):
    """The desk consent dialog plus a tray message: the window may be hidden in the tray."""

    def __init__(self, queue: ConsentQueue, window: QWidget | None, tray: TrayIcon | None) -> None:
        super().__init__(queue, window)
        self._tray = tray

    def show(self, pending: PendingConsent) -> None:
        super().show(pending)
        if self._tray is not None:
            self._tray.notify_waiting(
                "Access requested",
                f"{pending.request.client_name} asks for access to the gateway.",
                question=pending.id,
            )


class _NotifyingSecrets(DeskSecrets):
    """The desk's secret question plus a tray message: the window may be hidden in the tray."""

    def __init__(
        self, questions: SecretQuestions, window: QWidget | None, tray: TrayIcon | None
    ) -> None:
        super().__init__(questions, window)
        self._tray = tray

    def show(self, question: SecretQuestion) -> None:
        super().show(question)
        if self._tray is not None:
            self._tray.notify_waiting(
                "Secrets in a request",
                f"{who_asks(question.caller, question.principal)}'s request to "
                f"{question.provider} holds secrets: it waits for your answer.",
                question=question.id,
            )
