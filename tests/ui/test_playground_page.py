"""The Playground page on a real gateway, offscreen on a qasync loop (issue 31 item 4).

The page sends through the engine's gateway path to the scripted upstream (Anthropic, and
OpenAI for the comparison), so each answer is a real streamed request with a real recorder row.
The upstream holds its stream halfway (`stream_gate`) so the test sees the first half of the
answer on screen while the second has not been sent yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_words import describe_detail
from llmgw_desktop.ui.qt import Qt
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnDesk, desk_gateway
from tests.ui.waiting import until

ANSWER = "Otters hold hands while they sleep so that they do not drift apart"


# `run_page(body, replies=...)`: `await body(desk, page)` with the page shown on a desk gateway.
RunPage = Callable[..., None]


@pytest.fixture
def run_page(on_desk: OnDesk) -> RunPage:
    """The Playground on a desk gateway whose Anthropic and OpenAI are the scripted upstream
    (answering `replies` first), and `body` run on it."""

    def run(
        body: Callable[[Desk, PlaygroundPage], Awaitable[None]], *, replies: tuple[Reply, ...] = ()
    ) -> None:
        on_desk(PlaygroundPage, body, size=(1024, 700), replies=replies, also_upstream=("openai",))

    return run


def ask(page: PlaygroundPage, model: str, text: str, qtbot: QtBot) -> None:
    page.model_box.setEditText(model)
    page.prompt.setPlainText(text)
    page.prompt.setFocus()
    qtbot.keyClick(page.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_a_streamed_answer_shows_as_it_arrives_with_its_recorder_figures(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.page_shown()
        await until(lambda: page.model_box.count() > 0, "the gateway's models listed")
        listed = [page.model_box.itemText(i) for i in range(page.model_box.count())]
        assert any("claude" in name for name in listed), listed
        gate = asyncio.Event()
        desk.upstream.stream_gate = gate
        ask(page, "claude-sonnet-4-6", "tell me about otters", qtbot)
        # The first half is on screen while the upstream still holds the second.
        shown = await until(lambda: page.answer.text.toPlainText(), "the first pieces")
        assert ANSWER.startswith(shown.strip()) and len(shown) < len(ANSWER), shown
        assert not page.answer.figures.text() and not page.send_button.isEnabled()
        gate.set()
        await until(lambda: page.answer.reply is not None, "the answer finished")
        assert page.answer.text.toPlainText() == ANSWER
        figures = page.answer.figures.text()
        assert "anthropic" in figures and "Tokens in 12" in figures and "cache read 200" in figures
        assert "first token" in figures and "completed" in figures
        assert page.answer.open_button.isEnabled() and page.send_button.isEnabled()
        # Recorded like any request, under the playground's name.
        reply = page.answer.reply
        assert reply is not None and reply.record is not None
        assert reply.record["caller"] == "playground" and reply.record["transport"] == "desktop"

    run_page(
        body,
        replies=(Reply.ok(ANSWER, verbatim=True),),
    )


def test_compare_sends_the_same_request_to_a_second_model_and_links_the_rows(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        ask(page, "claude-sonnet-4-6", "which animal holds hands?", qtbot)
        await until(lambda: page.answer.reply is not None, "the first answer")
        assert page.compare_button.isEnabled() and not page.second.isVisible()
        page.compare_box.setEditText("openai/gpt-4o-mini")
        page.compare_button.click()
        await until(lambda: page.second.reply is not None, "the second answer")
        assert page.second.isVisible() and page.answer.isVisible()
        assert page.answer.text.toPlainText() == "Sea otters"
        assert page.second.text.toPlainText() == "Otters, mostly"
        first, second = page.answer.reply, page.second.reply
        assert first is not None and second is not None
        assert first.record_id and second.record_id and first.record_id != second.record_id
        # The upstream was asked the same question twice, once per model.
        asked = [r for r in desk.upstream.llm_requests if r.is_llm]
        assert [r.dialect for r in asked] == ["anthropic", "chat"]
        assert all("which animal holds hands?" in r.raw_body.decode() for r in asked)
        # Each recorder row names the other.
        query = desk.runtime.engine.recorder_query
        original = await query.detail(first.record_id)
        replay = await query.detail(second.record_id)
        assert original is not None and replay is not None
        assert original.replays == (second.record_id,)
        assert replay.record["route"]["replayOf"] == first.record_id
        assert f"Replayed as {second.record_id}" in describe_detail(original)
        assert f"Replay of   {first.record_id}" in describe_detail(replay)

    run_page(
        body,
        replies=(Reply.ok("Sea otters", verbatim=True), Reply.ok("Otters, mostly", verbatim=True)),
    )


def test_an_upstream_failure_shows_a_clear_error_in_the_page(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        ask(page, "claude-sonnet-4-6", "hello", qtbot)
        await until(lambda: page.answer.reply is not None, "the failure reported")
        error = page.answer.error.text()
        assert page.answer.error.isVisible()
        assert error.startswith("No answer:") and "all_routes_failed" in error, error
        assert "did not answer" in page.status.text()
        # The failed request is a recorder row too, and the page links to it.
        reply = page.answer.reply
        assert reply is not None and reply.record is not None
        assert reply.record["state"] == "failed" and page.answer.open_button.isEnabled()
        assert page.send_button.isEnabled()

    run_page(
        body,
        replies=(Reply.error(500, "the model is on fire (fake)"),),
    )


def test_open_in_recorder_shows_the_answers_row_in_the_flight_recorder(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with desk_gateway(loaded, monkeypatch, tmp_path) as desk:
            window = MainWindow(
                desk.bridge, desk.actions, desk.facts, close_quits=False, on_quit=lambda: None
            )
            qtbot.addWidget(window)
            window.show()
            try:
                window.show_page(PlaygroundPage.KEY)
                page = window.pages[PlaygroundPage.KEY]
                assert isinstance(page, PlaygroundPage)
                ask(page, "claude-sonnet-4-6", "hello", qtbot)
                await until(lambda: page.answer.reply is not None, "the answer")
                reply = page.answer.reply
                assert reply is not None and reply.record_id
                page.answer.open_button.click()
                recorder = window.pages[RecorderPage.KEY]
                assert isinstance(recorder, RecorderPage)
                await until(lambda: window.stack.currentWidget() is recorder, "the recorder")
                await until(
                    lambda: str(reply.record_id) in recorder.detail.toPlainText(),
                    "the row's detail",
                )
                await until(lambda: recorder.table.currentIndex().isValid(), "the row selected")
            finally:
                for shown in window.pages.values():
                    shown.page_hidden()
                    shown.tasks.cancel_all()

    qloop.run_until_complete(scenario())


def test_the_question_stays_as_a_transcript_and_both_answers_are_labelled_alike(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    """Review 41, finding 16: after Send the question vanished, the two answers were headed
    "claude-sonnet-4-6" and "openai/gpt-4o-mini", their buttons said "Open in recorder" and
    "Open its row in recorder", Compare was a combo and a second button, Send was grey."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        assert page.send_button.property("primary") is True
        assert not page.transcript.isVisible()
        ask(page, "claude-sonnet-4-6", "which animal holds hands?", qtbot)
        await until(lambda: page.answer.reply is not None, "the first answer")
        assert page.transcript.isVisible()
        assert page.transcript.turns == [("You", "which animal holds hands?")]
        page.compare_box.setEditText("openai/gpt-4o-mini")
        page.compare_button.click()
        await until(lambda: page.second.reply is not None, "the second answer")
        assert page.answer.title.text() == "Anthropic · claude-sonnet-4-6"
        assert page.second.title.text() == "OpenAI · gpt-4o-mini"
        assert page.answer.open_button.text() == page.second.open_button.text()
        assert page.compare_button.text().replace("&", "") == "Compare"
        # The next question: the answers so far join the transcript, above the new one.
        ask(page, "claude-sonnet-4-6", "and why?", qtbot)
        await until(lambda: page.answer.reply is not None and not page.second.isVisible(), "sent")
        await until(lambda: page.answer.reply is not None, "the next answer")
        assert page.transcript.turns == [
            ("You", "which animal holds hands?"),
            ("Anthropic · claude-sonnet-4-6", "Sea otters"),
            ("OpenAI · gpt-4o-mini", "Otters, mostly"),
            ("You", "and why?"),
        ]
        # A one-line answer sits in a box of a few lines, not one filling the page.
        lines = page.answer.text.height() // page.answer.text.fontMetrics().lineSpacing()
        assert lines <= 4

    run_page(
        body,
        replies=(
            Reply.ok("Sea otters", verbatim=True),
            Reply.ok("Otters, mostly", verbatim=True),
            Reply.ok("To stay together", verbatim=True),
        ),
    )
