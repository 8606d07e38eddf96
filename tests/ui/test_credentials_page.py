"""The Credentials page on a real started engine, offscreen: keys typed into the page round-trip
through the vault (checked with the vault's own `list_keys` and `resolve_keys`), deletes ask
first, and a vault locked by the wrong master key turns every change off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.vault import KeySource
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.credentials import GLOBAL_LABEL, CredentialsPage
from llmgw_desktop.ui.qt import QMessageBox, Qt, QTreeWidgetItem
from tests.engine.vault.support import KEY_A, KEY_B, env_sources
from tests.ui.desk_gateway import page_parts
from tests.waiting import until

FIRST_KEY = "sk-first-0123456789abcdefghij"
SECOND_KEY = "sk-second-0123456789abcdefghij"


@asynccontextmanager
async def credentials_page(
    loaded: LoadedSettings,
    sources: Sequence[KeySource],
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[CredentialsPage, Engine]]:
    engine = Engine(loaded.settings, vault_key_sources=sources, environ=environ or {})
    await engine.start()
    bridge, actions, facts = page_parts(engine)
    page = CredentialsPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    page.show()
    page.page_shown()
    try:
        yield page, engine
    finally:
        await until(lambda: page.tasks.running == 0, "the page's work to finish")
        page.page_hidden()
        bridge.detach()
        await engine.stop()
        # Gone while this test's loop runs, not in a later test's (see `qloop`).
        page.close()
        page.deleteLater()
        await asyncio.sleep(0.02)


# `on_credentials(body, key=..., environ=...)`: `await body(page, engine)` (see the fixture).
OnCredentials = Callable[..., None]


@pytest.fixture
def on_credentials(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> OnCredentials:
    """`on_credentials(body, key=KEY_A, environ=None)`: `await body(page, engine)` on a started
    engine whose vault opens with master key `key` (from the environment), and its Credentials
    page (`credentials_page`), on the desktop's loop."""

    def run(
        body: Callable[[CredentialsPage, Engine], Awaitable[None]],
        key: str = KEY_A,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        async def scenario() -> None:
            sources = env_sources(key, tmp_path)
            async with credentials_page(loaded, sources, environ) as (page, engine):
                await body(page, engine)

        qloop.run_until_complete(scenario())

    return run


def _rows(page: CredentialsPage) -> dict[str, list[list[str]]]:
    """The tree as {group: [[name, provider, value, updated], ...]}."""
    out: dict[str, list[list[str]]] = {}
    for index in range(page.tree.topLevelItemCount()):
        group = page.tree.topLevelItem(index)
        assert group is not None
        children = [group.child(i) for i in range(group.childCount())]
        out[group.text(0)] = [[c.text(col) for col in range(4)] for c in children if c]
    return out


def _item(page: CredentialsPage, name: str, provider: str) -> QTreeWidgetItem:
    for item in page.record_items.values():
        record = item.data(0, Qt.ItemDataRole.UserRole)
        if (item.text(0), record["provider"]) == (name, provider):
            return item
    raise AssertionError(f"no row named {name}: {list(page.record_items)}")


async def _type_and_save(page: CredentialsPage, provider: str, name: str, project: str) -> None:
    page.provider_box.setCurrentText(provider)
    page.key_name_edit.setText(name)
    page.project_box.setCurrentText(project)
    page.value_edit.setText(FIRST_KEY if "first" in name else SECOND_KEY)
    assert page.save_button.isEnabled()
    page.save_button.click()
    await until(lambda: page.tasks.running == 0, "stored and redrawn")
    assert not page.value_edit.text()  # the typed key is not kept in the form


def test_added_keys_show_masked_by_project_and_replace_changes_the_value(
    on_credentials: OnCredentials,
) -> None:
    async def body(page: CredentialsPage, eng: Engine) -> None:
        await until(lambda: "vault is open" in page.vault_state.text(), "vault state")
        assert page.value_edit.echoMode() == page.value_edit.EchoMode.Password
        await _type_and_save(page, "openai", "first", GLOBAL_LABEL)
        await _type_and_save(page, "groq", "first", "webapp")
        rows = _rows(page)
        assert list(rows) == [GLOBAL_LABEL, "webapp"]
        # Named as the other pages name providers, masked one way (review 41, finding 18).
        openai, groq = page.provider_name("openai"), page.provider_name("groq")
        assert (openai, groq) == ("OpenAI", "Groq")
        assert rows[GLOBAL_LABEL][0][:3] == ["first", openai, "sk-fir…••••"]
        assert rows["webapp"][0][:3] == ["first", groq, "sk-fir…••••"]
        assert FIRST_KEY not in str(rows)  # the page never holds a whole key
        listed = await eng.vault.list_keys(OPERATOR)
        assert {(k["provider"], k["project"]) for k in listed} == {
            ("openai", "_global"),
            ("groq", "webapp"),
        }
        assert await eng.vault.resolve_keys("groq", "webapp") == [FIRST_KEY]

        # Replace: pick the row (the form takes its identity), type a new value.
        page.tree.setCurrentItem(_item(page, "first", "openai"))
        assert page.provider_box.currentText() == "openai"
        assert page.save_button.text() == "Replace key"
        page.value_edit.setText(SECOND_KEY)
        page.save_button.click()
        await until(lambda: "Replaced" in page.notice.text(), "replaced notice")
        assert await eng.vault.resolve_keys("openai") == [SECOND_KEY]
        assert len(await eng.vault.list_keys(OPERATOR)) == 2  # replaced, not added
        assert _rows(page)[GLOBAL_LABEL][0][2] == "sk-sec…••••"

        # A key stored elsewhere (MCP, HTTP) appears while the page is shown.
        await eng.vault.store_key(OPERATOR, "mistral", SECOND_KEY, project="webapp")
        await until(lambda: len(_rows(page)["webapp"]) == 2, "outside change shown")

        page.value_edit.setText("key with trailing space ")
        page.save_button.click()
        await until(lambda: "Not stored" in page.notice.text(), "refusal shown")
        assert "spaces" in page.notice.text()

    on_credentials(body)


def test_delete_asks_first_cancel_keeps_the_key_and_confirm_removes_it(
    on_credentials: OnCredentials,
) -> None:
    async def body(page: CredentialsPage, eng: Engine) -> None:
        await eng.vault.store_key(OPERATOR, "openai", FIRST_KEY, key_name="ci")
        await until(lambda: page.record_items, "stored key shown")
        assert not page.delete_button.isEnabled()  # nothing selected yet

        page.tree.setCurrentItem(_item(page, "ci", "openai"))
        page.delete_button.click()
        box: QMessageBox = await until(lambda: page.confirm_box, "confirmation")
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
        # Named as the tree beside it names them (review 2026-11-27 under Xvfb: "the
        # anthropic API key 'default' (global)" under "Anthropic" and "Global (every project)").
        assert box.text().startswith("Delete the OpenAI API key 'ci' (every project) from"), (
            box.text()
        )
        box.button(QMessageBox.StandardButton.Cancel).click()
        await until(lambda: page.confirm_box is None, "dialog answered")
        await until(lambda: page.tasks.running == 0, "nothing running")
        assert await eng.vault.resolve_keys("openai") == [FIRST_KEY]

        page.delete_button.click()
        box = await until(lambda: page.confirm_box, "confirmation again")
        next(b for b in box.buttons() if b.text() == "Delete").click()
        await until(lambda: "Deleted" in page.notice.text(), "deleted notice")
        assert await eng.vault.list_keys(OPERATOR) == []
        assert await eng.vault.resolve_keys("openai") == []
        (empty,) = _rows(page)[GLOBAL_LABEL]
        assert empty[0].startswith("(nothing stored yet")
        assert not page.delete_button.isEnabled()

    on_credentials(body)


def test_a_locked_vault_is_explained_and_nothing_can_be_changed(
    on_credentials: OnCredentials,
) -> None:
    async def store(_page: CredentialsPage, eng: Engine) -> None:
        await eng.vault.store_key(OPERATOR, "openai", FIRST_KEY)

    async def locked(page: CredentialsPage, eng: Engine) -> None:
        assert eng.vault.locked
        await until(lambda: "The vault is locked" in page.vault_state.text(), "locked")
        await until(lambda: page.tasks.running == 0, "the tree drawn")
        assert "not the key this vault was created with" in page.vault_state.text()
        assert not page.editor.isEnabled()
        assert not page.save_button.isEnabled()
        assert not page.delete_button.isEnabled()
        assert page.record_items == {}
        assert _rows(page)[GLOBAL_LABEL][0][0].startswith("(the vault is locked")

    on_credentials(store)
    # The same data with another master key: the vault stays locked, untouched.
    on_credentials(locked, key=KEY_B)


def _live_rows(page: CredentialsPage) -> list[list[str]]:
    items = [page.live_tree.topLevelItem(i) for i in range(page.live_tree.topLevelItemCount())]
    return [[item.text(col) for col in range(4)] for item in items if item is not None]


def test_keys_from_the_environment_are_shown_beside_the_vaults_in_the_order_tried(
    on_credentials: OnCredentials,
) -> None:
    """A gateway running on environment keys must not look as if it had none."""
    environ = {"OPENAI_API_KEY": "sk-env-0123456789abcdefghijkl", "GROQ_API_KEY": "gsk-short"}

    async def body(page: CredentialsPage, _: Engine) -> None:
        await until(lambda: page.live_tree.topLevelItemCount() > 0, "the live keys")
        rows = _live_rows(page)
        openai = page.provider_name("openai")
        assert [openai, "1", "environment variable OPENAI_API_KEY", "sk-env…••••"] in rows
        assert ["Groq", "1", "environment variable GROQ_API_KEY", "••••"] in rows
        await _type_and_save(page, "openai", "first", GLOBAL_LABEL)
        await until(lambda: len(_live_rows(page)) == 3, "the vault key listed too")
        tried = [row for row in _live_rows(page) if row[0] == openai]
        # The vault's key is tried first, then the environment's.
        assert tried == [
            [openai, "1", "vault, global key 1 of openai", "sk-fir…••••"],
            [openai, "2", "environment variable OPENAI_API_KEY", "sk-env…••••"],
        ]
        assert "0123456789" not in str(_live_rows(page))

    on_credentials(body, environ=environ)


def test_no_key_anywhere_says_the_api_providers_cannot_be_used(
    on_credentials: OnCredentials,
) -> None:
    async def body(page: CredentialsPage, _: Engine) -> None:
        await until(lambda: page.live_tree.topLevelItemCount() > 0, "the live keys")
        assert "no API key anywhere" in _live_rows(page)[0][0]

    on_credentials(body, environ={})


def test_an_empty_vault_offers_to_keep_the_environments_keys(
    on_credentials: OnCredentials,
) -> None:
    """Review 41, finding 18: "(nothing stored)" gave no next step while the gateway ran on
    environment keys. One button stores them in the vault; it goes once each is there."""
    environ = {"OPENAI_API_KEY": "sk-env-0123456789abcdefghijkl"}

    async def body(page: CredentialsPage, eng: Engine) -> None:
        await until(lambda: page.import_button.isVisible(), "the offer")
        page.import_button.click()
        await until(lambda: "Kept in the vault" in page.notice.text(), "stored")
        assert await eng.vault.resolve_keys("openai") == [environ["OPENAI_API_KEY"]]
        await until(lambda: not page.import_button.isVisible(), "the offer gone")
        assert "OpenAI" in page.notice.text()

    on_credentials(body, environ=environ)


def test_the_empty_vaults_next_step_reads_at_text_contrast(on_credentials: OnCredentials) -> None:
    """Review 41-2, finding 6: the empty vault's hint, the page's next step, was drawn as a
    disabled item, 2.69:1 on the light look. It is drawn in the muted tone, 4.5:1 or more in
    both looks, and still cannot be chosen."""
    from llmgw_desktop.ui.qt import QApplication, QPalette
    from llmgw_desktop.ui.theme import apply_theme
    from tests.ui.readings import contrast

    async def body(page: CredentialsPage, _eng: Engine) -> None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        try:
            for scheme in (Qt.ColorScheme.Light, Qt.ColorScheme.Dark):
                apply_theme(app, scheme)
                await page.refresh()
                group = page.tree.topLevelItem(0)
                assert group is not None
                hint = group.child(0)
                assert hint is not None and hint.text(0).startswith("(nothing stored yet")
                assert not hint.flags() & Qt.ItemFlag.ItemIsSelectable
                # Drawn enabled (a disabled item takes the palette's disabled grey).
                assert hint.flags() & Qt.ItemFlag.ItemIsEnabled
                ink = hint.foreground(0).color().name()
                ground = page.tree.palette().color(QPalette.ColorRole.Base).name()
                assert contrast(ink, ground) >= 4.5, (scheme, ink, ground)
        finally:
            apply_theme(app)

    on_credentials(body)


def test_an_auth_file_is_added_from_the_page_and_handed_to_the_tool(
    on_credentials: OnCredentials, tmp_path: Path
) -> None:
    """Issue 54.4: the page listed and deleted auth files but could not add one. A tool's
    login file, chosen with the file dialog (its choice arrives as a signal: no nested loop),
    is sealed in the vault under that tool, listed, and what a run of the tool gets back."""
    login = tmp_path / "auth.json"
    login.write_text('{"tokens": {"access_token": "secret-token-value"}}', encoding="utf-8")

    async def body(page: CredentialsPage, engine: Engine) -> None:
        box = page.files_box
        tools = [box.tool_box.itemData(i) for i in range(box.tool_box.count())]
        assert "codex" in tools and "claude" in tools
        box.tool_box.setCurrentIndex(tools.index("codex"))
        dialog = box.choose_file()
        assert dialog.isVisible()  # opened with open(): the test goes on, no loop of its own
        dialog.fileSelected.emit(str(login))
        dialog.close()
        await until(lambda: "is in the vault" in box.note.text(), "stored")
        await until(lambda: page.tasks.running == 0, "redrawn")
        row = _item(page, "auth.json", "codex")
        assert "auth file" in row.text(2) and "secret-token-value" not in row.text(2)
        assert await engine.vault.resolve_files("codex") == {"auth.json": login.read_bytes()}
        # A file that cannot be read is said, and nothing is stored.
        box.add_file(tmp_path / "missing.json")
        assert box.note.text().startswith("Could not read")

    on_credentials(body)


def test_a_refused_environment_key_is_marked_and_not_offered_for_the_vault(
    on_credentials: OnCredentials,
) -> None:
    """Review 2026-11-28 under Xvfb: with ANTHROPIC_API_KEY refused (401), the page listed it
    as any other key and offered "Keep the environment's keys in the vault", which would only
    have moved the refused key there, while the Overview said to replace it on this page. The
    refusal is what the provider said when its model list was read (the engine's event)."""
    environ = {
        "ANTHROPIC_API_KEY": "sk-ant-refused-0123456789abcdef",
        "OPENAI_API_KEY": "sk-env-0123456789abcdefghijkl",
    }

    async def body(page: CredentialsPage, eng: Engine) -> None:
        from llmgw_desktop.engine.events import ModelListRead

        await until(lambda: page.import_button.isVisible(), "the offer")
        eng.events.publish(ModelListRead("anthropic", "env:ANTHROPIC_API_KEY", 401, "invalid"))
        await page.refresh()
        rows = {row[0]: row for row in _live_rows(page)}
        anthropic = rows[page.provider_name("anthropic")]
        assert anthropic[2] == (
            "environment variable ANTHROPIC_API_KEY · refused: 401 when its model list was read"
        )
        assert "refused" not in rows[page.provider_name("openai")][2]
        assert page.import_button.isVisible()  # OpenAI's may still be kept
        assert await page.keep_environment_keys() == 1
        assert await eng.vault.resolve_keys("anthropic") == []
        await until(lambda: not page.import_button.isVisible(), "nothing left to keep")

    on_credentials(body, environ=environ)
