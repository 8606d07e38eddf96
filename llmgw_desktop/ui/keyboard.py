"""Keyboard rules every page follows, applied once by the window rather than page by page.

Tab moves between controls: a table's own Tab-between-cells (`tabKeyNavigation`, on by default
in `QTableView`) trapped the focus, so 60 presses never left the Jobs table. In a table the
arrow keys move between rows and cells; Tab and Shift+Tab leave it.
"""

from __future__ import annotations

from llmgw_desktop.ui.qt import QAbstractItemView, QWidget

__all__ = ["let_tab_leave_tables"]


def let_tab_leave_tables(root: QWidget) -> int:
    """Make Tab leave every item view under `root` (tables, trees, lists); how many."""
    views = root.findChildren(QAbstractItemView)
    for view in views:
        view.setTabKeyNavigation(False)
    return len(views)
