"""The Flight recorder's detail: the chosen request as a form, a heading with its status, and
its actions.

The form is one two-column table (labels in the muted tone, values aligned in one column
however long a label is, a wrapped value staying in its column) built from the request's
sections (`recorder_words.detail_sections`). Its first line is the Result ("completed · HTTP
200"), in the request's status colour and glyph; an Error section appears only when it failed.
A prompt or an answer is kept as written, wrapped. The heading carries the status badge beside
the request's id; the actions (replay, copy as curl) sit on a row under it, the page's to fill.
The form is the first of the card's tabs; a request whose bodies were kept adds them as tabs
beside it (`add_tab`, `show_tabs`), so the pane holds one box at its full height (the form and
two bodies stacked were three boxes of about 90 px, the form's rows cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from llmgw_desktop.ui.badge import STATUS_KINDS, StatusBadge, glyph_html, state_kind
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.text import heading
from llmgw_desktop.ui.pages.recorder_words import DetailSection
from llmgw_desktop.ui.qt import QHBoxLayout, Qt, QTabWidget, QTextBrowser, QVBoxLayout, QWidget
from llmgw_desktop.ui.theme import current_look

__all__ = ["LABEL_COLUMN_PX", "RecorderDetail", "detail_html"]

LABEL_COLUMN_PX = 92  # the labels' column: "Stable prefix" at the usual font sizes


def detail_html(sections: Sequence[DetailSection], state: str = "") -> str:
    """The request's sections (its first section's title is the heading's, not here) as one
    aligned two-column table, in the look in use."""
    look = current_look()
    rows: list[str] = []
    for number, section in enumerate(sections):
        if number:
            rows.append(
                f'<tr><td colspan="2" style="padding-top: {SPACE["m"]}px;">'
                f"<b>{escape(section.title)}</b></td></tr>"
            )
        for row in section.rows:
            colour = look.tone(row.tone) if row.tone else look.window_text
            value = escape(row.value)
            if row.label == "Result" and state:
                kind = STATUS_KINDS[state_kind(state)]
                value = glyph_html(kind.glyph) + value
            if row.whole:
                # Never broken (an id cut mid-way reads as two): its own line, fixed width.
                rows.append(
                    f'<tr><td colspan="2" style="color: {look.muted};">{escape(row.label)}'
                    f'<br><span style="font-family: monospace; white-space: nowrap; '
                    f'color: {colour};">{value}</span></td></tr>'
                )
            elif row.block:
                rows.append(
                    f'<tr><td colspan="2"><p style="white-space: pre-wrap; color: {colour};">'
                    f"{value}</p></td></tr>"
                )
            elif row.label:
                rows.append(
                    f'<tr><td width="{LABEL_COLUMN_PX}" valign="top" style="color: '
                    f'{look.muted};">{escape(row.label)}</td>'
                    f'<td valign="top" style="color: {colour};">{value}</td></tr>'
                )
            else:
                rows.append(
                    f'<tr><td></td><td valign="top" style="color: {colour};">{value}</td></tr>'
                )
    return f'<table width="100%" cellspacing="0" cellpadding="2">{"".join(rows)}</table>'


class RecorderDetail(QWidget):
    """Heading and badge, an actions row, and the form (`text`, read-only, Tab leaves it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recorderDetailCard")
        self.heading = heading("")
        self.heading.setObjectName("recorderDetailHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = StatusBadge()
        top = QHBoxLayout()
        top.setSpacing(SPACE["s"])
        top.addWidget(self.heading, 1)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(SPACE["s"])
        self.text = QTextBrowser()
        self.text.setObjectName("recorderDetail")
        self.text.setAccessibleName("The request's details")
        self.text.setOpenLinks(False)
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText("The newest request's timings, route and prompt show here.")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("recorderDetailTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.text, "Details")
        self._show_bar(False)  # one tab: no bar until bodies add theirs
        column = self._column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(SPACE["s"])
        column.addLayout(top)
        column.addLayout(self.action_row)
        column.addWidget(self.tabs, 1)
        self._shown: tuple[list[DetailSection], str] | None = None

    def add_line(self, widget: QWidget) -> None:
        """A line between the actions and the tabs (what the request's bodies kept)."""
        self._column.insertWidget(self._column.indexOf(self.tabs), widget)

    def add_tab(self, page: QWidget, title: str, tip: str = "") -> None:
        """A tab beside the form, shown only while `show_tabs(True)`; `tip` on hover."""
        index = self.tabs.addTab(page, title)
        self.tabs.setTabToolTip(index, tip)
        self.tabs.setTabVisible(index, False)

    def show_tabs(self, shown: bool) -> None:
        """Show the tabs beside the form (the request's kept bodies), or the form alone."""
        for index in range(1, self.tabs.count()):
            self.tabs.setTabVisible(index, shown)
        if not shown:
            self.tabs.setCurrentIndex(0)
        self._show_bar(shown)

    def _show_bar(self, shown: bool) -> None:
        # A hidden bar takes no Tab stop either: the tab widget hands its focus to the bar,
        # and handed to a hidden one the focus stuck on the pane.
        bar = self.tabs.tabBar()
        bar.setVisible(shown)
        policy = Qt.FocusPolicy.TabFocus if shown else Qt.FocusPolicy.NoFocus
        bar.setFocusPolicy(policy)
        self.tabs.setFocusPolicy(policy)

    def show_sections(self, sections: list[DetailSection], state: str) -> None:
        """Show a request: its first section's title as the heading, its state as the badge,
        the rest as the form."""
        self._shown = (sections, state)
        self.heading.setText(sections[0].title if sections else "")
        self.badge.set_status(state_kind(state), state)
        self.text.setHtml(detail_html(sections, state))

    def show_words(self, title: str, words: str) -> None:
        """Show a line of words instead of a request (one no longer recorded)."""
        self._shown = None
        self.heading.setText(title)
        self.badge.set_status("unknown", "")
        self.text.setPlainText(words)

    def restyle(self) -> None:
        """Draw the form again in the look now in use (the system switched looks)."""
        if self._shown is not None:
            self.show_sections(*self._shown)
