"""The Credentials page on a real started engine, offscreen: keys typed into the page round-trip
through the vault (checked with the vault's own `list_keys` and `resolve_keys`), deletes ask
first, and a vault locked by the wrong master key turns every change off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

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
from tests.ui.waiting import until

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
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path)) as (page, eng):
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

    qloop.run_until_complete(scenario())


def test_delete_asks_first_cancel_keeps_the_key_and_confirm_removes_it(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path)) as (page, eng):
            await eng.vault.store_key(OPERATOR, "openai", FIRST_KEY, key_name="ci")
            await until(lambda: page.record_items, "stored key shown")
            assert not page.delete_button.isEnabled()  # nothing selected yet

            page.tree.setCurrentItem(_item(page, "ci", "openai"))
            page.delete_button.click()
            box: QMessageBox = await until(lambda: page.confirm_box, "confirmation")
            assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
            assert "openai" in box.text() and "'ci'" in box.text()
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

    qloop.run_until_complete(scenario())


def test_a_locked_vault_is_explained_and_nothing_can_be_changed(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path)) as (_page, eng):
            await eng.vault.store_key(OPERATOR, "openai", FIRST_KEY)
        # The same data with another master key: the vault stays locked, untouched.
        async with credentials_page(loaded, env_sources(KEY_B, tmp_path)) as (page, eng):
            assert eng.vault.locked
            await until(lambda: "The vault is locked" in page.vault_state.text(), "locked")
            await until(lambda: page.tasks.running == 0, "the tree drawn")
            assert "not the key this vault was created with" in page.vault_state.text()
            assert not page.editor.isEnabled()
            assert not page.save_button.isEnabled()
            assert not page.delete_button.isEnabled()
            assert page.record_items == {}
            assert _rows(page)[GLOBAL_LABEL][0][0].startswith("(the vault is locked")

    qloop.run_until_complete(scenario())


def _live_rows(page: CredentialsPage) -> list[list[str]]:
    items = [page.live_tree.topLevelItem(i) for i in range(page.live_tree.topLevelItemCount())]
    return [[item.text(col) for col in range(4)] for item in items if item is not None]


def test_keys_from_the_environment_are_shown_beside_the_vaults_in_the_order_tried(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    """A gateway running on environment keys must not look as if it had none."""
    environ = {"OPENAI_API_KEY": "sk-env-0123456789abcdefghijkl", "GROQ_API_KEY": "gsk-short"}

    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path), environ) as (page, _):
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

    qloop.run_until_complete(scenario())


def test_no_key_anywhere_says_the_api_providers_cannot_be_used(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path), {}) as (page, _):
            await until(lambda: page.live_tree.topLevelItemCount() > 0, "the live keys")
            assert "no API key anywhere" in _live_rows(page)[0][0]

    qloop.run_until_complete(scenario())


def test_an_empty_vault_offers_to_keep_the_environments_keys(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, tmp_path: Path
) -> None:
    """Review 41, finding 18: "(nothing stored)" gave no next step while the gateway ran on
    environment keys. One button stores them in the vault; it goes once each is there."""
    environ = {"OPENAI_API_KEY": "sk-env-0123456789abcdefghijkl"}

    async def scenario() -> None:
        async with credentials_page(loaded, env_sources(KEY_A, tmp_path), environ) as (page, eng):
            await until(lambda: page.import_button.isVisible(), "the offer")
            page.import_button.click()
            await until(lambda: "Kept in the vault" in page.notice.text(), "stored")
            assert await eng.vault.resolve_keys("openai") == [environ["OPENAI_API_KEY"]]
            await until(lambda: not page.import_button.isVisible(), "the offer gone")
            assert "OpenAI" in page.notice.text()

    qloop.run_until_complete(scenario())
