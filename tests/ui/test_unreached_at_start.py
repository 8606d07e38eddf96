"""A provider whose host takes no connection when its model list is read at start is not "Ready"
anywhere: a person's pass, with `OPENAI_BASE_URL` on a port nothing listened on and no call
yet, saw the banner say "answering: openai (6 models)", the header "Providers OK", Overview
"Working" in green and the Providers page "Ready" with a green tick, beside the provider's own
"cannot connect". Every face reads the one verdict (`attention.provider_verdict`): amber,
"Could not connect", until a call answers or a later model list is read.

OpenAI is the only provider (Anthropic has no key); its base URL is a real black hole
(`tests/fakes/black_hole.py`: a connect waits out `gateway.connect_timeout_ms`), carried to
the scripted upstream as the host come back. The real window, offscreen, on a real gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.banner import answering_words
from llmgw_desktop.ui.attention import NOT_CONNECTED, SOME_CALLS_FAIL, provider_verdicts
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.provider_rows import WARNING
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QSystemTrayIcon
from tests.fakes.black_hole import BlackHole
from tests.fakes.black_hole import black_hole as black_hole_at
from tests.ui.desk_gateway import Desk, OnWindow, chat_request, desk_tray, shown_page
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

CONNECT_TIMEOUT_MS = 300


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    with black_hole_at() as hole:
        yield hole


@pytest.fixture
def openai_only(
    loaded: LoadedSettings, black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch
) -> LoadedSettings:
    """OpenAI keyed, at the black hole, its model list read at start."""
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # none offscreen
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-test-key-dddddddddddd")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{black_hole.port}/v1")
    values = {"gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS, "gateway.models_refresh_s": 3600}
    return replace(loaded, settings=loaded.settings.with_values(values))


def _faces(desk: Desk, window: MainWindow) -> dict[str, object]:
    """What each face says of OpenAI now: the Providers page's row, the header's chips, the
    Overview's Gateway card, the banner's answering line."""
    page = shown_page(window, ProvidersPage)
    page.request_refresh()
    row = next((r for r in page.rows if r.key == "api:openai"), None)
    window.header.redraw()
    window.overview.refresh_status()
    card = window.overview.figures.cards["gateway"]
    engine = desk.runtime.engine
    return {
        "row": None if row is None else (row.status, row.attention),
        "providers chip": window.header.chips["providers"].text(),
        "gateway chip": window.header.chips["gateway"].property("tone"),
        "card": (card.value.text(), card.value.property("tone")),
        "banner": answering_words(desk.runtime, engine.answering.now()),
    }


async def _looked(desk: Desk) -> None:
    engine = desk.runtime.engine
    await engine.providers.first_look()
    await engine.answering.check()


def test_a_provider_whose_host_took_no_connection_is_amber_everywhere_until_a_call_answers(
    on_window: OnWindow, openai_only: LoadedSettings, black_hole: BlackHole
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        await _looked(desk)
        engine = desk.runtime.engine
        [verdict] = provider_verdicts(engine)
        assert (verdict.provider, verdict.level, verdict.status) == (
            "openai",
            SOME_CALLS_FAIL,
            NOT_CONNECTED,
        )
        assert verdict.why.startswith("could not connect when its model list was read"), verdict
        page = shown_page(window, ProvidersPage)
        await until(
            lambda: (
                (page.request_refresh(), _faces(desk, window)["row"])[1] == (NOT_CONNECTED, WARNING)
            ),
            "the row amber",
        )
        faces = _faces(desk, window)
        assert faces["providers chip"] == "OpenAI: could not connect", faces
        assert faces["gateway chip"] == "warning", faces
        assert faces["card"] == ("Not connected", "warning"), faces
        banner = str(faces["banner"])
        assert "openai (" not in banner and "openai not reached: could not connect" in banner, (
            banner
        )
        with desk_tray(desk) as tray:
            tray.redraw()
            assert tray.state == "warning"
            assert f"{NOT_CONNECTED}: OpenAI (could not connect" in tray.tooltip()

        # The host comes back and a call answers: green everywhere.
        upstream_port = urlsplit(desk.upstream.base_url).port
        assert upstream_port is not None
        await black_hole.open_to(upstream_port)
        try:
            assert await chat_request(desk.runtime, "gpt-4o")
            assert provider_verdicts(engine) == []
            await until(
                lambda: (page.request_refresh(), _faces(desk, window)["row"])[1] == ("Ready", ""),
                "the row ready",
            )
            faces = _faces(desk, window)
            assert faces["providers chip"] == "Providers OK", faces
            assert faces["card"] == ("Working", "ok"), faces
            assert str(faces["banner"]).startswith("openai ("), faces
        finally:
            await black_hole.close()

    on_window(body, loaded=openai_only, keyed=False)


def test_a_host_back_is_green_again_on_its_next_model_list_read(
    on_window: OnWindow, openai_only: LoadedSettings, black_hole: BlackHole
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        await _looked(desk)
        engine = desk.runtime.engine
        assert [v.status for v in provider_verdicts(engine)] == [NOT_CONNECTED]
        upstream_port = urlsplit(desk.upstream.base_url).port
        assert upstream_port is not None
        await black_hole.open_to(upstream_port)
        try:
            await engine.gateway.directory.refresh(force=True)
            assert provider_verdicts(engine) == []
            faces = _faces(desk, window)
            assert faces["card"] == ("Working", "ok"), faces
            assert faces["providers chip"] == "Providers OK", faces
        finally:
            await black_hole.close()

    on_window(body, loaded=openai_only, keyed=False)


def test_a_provider_whose_model_list_was_read_is_ready_and_green(
    on_window: OnWindow, loaded: LoadedSettings
) -> None:
    listing = replace(
        loaded, settings=loaded.settings.with_values({"gateway.models_refresh_s": 3600})
    )

    async def body(desk: Desk, window: MainWindow) -> None:
        await _looked(desk)
        assert provider_verdicts(desk.runtime.engine) == []
        faces = _faces(desk, window)
        assert faces["providers chip"] == "Providers OK", faces
        assert faces["card"] == ("Working", "ok"), faces
        assert str(faces["banner"]).startswith("anthropic ("), faces

    on_window(body, loaded=listing)
