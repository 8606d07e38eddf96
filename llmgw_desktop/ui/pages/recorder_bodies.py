"""The recorder detail's kept bodies: request over response, "Copy as curl", Export.

Shown only for a request whose bodies `recorder.capture` kept (redacted when they were written).
The panel is the line above them (what was kept, Export); the two bodies are the detail card's
tabs beside the form (`request_view`, `response_view`, placed by the page), each wrapped to the
pane's width: nothing in them can widen the pane past the window (side by side, a long JSON
line pushed the pane's status pill and buttons off its right edge).
The curl command sends the request again to this gateway's own URL; the credential is a shell
variable (`$LLMGW_TOKEN`) the person sets, never a real secret: none is stored to put there.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

from llmgw_desktop.engine.api import DIALECT_ANTHROPIC, DIALECT_GEMINI, KeptBodies
from llmgw_desktop.ui.qt import (
    QFileDialog,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTextOption,
    QVBoxLayout,
    QWidget,
)

__all__ = ["TOKEN_PLACEHOLDER", "BodiesPanel", "curl_command", "pretty_body"]

TOKEN_PLACEHOLDER = "$LLMGW_TOKEN"  # noqa: S105 - a shell variable named in the command, no secret
# A kept body is at most `recorder.capture.max_body_bytes`; the panes show this much of it.
SHOWN_BODY_MAX = 200_000
BODY_MIN_WIDTH = 120  # px: a body pane never asks for more, so it never widens the detail


def curl_command(bodies: KeptBodies, base_url: str) -> str:
    """A shell command that sends the kept request to the gateway at `base_url` again, the
    credential left as `$LLMGW_TOKEN` in the header the request's dialect reads."""
    if bodies.dialect == DIALECT_ANTHROPIC:
        auth = f"x-api-key: {TOKEN_PLACEHOLDER}"
    elif bodies.dialect == DIALECT_GEMINI:
        auth = f"x-goog-api-key: {TOKEN_PLACEHOLDER}"
    else:
        auth = f"Authorization: Bearer {TOKEN_PLACEHOLDER}"
    lines = []
    if bodies.request_cut:
        lines.append(
            f"# The request was cut when it was kept ({bodies.request_cut:,} characters "
            "missing): it will not be accepted as it is."
        )
    url = base_url.rstrip("/") + bodies.endpoint
    parts = [f"curl {shlex.quote(url)}"]
    if bodies.stream:
        parts.append("-N")
    # Double quotes, so the shell fills in the variable; the rest is quoted as data.
    parts.append(f'-H "{auth}"')
    parts.append("-H 'content-type: application/json'")
    for name, value in sorted(bodies.headers.items()):
        parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    parts.append("--data-binary @- <<'LLMGW_BODY'")
    lines.append(" \\\n  ".join(parts))
    lines.append(bodies.request)
    lines.append("LLMGW_BODY")
    return "\n".join(lines)


def pretty_body(text: str, cut: int) -> str:
    """A body as a pane shows it: JSON indented when it parses, else as kept."""
    if not cut:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text if len(text) <= SHOWN_BODY_MAX else text[:SHOWN_BODY_MAX] + "\n…"


class BodiesPanel(QWidget):
    """What was kept, with Copy as curl and Export (hidden when none); the bodies' panes."""

    def __init__(self, base_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recorderBodies")
        self._base_url = base_url
        self._bodies: KeptBodies | None = None
        self.request_view = _pane("recorderRequestBody", "Request body")
        self.response_view = _pane("recorderResponseBody", "Response body")
        self.title = QLabel()
        self.title.setObjectName("recorderBodiesTitle")
        self.title.setWordWrap(True)
        self.curl_button = QPushButton("Copy as &curl")
        self.curl_button.setObjectName("recorderCopyCurl")
        self.curl_button.setToolTip(
            f"Copy a curl command that sends this request to the gateway again; set "
            f"{TOKEN_PLACEHOLDER} to your master token or a gateway key first."
        )
        self.curl_button.clicked.connect(self.copy_curl)
        self.export_button = QPushButton("E&xport bodies…")
        self.export_button.setObjectName("recorderExportBodies")
        self.export_button.clicked.connect(self.open_export_dialog)
        self.note = QLabel()
        self.note.setObjectName("recorderBodiesNote")
        self.note.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.curl_button, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.note)
        self.setVisible(False)

    @property
    def bodies(self) -> KeptBodies | None:
        return self._bodies

    def show_bodies(self, bodies: KeptBodies | None) -> None:
        """Show `bodies` (None hides the panel)."""
        self._bodies = bodies
        self.note.clear()
        if bodies is None:
            self.request_view.clear()
            self.response_view.clear()
            self.setVisible(False)
            return
        kind = "the streamed events" if bodies.stream else "the answer"
        self.title.setText("Bodies kept, secrets redacted")
        self.title.setToolTip(f"{bodies.endpoint}: the request, and as the response {kind}")
        self.request_view.setPlainText(pretty_body(bodies.request, bodies.request_cut))
        self.response_view.setPlainText(pretty_body(bodies.response, bodies.response_cut))
        self.setVisible(True)

    def curl(self) -> str:
        """The curl command for the bodies shown ("" when none)."""
        return "" if self._bodies is None else curl_command(self._bodies, self._base_url)

    def copy_curl(self) -> None:
        command = self.curl()
        if not command:
            return
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(command)
        self.note.setText(
            f"Copied. Set {TOKEN_PLACEHOLDER} to your master token or a gateway key to run it."
        )

    def open_export_dialog(self) -> QFileDialog | None:
        """Ask where to write the bodies as JSON, without a nested event loop."""
        if self._bodies is None:
            return None
        dialog = QFileDialog(self, "Export the request's bodies")
        dialog.setObjectName("recorderExportBodiesDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON (*.json)"])
        dialog.setDefaultSuffix("json")
        dialog.setDirectory(str(Path.home()))
        dialog.selectFile(time.strftime(f"llmgw-request-{self._bodies.record_id[:8]}.json"))
        dialog.fileSelected.connect(self.export_to)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def export_to(self, path: str) -> None:
        """Write the bodies shown to `path` as one JSON object (small: written at once)."""
        if self._bodies is None:
            return
        target = Path(path)
        try:
            # Small (two capped bodies): written at once, as the export file the person named.
            text = json.dumps(self._bodies.as_json(), indent=2, ensure_ascii=False)
            target.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            self.note.setText(f"Could not export to {target}: {exc.strerror or exc}")
            return
        self.note.setText(f"Exported to {target}")


def _pane(name: str, placeholder: str) -> QPlainTextEdit:
    pane = QPlainTextEdit()
    pane.setObjectName(name)
    pane.setReadOnly(True)
    pane.setPlaceholderText(placeholder)
    pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    # A JSON string with no space in it (a long id, a path) still breaks at the pane's edge.
    pane.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    pane.setMinimumWidth(BODY_MIN_WIDTH)
    return pane
