"""The MCP servers page's words and details card: a server's state as a badge, in full words,
what it offers, its switch (named "On", as the list's column, and drawn as the same switch),
its Test and Sign in, and the tail of its stderr: "Server output (stderr)", since a server
writes its ordinary log there, not only errors ("Error output" made "Starting default (STDIO)
server..." read as a failure)."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.qt import (
    QFontDatabase,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = [
    "ON_LABEL",
    "STDERR_LABEL",
    "McpServerDetail",
    "state_kind",
    "state_short",
    "state_words",
]

ON_LABEL = "On"  # the switch's one name: the list's column and the details' row
STDERR_LABEL = "Server output (stderr)"

# A server's state -> (the badge kind, the list's word for it).
_STATES = {
    "running": ("ok", "running"),
    "starting": ("busy", "starting"),
    "idle": ("unknown", "not started"),
    "stopped": ("unknown", "stopped"),
    "disabled": ("off", "off"),
    "needs_sign_in": ("warning", "needs sign-in"),
    "failed": ("error", "failed"),
    "restarting": ("error", "failed, restarting"),
    # Found hung (a ping unanswered): calls to it are answered at once, while it is asked again.
    "not_answering": ("error", "not answering"),
}


def state_words(status: dict[str, Any]) -> str:
    """A server's state as the page says it in full (the details, the list's tooltip)."""
    state = _shown_state(status)
    if state == "idle":
        return "not started (starts at first use)"
    if state == "disabled":
        return "off"
    if state == "needs_sign_in":
        return "needs sign-in (OAuth): press Sign in and finish it in the browser"
    if state == "not_answering":
        words = str(status.get("error") or "not answering")  # says since when, and what next
    else:
        words = f"failed: {status.get('error') or 'it ended'}" if state == "failed" else state
        if state == "restarting":
            words = f"failed: {status.get('error') or 'it ended'}; starting it again"
    if status.get("stale"):
        words += "; offering what it listed last"
    left_out = status.get("leftOut") or {}
    if left_out:
        lists = ", ".join(f"{count}+ {kind}" for kind, count in sorted(left_out.items()))
        words += (
            f"; left out {lists} past the first {status.get('maxTools')} (mcp.max_tools_per_server)"
        )
    return words


def state_kind(status: dict[str, Any]) -> str:
    """The badge kind of a server's state."""
    return _STATES.get(_shown_state(status), ("unknown", ""))[0]


def state_short(status: dict[str, Any]) -> str:
    """The list's one or two words for a server's state (the details say the rest)."""
    state = _shown_state(status)
    return _STATES.get(state, ("unknown", state))[1]


def _shown_state(status: dict[str, Any]) -> str:
    """The state the page shows: a server failing since it last ran reads failed while it is
    restarted (a moment "starting" between failures read as if it were fine)."""
    state = str(status.get("state", ""))
    return "restarting" if state == "starting" and status.get("failing") else state


# The names listed in the details before "and N more".
NAMES_SHOWN = 12


def offers_words(status: dict[str, Any]) -> str:
    """`13 tools · 4 prompts · 9 resources`, then the tools and prompts by name."""
    parts = [(int(status["tools"]), "tool"), (int(status["prompts"]), "prompt")]
    parts.append((int(status["resources"]), "resource"))
    words = " · ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in parts)
    for key, kind in (("toolNames", "Tools"), ("promptNames", "Prompts")):
        # A name reads whole: its hyphens do not break (get-annotated-message).
        names = [str(n).replace("-", "\u2011") for n in status.get(key) or []]
        if names:
            more = len(names) - NAMES_SHOWN
            listed = ", ".join(names[:NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")
            words += f"\n{kind}: {listed}"
    return words


def starts_words(count: int) -> str:
    """`started once`, `started 3 times`, `not started yet`."""
    if count <= 0:
        return "not started yet"
    return "started once" if count == 1 else f"started {count} times"


class McpServerDetail(DetailCard):
    """The chosen server's facts, switch, Test, Sign in and stderr; the page wires them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("mcpServerDetail", parent)
        self.state_label = value_label("mcpServerSelected")
        self.offers_label = value_label("mcpServerOffers")
        self.transport_label = value_label("mcpServerTransport")
        # On the line of its label: a long text wrapped the switch under "Switch".
        self.switch = Switch("on this gateway's /mcp")
        self.switch.setObjectName("mcpServerSwitch")
        self.switch.setToolTip("Offer this server's tools, prompts and resources on /mcp")
        self.test_button = action_button(
            "Test",
            "mcpServerTest",
            icon="test",
            tip="Connect to the server, list what it offers, and say so",
        )
        self.sign_in_button = action_button(
            "Sign in",
            "mcpServerSignIn",
            icon="open",
            tip="Open the server's sign-in page in the browser; the gateway catches its answer",
        )
        self.sign_in_button.setVisible(False)
        self.test_label = value_label("mcpServerTestResult")
        test_row = QHBoxLayout()
        test_row.setSpacing(SPACE["m"])  # the result reads apart from the button it follows
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_label, 1)
        self.stderr_view = QPlainTextEdit()
        self.stderr_view.setObjectName("mcpServerStderr")
        self.stderr_view.setReadOnly(True)
        self.stderr_view.setTabChangesFocus(True)
        self.stderr_view.setPlaceholderText("The server's stderr (the last few KiB) shows here.")
        self.stderr_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.stderr_view.setMinimumHeight(140)
        self.remove_button = action_button(
            "Remove…",
            "mcpServerRemove",
            icon="remove",
            tip="Stop the server and remove it from config.toml",
        )
        self.add_row("State", self.state_label)
        self.add_row(ON_LABEL, self.switch)
        self.add_row("Test", test_row)
        self.add_row("Offers", self.offers_label)
        self.add_row("Transport", self.transport_label)
        # Its heading on a line of its own and the output the card's whole width: a long label
        # in the form's label column pushed every field under its label at 1024 px.
        self.stderr_heading = QLabel(STDERR_LABEL)
        self.stderr_heading.setObjectName("mcpServerStderrHeading")
        self.stderr_heading.setBuddy(self.stderr_view)
        set_tone(self.stderr_heading, "muted")
        self.stderr_view.setAccessibleName(STDERR_LABEL)
        self.form.addRow(self.stderr_heading)
        self.form.addRow(self.stderr_view)
        self.action_row.addStretch(1)
        self.action_row.addWidget(self.remove_button)

    def show_status(self, status: dict[str, Any], stderr: str) -> None:
        """Lay out one server's figures as the engine has them now."""
        name = str(status["name"])
        if self.heading.text() != name:
            self.heading.setText(name)
        self.badge.set_status(state_kind(status), state_short(status))
        words = f"{state_words(status)}; {starts_words(int(status['starts']))}"
        if self.state_label.text() != words:
            self.state_label.setText(words)
        set_tone(self.state_label, "error" if state_kind(status) == "error" else "")
        self.offers_label.setText(offers_words(status))
        self.transport_label.setText(str(status["transport"]))
        self.sign_in_button.setVisible(bool(status.get("needsSignIn")))
        if self.stderr_view.toPlainText() != stderr:
            self.stderr_view.setPlainText(stderr)
