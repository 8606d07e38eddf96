"""Nothing green when nothing answers: with no key, local server or coding CLI the window says
"No provider can answer" in amber where it said "Running", "Providers OK" and "Working", and
where to add a key (the header, the Overview's first card, the Playground's empty model box),
all from the engine's one fact (`engine.answering`), which `/health` reads too. A key stored
in the vault turns it back, without a restart. The real window on a real gateway, offscreen."""

from __future__ import annotations

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.waiting import until

ANTHROPIC_KEY = "sk-ant-stored-later-dddddddd"


async def _nothing_answers(desk: Desk) -> None:
    """Wait (bounded) until the engine says nothing can answer, as `/health` reads it: once
    its first look at the providers has ended."""
    engine = desk.runtime.engine
    await until(lambda: engine.health()["providers"]["state"] == "none", "/health says none")


def test_no_provider_is_said_in_amber_where_to_add_a_key_and_not_green(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await _nothing_answers(desk)
        assert not await engine.providers.models()  # /v1/models lists nothing
        assert engine.answering.now().models == 0

        header = window.header
        header.redraw()
        chips = header.chips
        assert chips["providers"].text() == "No provider can answer"
        assert chips["providers"].property("tone") == "warning"
        assert "Provider keys" in chips["providers"].toolTip()
        # Running, but nothing answers: the Overview card's state and amber, never green.
        assert chips["gateway"].text() == "No provider"
        assert chips["gateway"].property("tone") == "warning"
        chips["providers"].click()
        assert window.current_page.KEY == "credentials"

        overview = shown_page(window, OverviewPage)
        overview.refresh_status()
        card = overview.figures.cards["gateway"]
        assert card.value.text() == "No provider"
        assert card.value.property("tone") == "warning"
        assert "Provider keys" in card.detail.text()
        assert "Working" not in card.accessibleName()
        card.clicked.emit()
        assert window.current_page.KEY == "credentials"

        playground = shown_page(window, PlaygroundPage)
        await until(lambda: playground.model_box.count() == 0 and playground.status.text(), "")
        line = playground.model_box.lineEdit()
        assert line is not None
        assert "Provider keys" in line.placeholderText()  # where to add a key
        assert "No provider can answer" in line.toolTip()
        assert playground.status.property("tone") == "warning"  # amber, as the header
        playground.prompt.setPlainText("hello?")
        playground.send()
        said = playground.status.text()
        assert "No provider can answer" in said and "Provider keys" in said, said
        assert "Choose a model first" not in said
        playground.status.linkActivated.emit("credentials")
        assert window.current_page.KEY == "credentials"

    on_window(body, keyed=False, size=(1024, 700))


def test_a_key_stored_in_the_vault_makes_it_answer_without_a_restart(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await _nothing_answers(desk)
        await engine.vault.store_key(LOCAL_CALLER, "anthropic", ANTHROPIC_KEY)
        fact = await engine.answering.check()
        assert not fact.none and dict(fact.by_provider).get("anthropic")
        models = await engine.providers.models()
        assert fact.models == len(models)  # one count: /v1/models' length
        assert engine.health()["providers"]["state"] != "none"
        header = window.header
        await until(lambda: header.chips["providers"].text() == "Providers OK", "a provider")
        assert header.chips["gateway"].property("tone") == "ok"

    on_window(body, keyed=False, size=(1024, 700))


def test_send_is_disabled_with_its_reason_until_a_provider_can_answer(
    on_window: OnWindow,
) -> None:
    """Gallery review (issue 64), finding 2: Send was enabled with nothing that can answer, and
    answered with a refusal. It is grey, its tooltip saying where to add a key, as the empty
    model box does; a key stored turns it back on."""

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await _nothing_answers(desk)
        playground = shown_page(window, PlaygroundPage)
        await until(lambda: playground.model_box.count() == 0 and playground.status.text(), "")
        playground.prompt.setPlainText("hello?")
        send = playground.send_button
        assert not send.isEnabled()
        assert "No provider can answer" in send.toolTip() and "Provider keys" in send.toolTip()
        assert not playground.embed_button.isEnabled()
        await engine.vault.store_key(LOCAL_CALLER, "anthropic", ANTHROPIC_KEY)
        await engine.answering.check()
        await until(lambda: send.isEnabled(), "Send enabled once a provider answers")
        assert send.toolTip() == "Send (Enter)"

    on_window(body, keyed=False, size=(1024, 700))


def test_no_provider_for_a_refused_key_is_an_outage_in_red(on_window: OnWindow) -> None:
    """A helper's review: with the one key refused, the header and the Overview's first card
    said "No provider can answer" in the amber of a gateway yet to be set up, while a provider
    failing made the card red ("Not working"). A key refused is an outage: red, with its cure
    (replace it on Provider keys)."""
    from llmgw_desktop.engine.api import ModelListRead

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        engine.events.publish(
            ModelListRead("anthropic", "env:ANTHROPIC_API_KEY", 401, "invalid x-api-key")
        )
        await _nothing_answers(desk)
        header = window.header
        header.redraw()
        chip = header.chips["providers"]
        assert chip.text() == "No provider can answer"
        assert chip.property("tone") == "error"
        gateway = header.chips["gateway"]
        assert (gateway.text(), gateway.property("tone")) == ("No provider", "error")
        overview = shown_page(window, OverviewPage)
        overview.refresh_status()
        card = overview.figures.cards["gateway"]
        assert (card.value.text(), card.value.property("tone")) == ("No provider", "error")
        assert "Anthropic refused its key" in card.detail.text()

    on_window(body, size=(1024, 700))
