"""The main window: where the gateway listens, whether it runs, the provider switches, and who
may call it (with revocation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop import __version__
from llmgw_desktop.ui.access_panel import AccessPanel
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.icons import app_icon
from llmgw_desktop.ui.qt import (
    QCheckBox,
    QCloseEvent,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)

__all__ = ["MainWindow", "WindowFacts"]

STATUS_REFRESH_MS = 1000
NOTICE_MS = 6000


@dataclass(frozen=True)
class WindowFacts:
    """What the window shows that does not change while it is open."""

    endpoint: str
    health_url: str
    data_dir: Path
    log_file: Path


def format_uptime(seconds: float) -> str:
    """`3h 04m`, `12m 05s` or `42s`: short enough for a status line."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


class MainWindow(QMainWindow):
    """Endpoint, engine status and provider switches; the menu bar holds the gateway actions."""

    def __init__(
        self,
        bridge: EngineBridge,
        actions: GatewayActions,
        facts: WindowFacts,
        *,
        close_quits: bool,
        on_quit: Callable[[], None],
    ) -> None:
        super().__init__()
        self._bridge = bridge
        self._engine = bridge.engine
        self._close_quits = close_quits
        self._on_quit = on_quit
        self.setWindowTitle("llmgw-desktop")
        self.setWindowIcon(app_icon())
        self.menuBar().addMenu(actions.build_menu("&Gateway", self))

        self.status_label = QLabel()
        self.status_label.setObjectName("engineStatus")
        self.endpoint_label = QLabel(facts.endpoint)
        self.endpoint_label.setObjectName("endpoint")
        self.endpoint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the MCP endpoint to the clipboard")
        copy.clicked.connect(actions.copy_endpoint.trigger)
        endpoint_row = QHBoxLayout()
        endpoint_row.addWidget(self.endpoint_label, 1)
        endpoint_row.addWidget(copy)

        gateway = QGroupBox("Gateway")
        form = QFormLayout(gateway)
        form.addRow("Status", self.status_label)
        form.addRow("MCP endpoint", endpoint_row)
        form.addRow("Health", _selectable(facts.health_url))
        form.addRow("Data", _selectable(str(facts.data_dir)))
        form.addRow("Log", _selectable(str(facts.log_file)))

        providers = QGroupBox("Providers")
        provider_column = QVBoxLayout(providers)
        self.provider_boxes: dict[str, QCheckBox] = {}
        for provider_id, action in actions.providers.items():
            box = QCheckBox(action.text())
            box.setObjectName(f"providerBox:{provider_id}")
            box.setChecked(action.isChecked())
            box.toggled.connect(action.setChecked)
            action.toggled.connect(box.setChecked)
            provider_column.addWidget(box)
            self.provider_boxes[provider_id] = box
        pause = QCheckBox("Pause all providers")
        pause.setChecked(actions.pause_all.isChecked())
        pause.toggled.connect(actions.pause_all.setChecked)
        actions.pause_all.toggled.connect(pause.setChecked)
        provider_column.addSpacing(6)
        provider_column.addWidget(pause)

        self.access = AccessPanel(self._engine.auth)

        header = QLabel(f"<b>llmgw-desktop</b> {__version__}")
        central = QWidget()
        column = QVBoxLayout(central)
        column.addWidget(header)
        column.addWidget(gateway)
        column.addWidget(providers)
        column.addWidget(self.access)
        column.addStretch(1)
        self.setCentralWidget(central)
        self.resize(640, 640)

        bridge.engineStateChanged.connect(lambda _state: self.refresh_status())
        bridge.pauseChanged.connect(lambda _paused: self.refresh_status())
        bridge.notice.connect(
            lambda _level, message: self.statusBar().showMessage(message, NOTICE_MS)
        )
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_status)
        self._timer.start()
        self.refresh_status()

    def refresh_status(self) -> None:
        """Redraw the status line from the engine (once a second at most)."""
        state = self._engine.state.value
        if state == "running":
            text = f"Running for {format_uptime(self._engine.uptime_seconds)}"
            if self._engine.paused:
                text += " (all providers paused)"
        else:
            text = state.capitalize()
        self.status_label.setText(text)

    def bring_forward(self) -> None:
        """Show, un-minimise and raise the window (a second launch or the tray asked)."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_quits:
            event.ignore()
            self._on_quit()
        else:
            # With a tray icon the gateway keeps serving; the tray brings the window back.
            event.ignore()
            self.hide()


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
