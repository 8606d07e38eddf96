"""The first-run guide: shown once on a fresh data folder, never again; what it finds (a CLI
on the CLI path, an environment key, masked); a key tested with a real call against the
scripted upstream and stored in the vault; finishing on the Connect page."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, PROVIDERS, provider_info
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.first_run import FirstRunGuide, guide_due
from llmgw_desktop.ui.first_run_steps import CLI_COLUMNS, INSTALLED, MISSING, ConnectStep
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QGuiApplication, QWizard
from llmgw_desktop.ui.theme import error_colour
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnGateway, OnWindow, chat_request, no_clis_on_path
from tests.ui.running_app import desktop_app, exit_code, window_shown
from tests.waiting import until

ENV_KEY = "sk-ant-test-key-bbbbbbbb"  # what `desk_gateway` puts in ANTHROPIC_API_KEY
FAKE_CLAUDE_VERSION = "2.0.99"


def fake_cli_dir(where: Path) -> Path:
    """A CLI path holding one fake `claude` that prints a version, and nothing else."""
    where.mkdir(parents=True, exist_ok=True)
    claude = where / "claude"
    claude.write_text(f'#!/bin/sh\necho "{FAKE_CLAUDE_VERSION} (Claude Code)"\n')
    claude.chmod(0o755)
    return where


@asynccontextmanager
async def guide_on(desk: Desk, landed: list[str]) -> AsyncIterator[FirstRunGuide]:
    guide = FirstRunGuide(
        desk.runtime.engine,
        endpoint=desk.runtime.mcp_url,
        data_dir=desk.facts.data_dir,
        on_finish=lambda: landed.append("connect"),
    )
    guide.show()
    try:
        yield guide
    finally:
        await until(lambda: guide.tasks.running == 0, "the guide's work to finish")
        guide.close()
        guide.deleteLater()
        await asyncio.sleep(0.02)


async def _verdict_of_the_last_step(guide: FirstRunGuide) -> ConnectStep:
    """The guide's last step, walked to, once it has said what can answer."""
    for _ in range(3):
        guide.next()
    step = guide.connect_step
    await until(lambda: step.subTitle() != "Checking what can answer…", "verdict")
    return step


# `on_guide(body, landed=..., **gateway)`: `await body(desk, guide)` (see the fixture).
OnGuide = Callable[..., None]


@pytest.fixture
def on_guide(on_gateway: OnGateway) -> OnGuide:
    """`on_guide(body, landed=..., **gateway)`: the guide (`guide_on`, its finish recorded in
    `landed`) on a gateway from `on_gateway` (its keywords pass through); `await body(desk,
    guide)`."""

    def run(
        body: Callable[[Desk, FirstRunGuide], Awaitable[None]],
        *,
        landed: list[str] | None = None,
        **gateway: Any,
    ) -> None:
        async def in_guide(desk: Desk) -> None:
            async with guide_on(desk, [] if landed is None else landed) as guide:
                await body(desk, guide)

        on_gateway(in_guide, **gateway)

    return run


