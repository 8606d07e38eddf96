"""The Keys page on a running gateway (qasync, offscreen): a key made in the dialog is shown
once and works with the official `openai`, `anthropic` and `google-genai` SDKs for the models
in its scope, is refused others in each client's own shape, and stops working on the very next
request once revoked from the page (the confirmation's safe choice is the default). A second key
typed with a budget and a rate limit is held to both; rotated from the page, its old secret
stops at once."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog
from llmgw_desktop.ui.pages.keys import COLUMNS, KeysPage
from llmgw_desktop.ui.qt import QGuiApplication, QLineEdit, QMessageBox, QStyle, Qt
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.keys_page_steps import create_key, open_new_key, revoke_chosen
from tests.waiting import until

HI = [{"role": "user", "content": "hi"}]


def test_a_key_made_on_the_page_serves_each_sdk_in_scope_and_dies_when_revoked(
    on_window: OnWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        runtime = desk.runtime
        page = shown_page(window, KeysPage)
        assert not page.revoke_button.isEnabled()
        dialog = await open_new_key(page, qtbot, "the new-key dialog")
        # A wrong field is refused in the dialog, which stays open to fix it.
        dialog.rate.setText("fast")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.problem.isVisible(), "the refusal")
        assert "not a number" in dialog.problem.text()
        qtbot.keyClicks(dialog.name, "desk-tool")
        qtbot.keyClicks(dialog.models, "gpt-4o-mini, claude-sonnet-4-6, gemini-2.5-flash")
        dialog.rate.setText("100")
        shown = await create_key(page, dialog, qtbot, "the secret, shown once")
        secret = shown.secret.text()
        assert secret.startswith("llmgw-")
        qtbot.mouseClick(shown.copy_key, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == secret
        clients = [shown.client.itemText(i) for i in range(shown.client.count())]
        assert clients == [
            "OpenAI SDK",
            "Anthropic SDK",
            "Gemini SDK",
            "Claude Code",
            "Codex (model calls)",
            # The editors' MCP set-ups, the key as their bearer (review 41, finding 8).
            "Claude Code (HTTP)",
            "Codex",
            "Cursor",
            "VS Code",
        ]
        shown.client.setCurrentIndex(3)
        assert f"ANTHROPIC_AUTH_TOKEN={secret}" in shown.snippet.toPlainText()
        assert runtime.base_url in shown.snippet.toPlainText()
        shown.accept()
        row = await until(lambda: page.table.rowCount() == 1 and page.table.item(0, 0), "the row")
        assert row.text() == "desk-tool"
        # Gallery review (issue 64), finding 6: plain words, never the principal "key:desk-tool".
        assert page.notice.text() == "Made the key desk-tool."
        assert page.table.item(0, COLUMNS.index("Key")).text().endswith(secret[-4:])
        assert secret not in str([page.table.item(0, c).text() for c in range(len(COLUMNS))])

        oa = openai.AsyncOpenAI(base_url=runtime.base_url + "/v1", api_key=secret, max_retries=0)
        an = anthropic.AsyncAnthropic(base_url=runtime.base_url, api_key=secret, max_retries=0)
        ge = genai.Client(
            api_key=secret,
            http_options=types.HttpOptions(base_url=runtime.base_url, retry_options=None),
        )
        answer = await oa.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
        await an.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=HI)
        reply = await ge.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        assert (reply.text or "").startswith(DEFAULT_ANSWER)
        with pytest.raises(openai.PermissionDeniedError):
            await oa.chat.completions.create(model="gpt-4o", messages=HI)
        with pytest.raises(anthropic.PermissionDeniedError):
            await an.messages.create(model="claude-opus-4-1", max_tokens=20, messages=HI)
        with pytest.raises(genai_errors.ClientError) as refused:
            await ge.aio.models.generate_content(model="gemini-2.5-pro", contents="hi")
        assert refused.value.code == 403
        rows = await runtime.engine.recorder.recent(limit=10)
        assert {r["owner_principal"] for r in rows} == {"key:desk-tool"}

        # Revoke: the confirmation defaults to Cancel; Escape keeps the key.
        page.table.selectRow(0)
        assert page.revoke_button.isEnabled()
        qtbot.mouseClick(page.revoke_button, Qt.MouseButton.LeftButton)
        box = await until(lambda: page.confirm, "the confirmation")
        assert box.defaultButton() == box.button(QMessageBox.StandardButton.Cancel)
        # Named as the table names it (review 2026-11-27: it read "Revoke key:desk-tool").
        assert box.text().startswith("Revoke the key desk-tool (llmgw-"), box.text()
        qtbot.keyClick(box, Qt.Key.Key_Escape)
        await until(lambda: not box.isVisible(), "cancelled")
        await oa.chat.completions.create(model="gpt-4o-mini", messages=HI)
        page.confirm = None
        await revoke_chosen(page, qtbot, "the confirmation again")
        with pytest.raises(openai.AuthenticationError) as gone:
            await oa.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert gone.value.body["code"] == "key_revoked"  # type: ignore[index]

        # A second key from the dialog, with the limits a person types: a budget with
        # room for one answer's hold, which its spend then leaves too little of, and two
        # requests a minute, each enforced for the SDK.
        page.dialog = page.secret_dialog = None
        dialog = await open_new_key(page, qtbot, "the second new-key dialog")
        qtbot.keyClicks(dialog.name, "capped")
        qtbot.keyClicks(dialog.models, "gpt-4o-mini")
        qtbot.keyClicks(dialog.budget, "0.00018")
        qtbot.keyClicks(dialog.rate, "2")
        qtbot.keyClicks(dialog.expires, "30")
        shown = await create_key(page, dialog, qtbot, "the second secret")
        capped = shown.secret.text()
        shown.accept()
        await until(lambda: page.table.rowCount() == 2, "the second row")
        limited = openai.AsyncOpenAI(
            base_url=runtime.base_url + "/v1", api_key=capped, max_retries=0
        )
        await limited.chat.completions.create(model="gpt-4o-mini", messages=HI)
        with pytest.raises(openai.APIStatusError) as spent:
            await limited.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert spent.value.status_code == 402
        assert spent.value.body["code"] == "budget_exceeded"  # type: ignore[index]
        with pytest.raises(openai.RateLimitError) as throttled:
            await limited.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert int(throttled.value.response.headers["Retry-After"]) >= 1
        rows = await runtime.engine.recorder.recent(limit=20)
        assert "key:capped" in {r["owner_principal"] for r in rows}

        # Rotate from the page: a new secret for the same principal, still held by its
        # limits (429 while the minute's two requests are used, 402 after: the spend is
        # the principal's); the old secret is refused at once.
        row = next(
            r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "capped"
        )
        page.table.selectRow(row)
        page.secret_dialog = None
        qtbot.mouseClick(page.rotate_button, Qt.MouseButton.LeftButton)
        rotated = await until(lambda: page.secret_dialog, "the rotated secret")
        assert isinstance(rotated, SecretDialog)
        fresh = rotated.secret.text()
        assert fresh != capped and fresh.startswith("llmgw-")
        rotated.accept()
        with pytest.raises(openai.AuthenticationError) as old_secret:
            await limited.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert old_secret.value.body["code"] == "key_revoked"  # type: ignore[index]
        renewed = openai.AsyncOpenAI(
            base_url=runtime.base_url + "/v1", api_key=fresh, max_retries=0
        )
        with pytest.raises(openai.APIStatusError) as still_spent:
            await renewed.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert still_spent.value.status_code in (402, 429)
        window.grab().save(str(tmp_path / "keys-page.png"))

    on_window(body, size=(1024, 700), show=False, also_upstream=("openai", "google"))


def test_the_new_key_dialog_shows_each_fields_hint_whole(qtbot: QtBot) -> None:
    """Review 2026-11-27 under Xvfb: the new-key dialog (the Keys and Connect pages' one) opened
    351 px wide and cut its Models hint to "any model (e.g. gpt-4o-mini, cl…". Each field's
    hint fits whole in the field as the dialog opens."""
    dialog = NewKeyDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for edit in dialog.findChildren(QLineEdit):
        hint = edit.placeholderText()
        frame = edit.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, edit)
        room = edit.width() - 2 * frame - 4  # QLineEdit's own 2 px a side
        assert edit.fontMetrics().horizontalAdvance(hint) <= room, (edit.objectName(), hint)
