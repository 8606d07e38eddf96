"""The Providers page's "Add provider…" dialog on a real desktop-mode gateway (issue 31).

A person fills in an OpenAI-compatible endpoint (the scripted upstream on loopback), tests it,
adds an alias and saves: the official `openai` SDK's very next request through the gateway is
served by it, without a restart; config.toml keeps the person's comments and holds no key (the
vault does). Bad input (a URL without a scheme, a taken id, a broken header line) is refused in
the dialog naming the field, and nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.provider_editor import ProviderEditorDialog
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QTableWidgetItem
from tests.ui.desk_gateway import Desk, OnGateway, chat_request
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

KEY = "sk-house-dialog-key-9876543210"
USER_CONFIG = """\
# written by me, keep it
[log]
level = "INFO"  # quiet please

# my aliases
[gateway.aliases]
fast = "gpt-4o-mini"  # the cheap one
"""


@pytest.fixture
def with_comments(config_path: Path, loaded: LoadedSettings) -> LoadedSettings:
    config_path.write_text(USER_CONFIG)
    return load_settings()


@asynccontextmanager
async def page_on(desk: Desk, qtbot: QtBot) -> AsyncIterator[ProvidersPage]:
    page = ProvidersPage(PageContext(bridge=desk.bridge, actions=desk.actions, facts=desk.facts))
    qtbot.addWidget(page)
    page.show()
    try:
        yield page
    finally:
        if page.editor is not None:
            page.editor.close()
        page.page_hidden()
        await until(lambda: page.tasks.running == 0, "the page's work to finish")
        page.tasks.cancel_all()
        page.hide()


# `on_page(body, **gateway)`: `await body(desk, page)` (see the fixture).
OnPage = Callable[..., None]


@pytest.fixture
def on_page(on_gateway: OnGateway, qtbot: QtBot) -> OnPage:
    """`on_page(body, **gateway)`: the Providers page (`page_on`) on a gateway from
    `on_gateway` (its keywords pass through); `await body(desk, page)`."""

    def run(body: Callable[[Desk, ProvidersPage], Awaitable[None]], **gateway: Any) -> None:
        async def in_page(desk: Desk) -> None:
            async with page_on(desk, qtbot) as page:
                await body(desk, page)

        on_gateway(in_page, **gateway)

    return run


def fill(dialog: ProviderEditorDialog, desk: Desk, *, url: str | None = None) -> None:
    dialog.id_edit.setText("house")
    dialog.kind_box.setCurrentText("openai-compatible")
    dialog.url_edit.setText(url if url is not None else desk.upstream.base_url + "/v1")
    dialog.key_edit.setText(KEY)
    dialog.headers_edit.setPlainText("X-Team: infra")
    dialog.models_edit.setPlainText("house-coder")


def test_a_provider_added_in_the_dialog_serves_the_next_sdk_request(
    on_page: OnPage, with_comments: LoadedSettings, config_path: Path
) -> None:
    async def body(desk: Desk, page: ProvidersPage) -> None:
        desk.upstream.model_ids["chat"] = ["house-coder", "house-chat"]
        page.add_button.click()
        dialog = page.editor
        assert dialog is not None and dialog.isVisible()
        fill(dialog, desk)

        dialog.test_button.click()
        await until(lambda: dialog.test_label.text().startswith("OK"), "the test")
        assert "house-coder, house-chat" in dialog.test_label.text()
        for table, texts in (
            (dialog.aliases, ["coder", "house/house-coder"]),
            (dialog.prices, ["house-coder", "1", "2", "0.1", ""]),
        ):
            for column, text in enumerate(texts):  # typed in: the empty last row grows another
                table.setItem(0, column, QTableWidgetItem(text))

        saved: list[str] = []
        dialog.saved.connect(saved.append)
        dialog.save_button.click()
        await until(lambda: saved, "the save")
        assert not dialog.isVisible()

        assert await chat_request(desk.runtime, "coder")
        (sent,) = desk.upstream.llm_requests
        assert sent.body["model"] == "house-coder"
        assert sent.headers.get("x-team") == "infra"

        text = config_path.read_text()
        for comment in ("# written by me", "# quiet please", "# my aliases", "# the cheap"):
            assert comment in text
        assert KEY not in text
        assert await desk.runtime.engine.vault.resolve_keys("house") == [KEY]

        # The row is the person's: Edit opens it with the key kept out of sight.
        await page.refresh()
        assert page.select("api:house")
        assert page.edit_button.isEnabled()
        page.edit_button.click()
        again = page.editor
        assert again is not None and again is not dialog
        assert not again.id_edit.isEnabled()
        assert again.url_edit.text() == desk.upstream.base_url + "/v1"
        assert again.key_edit.text() == ""
        await until(lambda: "stored in the vault" in again.key_state.text(), "key state")
        assert again.aliases.rows()[0] == ["coder", "house/house-coder"]
        again.remove_button.click()  # asks first
        assert "Click again" in again.remove_button.text()
        assert desk.runtime.engine.gateway.registry.provider("house") is not None
        again.remove_button.click()
        await until(lambda: not again.isVisible(), "the removal")
        assert desk.runtime.engine.gateway.registry.provider("house") is None
        assert "[gateway.providers.house]" not in config_path.read_text()
        assert "# the cheap" in config_path.read_text()

    on_page(body, loaded=with_comments)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("url", "base_url", "must start with http:// or https://"),
        ("header", "headers", "is not 'Name: value'"),
        ("id", "id", "is a built-in provider"),
    ],
)
def test_bad_input_is_refused_in_the_dialog_and_nothing_is_written(
    on_page: OnPage,
    with_comments: LoadedSettings,
    config_path: Path,
    change: str,
    field: str,
    words: str,
) -> None:
    async def body(desk: Desk, page: ProvidersPage) -> None:
        before = config_path.read_bytes()
        dialog = page.open_editor(None)
        fill(dialog, desk)
        if change == "url":
            dialog.url_edit.setText("127.0.0.1:8001/v1")
        elif change == "header":
            dialog.headers_edit.setPlainText("X-Team: in\nfra")
        else:
            dialog.id_edit.setText("openai")
        dialog.save_button.click()
        await until(lambda: words in dialog.message_label.text(), "the refusal")
        assert dialog.isVisible()
        assert dialog.focusWidget() in (None, dialog._fields[field])
        assert config_path.read_bytes() == before
        assert await desk.runtime.engine.vault.resolve_keys("house") == []
        assert await desk.runtime.engine.vault.resolve_keys("openai") == []

    on_page(body, loaded=with_comments)


def test_a_second_provider_with_a_taken_id_is_refused(on_page: OnPage, config_path: Path) -> None:
    async def body(desk: Desk, page: ProvidersPage) -> None:
        first = page.open_editor(None)
        fill(first, desk)
        first.save_button.click()
        await until(lambda: not first.isVisible(), "the first save")
        written = config_path.read_bytes()
        second = page.open_editor(None)
        fill(second, desk)
        second.url_edit.setText("http://127.0.0.1:9/v1")
        second.save_button.click()
        await until(
            lambda: "already one of your providers" in second.message_label.text(),
            "refusal",
        )
        assert config_path.read_bytes() == written
        second.close()

    on_page(body)


def test_a_bedrock_provider_in_another_region_added_in_the_dialog_serves_requests(
    on_page: OnPage, with_comments: LoadedSettings, config_path: Path
) -> None:
    # The Add flow offers the clouds: a kind, its own fields (a region for Bedrock), and the
    # key field taking a Bedrock API key.
    bedrock_key = "ABSK-bedrock-eu-api-key-0123456789"

    async def body(desk: Desk, page: ProvidersPage) -> None:
        page.add_button.click()
        dialog = page.editor
        assert dialog is not None
        assert {"azure", "bedrock", "vertex"} <= {
            dialog.kind_box.itemText(i) for i in range(dialog.kind_box.count())
        }
        dialog.id_edit.setText("bedrock-eu")
        dialog.kind_box.setCurrentText("bedrock")
        assert dialog.cloud_fields.isVisibleTo(dialog)
        assert dialog.cloud_fields.edits["region"].isVisibleTo(dialog)
        assert not dialog.cloud_fields.edits["project"].isVisibleTo(dialog)
        dialog.cloud_fields.edits["region"].setText("eu-west-1")
        dialog.url_edit.setText(desk.upstream.base_url)
        dialog.key_edit.setText(bedrock_key)
        dialog.models_edit.setPlainText("amazon.nova-pro-v1:0")
        dialog.test_button.click()
        await until(lambda: dialog.test_label.text().startswith("OK"), "the test")
        saved: list[str] = []
        dialog.saved.connect(saved.append)
        dialog.save_button.click()
        await until(lambda: saved, "the save")

        assert await chat_request(desk.runtime, "bedrock-eu/amazon.nova-pro-v1:0")
        (sent,) = desk.upstream.llm_requests
        assert sent.path == "/model/amazon.nova-pro-v1:0/converse"
        assert sent.headers["authorization"] == f"<redacted {len('Bearer ' + bedrock_key)} chars>"
        text = config_path.read_text()
        assert 'kind = "bedrock"' in text and 'region = "eu-west-1"' in text
        assert bedrock_key not in text and "# written by me" in text

    on_page(body, loaded=with_comments)


def test_add_provider_asks_kind_address_and_key_and_tests_before_saving(
    on_page: OnPage, config_path: Path
) -> None:
    """Issue 54.4: "Add provider" asks the kind, the base URL and the key first (the id
    suggested from the address, the rest folded), and Save tests the endpoint before anything
    is written: a passing test saves; a failing one saves nothing and offers "Save anyway"."""

    async def body(desk: Desk, page: ProvidersPage) -> None:
        desk.upstream.model_ids["chat"] = ["house-coder"]
        page.add_button.click()
        dialog = page.editor
        assert dialog is not None
        assert not dialog.headers_edit.isVisible() and not dialog.aliases.isVisible()
        dialog.kind_box.setCurrentText("openai-compatible")
        url = desk.upstream.base_url + "/v1"
        dialog.url_edit.setText(url)
        dialog.url_edit.textEdited.emit(url)
        assert dialog.id_edit.text() == "local-" + url.split(":")[2].split("/")[0]
        dialog.key_edit.setText(KEY)
        listed_before = len(desk.upstream.requests)
        saved: list[str] = []
        dialog.saved.connect(saved.append)
        dialog.save_button.click()  # never tested: the test runs first
        await until(lambda: saved, "tested, then saved")
        assert dialog.test_label.text().startswith("OK")
        asked = [r.path for r in desk.upstream.requests[listed_before:]]
        assert any(path.endswith("/models") for path in asked), asked
        assert f"[gateway.providers.{saved[0]}]" in config_path.read_text()

        # A dead address: the test fails, nothing is written, a second Save keeps it.
        written = config_path.read_bytes()
        second = page.open_editor(None)
        second.url_edit.setText("http://127.0.0.1:9/v1")
        second.url_edit.textEdited.emit("http://127.0.0.1:9/v1")
        second.save_button.click()
        await until(lambda: second.save_button.text() == "Save anyway", "the failed test")
        assert second.test_label.text().startswith("Failed")
        assert "nothing was saved" in second.message_label.text()
        assert config_path.read_bytes() == written and second.isVisible()
        second.save_button.click()
        await until(lambda: not second.isVisible(), "saved anyway")
        assert "[gateway.providers.local-9]" in config_path.read_text()

    on_page(body)