def test_the_guide_finds_the_clis_and_keys_tests_a_key_for_real_and_stores_it(
    on_guide: OnGuide, loaded: LoadedSettings, tmp_path: Path
) -> None:
    cli_dir = fake_cli_dir(tmp_path / "clis")
    with_clis = replace(
        loaded, settings=loaded.settings.with_values({"providers.cli_path": [str(cli_dir)]})
    )
    landed: list[str] = []

    async def body(desk: Desk, guide: FirstRunGuide) -> None:
        # (a) What works first (issue 64.6: it opened on twelve CLIs not installed): the
        # environment's key, masked, with where it comes from.
        keys = guide.keys
        assert guide.currentPage() is keys and keys.title().startswith("Step 1 of 4 · ")
        await until(lambda: keys.table.rowCount() and keys.table.item(0, 0), "keys listed")
        # Every key row whole, none cut in half by a short table (review 41, finding 19).
        assert keys.table.verticalScrollBar().maximum() == 0
        cells = [
            keys.table.item(r, c).text()  # type: ignore[union-attr]
            for r in range(keys.table.rowCount())
            for c in range(3)
        ]
        assert "environment variable ANTHROPIC_API_KEY" in cells
        assert ENV_KEY not in " ".join(cells)
        # Masked and named as the Provider keys page writes them (review round 2, finding 14).
        assert any(c.endswith("…••••") or c == "••••" for c in cells), cells
        assert "Anthropic" in cells and "anthropic" not in cells
        assert "The vault is open" in keys.vault_label.text()

        # A good key: the upstream answers, the label says so plainly.
        keys.provider_box.setCurrentText("anthropic")
        assert not keys.test_button.isEnabled()  # nothing pasted yet
        pasted = "sk-ant-pasted-in-the-guide-0123456789"
        keys.value_edit.setText(pasted)
        keys.test_button.click()
        await until(lambda: keys.result_label.text().startswith("OK:"), "ok shown")
        (sent,) = desk.upstream.llm_requests
        # Sent with the pasted key (the fake keeps only its length), not the environment's.
        assert sent.headers["x-api-key"] == f"<redacted {len(pasted)} chars>"
        assert error_colour() not in keys.result_label.styleSheet()

        # A refused key: an auth failure, in the error colour, and nothing else tried.
        desk.upstream.script(Reply.error(401, "invalid x-api-key"))
        keys.test_button.click()
        await until(lambda: keys.result_label.text().startswith("Auth failed"), "refusal")
        assert "refused this key" in keys.result_label.text()
        assert error_colour() in keys.result_label.styleSheet()
        assert len(desk.upstream.llm_requests) == 2
        # Another key pasted: the verdict was about the old one, so it goes.
        keys.value_edit.setText(pasted + "x")
        assert keys.last_result is None and keys.result_label.text() == ""
        keys.value_edit.setText(pasted)

        # Store: in the vault, the field cleared, the key listed (masked) with its source.
        keys.store_button.click()
        await until(lambda: keys.result_label.text().startswith("Stored"), "stored")
        assert "It was not tested" in keys.result_label.text()  # its last test failed
        assert keys.value_edit.text() == ""
        vault = desk.runtime.engine.vault
        (stored,) = await vault.list_keys(LOCAL_CALLER)
        assert stored["provider"] == "anthropic"
        assert await vault.resolve_keys("anthropic") == [pasted]
        await until(
            lambda: any(
                (item := keys.table.item(r, 1)) and item.text().startswith("vault")
                for r in range(keys.table.rowCount())
            ),
            "the vault key listed",
        )

        # (b) The fake CLI is found with its path and version, first; the missing ones are
        # folded under one line, each saying how to install it once shown.
        guide.next()
        clis = guide.clis
        assert clis.title().startswith("Step 2 of 4 · ")
        await until(lambda: clis.row_of("claude")[2] == FAKE_CLAUDE_VERSION, "version")
        assert clis.row_of("claude") == (
            "Claude Code",
            INSTALLED,
            FAKE_CLAUDE_VERSION,
            str(cli_dir / "claude"),
        )
        assert clis.statuses[0].provider == "claude"  # what works leads
        codex = provider_info("codex")
        assert clis.row_of("codex") == ("Codex", MISSING, "—", codex.install_command)
        assert clis.table.rowCount() == len(PROVIDERS)
        assert f"1 of {len(PROVIDERS)} found." in clis.note.text()
        missing = [s.provider for s in clis.statuses].index("codex")
        assert clis.table.isRowHidden(missing) and not clis.table.isRowHidden(0)
        assert f"{len(PROVIDERS) - 1} more not installed" in clis.missing_label.text()
        clis.missing_label.linkActivated.emit("show")
        assert not clis.table.isRowHidden(missing)
        # Review 41, finding 19: found or not as a glyph and a word; a missing CLI's
        # install command one Copy away.
        row = [s.provider for s in clis.statuses].index("claude")
        assert not clis.table.item(row, 1).icon().isNull()  # type: ignore[union-attr]
        assert clis.table.cellWidget(row, len(CLI_COLUMNS)) is None  # installed
        copy = clis.table.cellWidget(missing, len(CLI_COLUMNS))
        assert copy is not None
        copy.click()  # type: ignore[attr-defined]
        assert QGuiApplication.clipboard().text() == codex.install_command

        # (c) A server of your own, on its own step (skipped here); (d) Connect: Finish
        # lands there. Each step says where the person is.
        guide.next()
        assert guide.currentPage() is guide.server_step
        assert guide.server_step.title().startswith("Step 3 of 4 · ")
        guide.next()
        assert guide.currentPage() is guide.connect_step
        assert desk.runtime.mcp_url in guide.connect_step.text_label.text()
        guide.button(QWizard.WizardButton.FinishButton).click()
        assert landed == ["connect"]
        assert not guide_due(desk.facts.data_dir)

    on_guide(body, landed=landed, loaded=with_clis)


