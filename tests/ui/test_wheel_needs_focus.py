"""A wheel over a number box, a time box or a drop-down that does not have the focus scrolls the
page, never the control's value (person pass, 2026-11-30: scrolling the Settings page turned a
timeout from 120 s to 111 s and the secret guard's action from `warn` to `off`, each saved to
config.toml as it went). The rule is the app style's (`ui/control_style.py`), so every such
control of every page and dialog has it; here every one the Settings page makes is tried, and
beside them the legitimate path: a control with the focus still takes the wheel.

Qt hands a real (spontaneous) wheel event a control ignored on to its parent, which scrolls;
a test can only make non-spontaneous ones, so it checks the control ignored it.
"""

from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.control_style import WHEEL_CONTROLS
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.qt import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)
from llmgw_desktop.ui.theme import apply_theme
from tests.ui.input_events import wheel
from tests.ui.test_settings_page import (  # noqa: F401 - fixtures
    OnSettings,
    config,
    on_settings,
)
from tests.waiting import until


def _value(control: QWidget) -> object:
    if isinstance(control, QComboBox):
        return control.currentText()
    assert isinstance(control, QAbstractSpinBox)
    return control.text()


def test_the_wheel_turns_no_value_it_passes_over_on_the_settings_page(
    on_settings: OnSettings,  # noqa: F811
    config: Path,  # noqa: F811
) -> None:
    async def body(page: SettingsPage, engine: Engine) -> None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        apply_theme(app)  # the window's style, as the app gives it
        page.resize(1200, 900)
        page.show()
        controls = [c for c in page.findChildren(QWidget) if isinstance(c, WHEEL_CONTROLS)]
        assert len(controls) >= 10, controls  # the form's boxes and drop-downs
        before = {id(c): _value(c) for c in controls}
        text = config.read_text()
        for control in controls:
            for notches in (-1, -1, -1, 1):
                assert not wheel(control, notches), control.objectName()
        assert {id(c): _value(c) for c in controls} == before
        assert config.read_text() == text  # nothing saved
        assert engine.guard.settings.secrets == "warn"
        # Legitimate: a drop-down given the focus (a click, Tab) takes the wheel.
        box = page.form.rows["guard.secrets"].editor
        assert isinstance(box, QComboBox)
        page.activateWindow()
        await until(page.isActiveWindow, "the page's window active")
        box.setFocus()
        await until(box.hasFocus, "the drop-down focused")
        assert wheel(box, -1) and box.currentText() != "warn"

    on_settings(body)
