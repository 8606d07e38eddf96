"""The chosen MCP server's tools to review, in its details: each tool changed since it was
pinned or added since its server's tools were approved (withheld until approved, with the
difference from what was approved) or flagged for its description (an instruction to the model,
characters no reader sees: withheld from remote callers), and one Approve for them.

The engine decides (`engine.upstream_mcp.tool_reviews`, `approve_tools`); this panel shows and
asks. Hidden when there is nothing to review.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import ToolReview
from llmgw_desktop.ui.kit.master_detail import value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.qt import QFontDatabase, QPlainTextEdit, QVBoxLayout, QWidget
from llmgw_desktop.ui.theme import set_tone

__all__ = ["ToolReviewPanel", "review_text"]


def review_text(reviews: list[ToolReview]) -> str:
    """What the panel's pane shows: per tool, what is wrong, then the difference."""
    blocks = []
    for review in reviews:
        head = review.said
        if review.withheld:
            head += " (withheld until approved)"
        lines = [head, *(f"  flagged: {flag}" for flag in review.flags)]
        if review.diff:
            lines.append(review.diff)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class ToolReviewPanel(QWidget):
    """The tools of one server to review, and its Approve button (the page wires it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mcpToolReview")
        self.summary = value_label("mcpToolReviewSummary")
        set_tone(self.summary, "warning")
        self.view = QPlainTextEdit()
        self.view.setObjectName("mcpToolReviewDiff")
        self.view.setAccessibleName("The tools to review, and what changed")
        self.view.setReadOnly(True)
        self.view.setTabChangesFocus(True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setMinimumHeight(120)
        self.approve_button = action_button(
            "Approve",
            "mcpToolApprove",
            icon="approval",
            tip="Offer these tools as they are now; the difference above is what you approve",
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.view)
        layout.addWidget(self.approve_button)
        self.setVisible(False)

    def show_reviews(self, reviews: list[ToolReview]) -> None:
        """Show `reviews` (none: the panel hides)."""
        self.setVisible(bool(reviews))
        if not reviews:
            return
        withheld = sum(r.withheld for r in reviews)
        words = f"{len(reviews)} tool{'s' if len(reviews) != 1 else ''} to review"
        self.summary.setText(f"{words}, {withheld} withheld" if withheld else words)
        text = review_text(reviews)
        if self.view.toPlainText() != text:
            self.view.setPlainText(text)
        self.approve_button.setEnabled(withheld > 0)