def test_the_guide_says_a_key_its_provider_refused(on_guide: OnGuide) -> None:
    """Review 2026-11-28 under Xvfb: step 1 listed a refused OPENAI_API_KEY as any other key,
    masked, while Provider keys and the Overview said it was refused. It says so as Provider
    keys does."""

    async def body(desk: Desk, guide: FirstRunGuide) -> None:
        from llmgw_desktop.engine.api import ModelListRead

        keys = guide.keys
        await until(lambda: keys.table.rowCount() and keys.table.item(0, 0), "keys listed")
        desk.runtime.engine.events.publish(
            ModelListRead("anthropic", "env:ANTHROPIC_API_KEY", 401, "invalid x-api-key")
        )
        await keys.load()
        wheres = [keys.table.item(r, 1).text() for r in range(keys.table.rowCount())]  # type: ignore[union-attr]
        assert (
            "environment variable ANTHROPIC_API_KEY · refused: 401 when its model list was read"
            in wheres
        ), wheres
        # ... in the error colour, as Provider keys draws it (the row was drawn as any other).
        row = next(r for r, where in enumerate(wheres) if "refused" in where)
        item = keys.table.item(row, 1)
        assert item is not None and item.foreground().color().name() == error_colour()
        other = [r for r, where in enumerate(wheres) if "refused" not in where]
        for r in other:
            assert keys.table.item(r, 1).foreground().color().name() != error_colour()  # type: ignore[union-attr]

    on_guide(body)


def test_a_key_refused_by_its_calls_is_said_refused_and_nothing_is_said_to_answer(
    on_guide: OnGuide,
) -> None:
    """A helper's review under Xvfb: after two calls answered 401, the guide listed the key as
    any other and its last step said "Can answer now: OpenAI." while every other page said
    nothing could answer. The key a call was refused with is marked as the model list's
    refusal is (red, how), and the last step says nothing can answer, and why."""
    import anthropic

    async def body(desk: Desk, guide: FirstRunGuide) -> None:
        client = anthropic.AsyncAnthropic(
            base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
        )
        for _ in range(2):
            with pytest.raises(anthropic.AuthenticationError):
                await client.messages.create(
                    model="claude-sonnet-4-6",
                    max_tokens=16,
                    messages=[{"role": "user", "content": "hi"}],
                )
        await client.close()
        keys = guide.keys
        await keys.load()
        wheres = [keys.table.item(r, 1).text() for r in range(keys.table.rowCount())]  # type: ignore[union-attr]
        refused = "environment variable ANTHROPIC_API_KEY · refused: 401 on 2 calls in a row"
        assert refused in wheres, wheres
        item = keys.table.item(wheres.index(refused), 1)
        assert item is not None and item.foreground().color().name() == error_colour()
        step = await _verdict_of_the_last_step(guide)
        assert step.subTitle() == "Nothing can answer yet."
        said = step.verdict_label.text()
        # In the window's words ("No provider can answer"), or, before the engine's fact has
        # caught up with the calls, the verdict's: either names the refusal and its cure.
        assert "Anthropic refused its key" in said and "replace it on Provider keys" in said, said
        assert "Can answer now" not in said

    on_guide(body, replies=(Reply.error(401, "invalid x-api-key"),) * 2)


