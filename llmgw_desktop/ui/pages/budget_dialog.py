"""The Budgets page's dialog: one budget's scope, unit, period and limits, to add or change.

The dialog only reads what the person typed into a `[[budgets]]` table (`form_table`); the
page checks the whole new list as the file's would be and shows a refusal here, in the dialog,
which stays open to fix it (as the new-key dialog does).
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.pages.key_dialogs import answer_row
from llmgw_desktop.ui.qt import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone
from llmgw_desktop.ui.typed_number import typed_number

__all__ = ["SCOPE_KINDS", "BudgetDialog"]

SCOPE_KINDS = ("global", "agent", "project", "principal")
_VALUE_HINTS = {
    "global": "every call",
    "agent": "the agent's name, such as claude-code",
    "project": "the project's name",
    "principal": "oauth:<client id>, or * for each remote caller",
}


class BudgetDialog(QDialog):
    """Scope, unit, period, soft and hard limit of one budget; `form_table()` reads them."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"llmgw-desktop: {title}")
        self.setObjectName("budgetDialog")
        form = self._form()
        self.problem = QLabel()
        self.problem.setObjectName("budgetProblem")
        self.problem.setWordWrap(True)
        set_tone(self.problem, "error")
        self.problem.hide()
        self.save_button = action_button("Save", "saveBudget", primary=True)
        self.cancel_button, buttons = answer_row(self, "cancelBudget", self.save_button)
        column = QVBoxLayout(self)
        column.setSpacing(SPACE["m"])
        column.addLayout(form)
        column.addWidget(self.problem)
        column.addLayout(buttons)
        self._scope_changed(self.scope_box.currentText())

    def _form(self) -> QFormLayout:
        """The budget's fields: what it applies to, what it counts, its period and limits."""
        self.scope_box = QComboBox()
        self.scope_box.setObjectName("budgetScope")
        self.scope_box.addItems(list(SCOPE_KINDS))
        self.scope_edit = QLineEdit()
        self.scope_edit.setObjectName("budgetScopeValue")
        self.scope_edit.setMinimumWidth(240)
        self.scope_box.currentTextChanged.connect(self._scope_changed)
        self.unit_box = QComboBox()
        self.unit_box.setObjectName("budgetUnit")
        self.unit_box.addItems(["usd", "tokens"])
        self.period_box = QComboBox()
        self.period_box.setObjectName("budgetPeriod")
        self.period_box.addItems(["daily", "monthly"])
        self.soft_edit = QLineEdit()
        self.soft_edit.setObjectName("budgetSoft")
        self.soft_edit.setPlaceholderText("optional: the tray says so once")
        self.hard_edit = QLineEdit()
        self.hard_edit.setObjectName("budgetHard")
        self.hard_edit.setPlaceholderText("optional: new calls are refused")
        scope = QHBoxLayout()
        scope.setSpacing(SPACE["s"])
        scope.addWidget(self.scope_box)
        scope.addWidget(self.scope_edit, 1)
        form = QFormLayout()
        form.setHorizontalSpacing(SPACE["m"])
        form.addRow("Applies to", scope)
        form.addRow("Counts", self.unit_box)
        form.addRow("Period", self.period_box)
        form.addRow("Soft limit", self.soft_edit)
        form.addRow("Hard limit", self.hard_edit)
        return form

    def _scope_changed(self, kind: str) -> None:
        self.scope_edit.setEnabled(kind != "global")
        self.scope_edit.setPlaceholderText(_VALUE_HINTS.get(kind, ""))

    def show_table(self, table: dict[str, Any]) -> None:
        """Fill the fields from a `[[budgets]]` table (changing a budget)."""
        kind, _, value = str(table["scope"]).partition("=")
        self.scope_box.setCurrentText(kind)
        self.scope_edit.setText(value)
        self.unit_box.setCurrentText(str(table["unit"]))
        self.period_box.setCurrentText(str(table["period"]))
        self.soft_edit.setText(_number_text(table.get("soft")))
        self.hard_edit.setText(_number_text(table.get("hard")))

    def form_table(self) -> dict[str, Any]:
        """The budget the fields describe, as a `[[budgets]]` table (not checked yet)."""
        kind = self.scope_box.currentText()
        scope = kind if kind == "global" else f"{kind}={self.scope_edit.text().strip()}"
        table: dict[str, Any] = {
            "scope": scope,
            "unit": self.unit_box.currentText(),
            "period": self.period_box.currentText(),
        }
        for name, edit in (("soft", self.soft_edit), ("hard", self.hard_edit)):
            value: int | float | str | None
            try:
                value = typed_number(edit.text(), name)
            except ValueError:
                value = edit.text().strip()  # the check names it: "soft: 'abc' is not a number"
            if value is not None:
                table[name] = value
        return table

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