def test_a_locked_vault_turns_store_off_and_says_how_to_open_it(
    on_guide: OnGuide, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", "not-a-master-key")

    async def body(desk: Desk, guide: FirstRunGuide) -> None:
        keys = guide.keys  # the first step
        keys.value_edit.setText("sk-ant-some-key-0123456789")
        assert keys.test_button.isEnabled()  # a test needs no vault
        assert not keys.store_button.isEnabled()
        assert keys.vault_label.text().startswith("Store is off: The vault is locked")
        assert "LLM_GATEWAY_MASTER_KEY" in keys.vault_label.text()
        guide.reject()  # skipped: done too
        assert not guide_due(desk.facts.data_dir)

    on_guide(body)


def _launch(loaded: LoadedSettings, qloop: qasync.QEventLoop, *, first: bool) -> DesktopApp:
    """Run the desktop app once, then quit; the app, for its state. The `first` time, walk the
    guide to its end; later, check it stays away and that the Help menu brings it back."""
    with desktop_app(loaded) as desktop:

        async def walk_then_quit() -> None:
            await until(lambda: window_shown(desktop), "window")
            await asyncio.sleep(0.05)  # any guide is shown with the window, in the same slot
            window = desktop.window
            assert window is not None
            if first:
                guide = await until(lambda: desktop.guide, "the guide on a fresh data folder")
                assert guide.isVisible()
                guide.next()
                guide.next()
                guide.next()
                guide.button(QWizard.WizardButton.FinishButton).click()
                assert window.current_page.KEY == "connect"
            else:
                assert desktop.guide is None  # not again by itself
                window.guide_action.trigger()  # Help > First-run guide…
                guide = await until(lambda: desktop.guide, "the guide from the Help menu")
                assert guide.isVisible()
                guide.reject()
            await until(lambda: guide.tasks.running == 0, "the guide's work to end")
            desktop.actions.quit.trigger()  # type: ignore[union-attr]

        assert exit_code(qloop, desktop, walk_then_quit) == 0
    return desktop


def test_the_guide_shows_on_the_first_launch_only_and_reopens_from_the_help_menu(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_clis_on_path(tmp_path, monkeypatch)  # no version checks of this machine's CLIs
    assert guide_due(loaded.settings.data_path)
    _launch(loaded, qloop, first=True)
    assert not guide_due(loaded.settings.data_path)
    _launch(loaded, qloop, first=False)


def test_the_last_step_says_plainly_when_nothing_can_answer_and_greys_each_with_its_reason(
    on_gateway: OnGateway,
) -> None:
    """Issue 25: no CLI found, the one provider with a key unusable, and the guide still said
    "point your coding tools at it"."""

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        engine.providers.set_enabled(LOCAL_CALLER, "anthropic", False)  # the one key's
        async with guide_on(desk, []) as guide:
            step = await _verdict_of_the_last_step(guide)
            assert step.subTitle() == "Nothing can answer yet."
            assert "Store an API key" in step.verdict_label.text()
            assert "install a CLI" in step.verdict_label.text()
            assert "point your coding tools" not in step.subTitle()
            # Step 2 said none was found twice ("No coding CLI found: 12 not installed" over
            # "0 of 12 found", the second review): once.
            clis = guide.clis
            await until(lambda: bool(clis.statuses), "the CLIs looked for")
            assert clis.missing_label.text().startswith("No coding CLI found: ")
            assert "found" not in clis.note.text(), clis.note.text()
            # Issue 53.6: what cannot answer is one line with a count and a link, not some
            # twenty faint lines repeating the first step and naming HTTP routes.
            count = step.cannot_label.text()
            assert "more cannot answer yet (" in count and "not installed" in count
            assert not step.unusable_label.isVisible()
            step.cannot_label.linkActivated.emit("show")
            assert step.unusable_label.isVisible()
            unusable = step.unusable_label.text()
            assert "Install it with" not in unusable and "/v1/" not in unusable
            assert "Not installed (the coding CLIs step has their install commands): Claude" in (
                unusable
            )
            assert (
                "Anthropic: switched off; switch it on" in unusable
                and "OpenAI: no API key" in unusable
                and "Provider keys page" in unusable
            )
            for label in (step.cannot_label, step.unusable_label):
                # The muted tone (4.5:1, tests/ui/test_theme.py), not the disabled grey (2.5:1).
                assert label.isEnabled() and label.property("tone") == "muted"

            engine.providers.set_enabled(LOCAL_CALLER, "anthropic", True)
            usable = await step.check()
            assert [row.name for row in usable] == ["Anthropic"]
            assert step.subTitle() == "The gateway is running; point your coding tools at it."
            assert step.verdict_label.text() == "Can answer now: Anthropic."
            guide.reject()

    on_gateway(body)


def test_the_guide_counts_what_cannot_answer_as_the_providers_page_does(
    on_window: OnWindow,
) -> None:
    """Issue 64.6: the guide said 21 cannot answer where the Providers page said 25 (it left
    the local servers out): one list, one count."""

    async def body(desk: Desk, window: MainWindow) -> None:
        providers = window.pages[ProvidersPage.KEY]
        assert isinstance(providers, ProvidersPage)
        window.show_page(ProvidersPage.KEY)
        await providers.refresh()
        shown = re.search(r"Show (\d+) more", providers.unfold_button.text())
        assert shown is not None
        async with guide_on(desk, []) as guide:
            step = guide.connect_step
            await step.check()
            said = re.search(r"(\d+) more cannot answer", step.cannot_label.text())
            assert said is not None, step.cannot_label.text()
            assert said.group(1) == shown.group(1)
            assert "not running" in step.cannot_label.text()  # the local servers counted
            guide.reject()

    on_window(body, size=(1024, 700))


def test_the_tray_menu_greys_api_providers_that_cannot_answer_with_the_reason(
    on_gateway: OnGateway,
) -> None:
    async def body(desk: Desk) -> None:
        actions = desk.actions
        openai, anthropic = actions.providers["openai"], actions.providers["anthropic"]
        actions.check_installed()
        await until(lambda: not openai.isEnabled(), "OpenAI greyed")
        assert openai.text() == "OpenAI (no key)" and not openai.isCheckable()
        assert openai.toolTip().startswith("no API key: set OPENAI_API_KEY")
        assert anthropic.isEnabled() and anthropic.text() == "Anthropic"  # it has a key
        claude = actions.providers["claude"]
        assert not claude.isEnabled() and claude.text() == "Claude Code (CLI not installed)"

    on_gateway(body)


def test_the_guide_adds_an_openai_compatible_server_by_its_base_url(
    on_guide: OnGuide, config_path: Path
) -> None:
    """Optional base URL on the keys step: refused as typed without a scheme, then added (its
    models listed first) and served at once to the official `openai` SDK."""

    async def body(desk: Desk, guide: FirstRunGuide) -> None:
        desk.upstream.model_ids["chat"] = ["house-coder"]
        guide.next()
        server = guide.keys.server
        server.url_edit.setText("127.0.0.1:8001/v1")
        server.add_button.click()
        await until(lambda: "Not added" in server.result_label.text(), "the refusal")
        assert "must start with http:// or https://" in server.result_label.text()
        assert not config_path.exists() or b"my-server" not in config_path.read_bytes()

        server.url_edit.setText(desk.upstream.base_url + "/v1")
        server.add_button.click()
        await until(lambda: "Added my-server" in server.result_label.text(), "the server")
        assert await chat_request(desk.runtime, "house-coder")
        assert desk.upstream.llm_requests[-1].path == "/v1/chat/completions"
        saved = tomllib.loads(config_path.read_text())["gateway"]["providers"]["my-server"]
        assert saved["models"] == ["house-coder"]
        guide.reject()

    on_guide(body)
