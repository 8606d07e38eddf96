"""The Playground page on a real gateway, offscreen on a qasync loop (issue 31 item 4).

The page sends through the engine's gateway path to the scripted upstream (Anthropic, and
OpenAI for the comparison), so each answer is a real streamed request with a real recorder row.
The upstream holds its stream halfway (`stream_gate`) so the test sees the first half of the
answer on screen while the second has not been sent yet.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import RecorderFilters
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from llmgw_desktop.ui.pages.playground_answer import AnswerPane
from llmgw_desktop.ui.pages.playground_models import model_label, preferred_model
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_words import format_duration, result_words
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import QApplication, Qt
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnDesk, OnWindow, shown_page
from tests.ui.detail_text import describe_detail
from tests.waiting import until

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


async def answered(page: PlaygroundPage, text: str, qtbot: QtBot, what: str) -> None:
    """Ask claude-sonnet-4-6 `text` (Ctrl+Enter), and wait for its answer (or its failure)."""
    ask(page, "claude-sonnet-4-6", text, qtbot)
    await until(lambda: page.answer.reply is not None, what)


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
        # Rendered on screen as it comes, not only kept.
        on_screen = await until(
            lambda: next((p for p in page.answer.text.prose() if p.isVisible()), None),
            "the first pieces drawn (a widget added is shown on the loop's next turn)",
        )
        assert on_screen.source == shown.strip()
        assert page.answer.title.text().endswith("claude-sonnet-4-6 · answering…")
        # Send is Stop while it streams (issue 64: nothing stopped a 600 s answer).
        assert not page.answer.figures.text() and page.send_button.text() == "&Stop"
        assert page.send_button.isEnabled() and page.streaming
        gate.set()
        await until(lambda: page.answer.reply is not None, "the answer finished")
        assert page.answer.text.toPlainText() == ANSWER
        assert page.answer.text.prose()[0].source == ANSWER
        assert page.answer.title.text() == "Anthropic · claude-sonnet-4-6"
        # The metadata line: one line of the recorder row's figures.
        figures = page.answer.figures.text().replace("\u00a0", " ")
        assert figures.startswith("Tokens in 12 · out 7 · cache read 200"), figures
        assert "first token" in figures and "$" in figures and "\n" not in figures
        assert page.answer.figures.toolTip() == "Anthropic · claude-sonnet-4-6 · completed"
        assert page.answer.open_button.isEnabled() and page.send_button.isEnabled()
        assert page.send_button.text() == "&Send"
        # Recorded like any request, under the playground's name.
        reply = page.answer.reply
        assert reply is not None and reply.record is not None
        assert reply.record["caller"] == "playground" and reply.record["transport"] == "desktop"
        # Gallery review, finding 2: "first token 4 ms · total 2 ms". Both times are the
        # row's, from its own start: the first token (before the held half) within the total.
        first, total = reply.record["route"]["firstTokenMs"], reply.record["duration_ms"]
        assert 0 <= first < total, (first, total)
        timing = f"first token {format_duration(first)} · total {format_duration(total)}"
        assert figures.endswith(timing), figures
        # It wraps after a dot, never before one: no line starts with "· total".
        assert " · " not in page.answer.figures.text().replace("\u00a0·", "")

    run_page(
        body,
        replies=(Reply.ok(ANSWER, verbatim=True),),
    )


async def _row(desk: Desk, finished: Callable[[dict[str, object]], bool]) -> dict[str, object]:
    """The latest recorder row once `finished(row)` holds (its end is written off the loop)."""
    engine = desk.runtime.engine
    async with asyncio.timeout(10):
        while True:
            rows = (await engine.recorder_query.page(RecorderFilters(), limit=1)).rows
            if rows:
                detail = await engine.recorder_query.detail(rows[0].id)
                if detail is not None and finished(detail.record):
                    return detail.record
            await asyncio.sleep(0.02)


def test_stop_ends_a_streaming_answer_where_it_is_and_its_row_says_the_caller_stopped_it(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        desk.upstream.stream_gate = asyncio.Event()  # never opened: the answer would wait
        ask(page, "claude-sonnet-4-6", "tell me about otters", qtbot)
        shown = await until(lambda: page.answer.text.toPlainText(), "the first pieces")
        assert page.send_button.text() == "&Stop" and page.send_button.isEnabled()
        page.send_button.click()
        reply = await until(lambda: page.answer.reply, "the answer stopped")
        assert reply.stopped and reply.text.strip() == shown.strip()
        assert page.answer.text.toPlainText() == shown  # what came is kept
        assert "you stopped the answer" in page.answer.error.text()
        assert page.answer.error.property("tone") == "muted"  # not a failure
        assert "Stopped" in page.status.text()
        assert page.send_button.text() == "&Send" and not page.streaming
        row = await _row(desk, lambda r: r["state"] != "started")
        assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
        assert row["id"] == reply.record_id and row["caller"] == "playground"
        assert "the caller stopped it" in result_words(row)
        # The next message goes on from the stopped answer, as far as it came.
        desk.upstream.stream_gate = None
        await answered(page, "and beavers?", qtbot, "the next answer")
        assert page.answer.reply is not None and page.answer.reply.ok

    run_page(body, replies=(Reply.ok(ANSWER, verbatim=True),))


def test_an_answer_stopped_before_it_began_names_its_row(run_page: RunPage, qtbot: QtBot) -> None:
    """Stopped while the model had not answered at all: "No recorder row.", Open in recorder
    disabled, beside the row the recorder had for it (person pass, 2026-11-29)."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        ask(page, "claude-sonnet-4-6", "are you there?", qtbot)
        await until(lambda: desk.upstream.llm_requests, "the request upstream")
        page.send_button.click()
        reply = await until(lambda: page.answer.reply, "the answer stopped")
        assert reply.stopped and reply.record_id is not None, reply
        assert "No recorder row." not in page.answer.figures.text()
        assert page.answer.open_button.isEnabled()
        row = await _row(desk, lambda r: r["state"] != "started")
        assert row["id"] == reply.record_id and row["state"] == "canceled", row

    run_page(body, replies=(Reply.slow(30.0),))


def test_new_chat_during_an_answer_stops_it_and_says_so(run_page: RunPage, qtbot: QtBot) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        desk.upstream.stream_gate = asyncio.Event()
        ask(page, "claude-sonnet-4-6", "tell me about otters", qtbot)
        await until(lambda: page.answer.text.toPlainText(), "the first pieces")
        page.new_button.click()
        assert "Stopped the answer" in page.status.text()
        assert not page.transcript.turns
        row = await _row(desk, lambda r: r["state"] != "started")
        assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
        await until(lambda: not page.streaming and page.send_button.text() == "&Send", "Send")
        assert "Stopped the answer" in page.status.text()  # the old answer's end says nothing

    run_page(body, replies=(Reply.ok(ANSWER, verbatim=True),))


def test_compare_sends_the_same_request_to_a_second_model_and_links_the_rows(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        await answered(page, "which animal holds hands?", qtbot, "the first answer")
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
        await answered(page, "hello", qtbot, "the failure reported")
        error = page.answer.error.text()
        assert page.answer.error.isVisible()
        assert error.startswith("No answer:") and "all_routes_failed" in error, error
        assert "did not answer" in page.status.text()
        # The failed request is a recorder row too, and the page links to it.
        reply = page.answer.reply
        assert reply is not None and reply.record is not None
        assert reply.record["state"] == "failed" and page.answer.open_button.isEnabled()
        assert page.send_button.isEnabled()
        # It cost nothing, as its recorder row says ("not priced" read as a gap in the prices).
        figures = page.answer.figures.text().replace("\u00a0", " ")
        assert "none (no tokens)" in figures and "not priced" not in figures, figures

    run_page(
        body,
        replies=(Reply.error(500, "the model is on fire (fake)"),),
    )


def test_the_pickers_mark_the_models_of_a_provider_failing_now(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    """A helper's review: the model list did not mark a failing provider's models, and sent to
    them as to any other. Its key refused, Anthropic's models are drawn in the error colour
    with the verdict's words in their tooltip (OpenAI's are not); once it answers again, the
    mark goes."""
    from llmgw_desktop.ui.theme import error_colour

    def marks(page: PlaygroundPage) -> dict[str, str]:
        box = page.model_box
        found = {}
        for number in range(box.count()):
            colour = box.itemData(number, Qt.ItemDataRole.ForegroundRole)
            tip = box.itemData(number, Qt.ItemDataRole.ToolTipRole)
            if colour is not None:
                assert colour.name() == error_colour()
                found[box.itemText(number)] = str(tip)
        return found

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.page_shown()
        await until(lambda: page.model_box.count() > 1, "the models listed")
        assert marks(page) == {}
        await answered(page, "hello", qtbot, "the refusal reported")
        found = marks(page)
        assert found and all(label.startswith("Anthropic · ") for label in found), found
        tip = next(iter(found.values()))
        assert tip.startswith("Failing now: Anthropic: Key refused: 1 call answered 401"), tip
        assert page.model_box.toolTip().startswith("Failing now: Anthropic: Key refused")
        compared = page.compare_box
        assert any(
            compared.itemData(n, Qt.ItemDataRole.ForegroundRole) is not None
            for n in range(compared.count())
        )
        await answered(page, "again", qtbot, "the second answer")
        assert page.answer.reply is not None and page.answer.reply.ok
        assert marks(page) == {} and page.model_box.toolTip() == ""

    run_page(body, replies=(Reply.error(401, "invalid x-api-key"),))


def test_open_in_recorder_shows_the_answers_row_in_the_flight_recorder(
    on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(_desk: Desk, window: MainWindow) -> None:
        page = shown_page(window, PlaygroundPage)
        await answered(page, "hello", qtbot, "the answer")
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

    on_window(body)


def test_the_conversation_reads_as_one_chat_with_compared_answers_side_by_side(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    """Issue 54.1: the history sat in a 60 px box and the last answer was repeated in a second
    box below it. Each question and answer is shown once, in order, in one conversation; a
    compared answer sits beside the first, both headed alike."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        assert page.send_button.property("primary") is True
        assert page.transcript.turns == [] and page.transcript.empty.isVisible()
        await answered(page, "which animal holds hands?", qtbot, "the first answer")
        assert not page.transcript.empty.isVisible()
        page.compare_box.setEditText("openai/gpt-4o-mini")
        page.compare_button.click()
        await until(lambda: page.second.reply is not None, "the second answer")
        first_row = (page.answer, page.second)
        assert page.answer.title.text() == "Anthropic · claude-sonnet-4-6"
        assert page.second.title.text() == "OpenAI · gpt-4o-mini"
        top = page.answer.mapTo(page, page.answer.rect().topLeft())
        beside = page.second.mapTo(page, page.second.rect().topLeft())
        assert top.y() == beside.y() and beside.x() > top.x() + page.answer.width() // 2
        assert page.answer.open_button.text() == page.second.open_button.text()
        assert page.compare_button.text().replace("&", "") == "Compare"
        ask(page, "claude-sonnet-4-6", "and why?", qtbot)
        await until(lambda: page.answer.reply is not None, "the next answer")
        assert page.transcript.turns == [
            ("You", "which animal holds hands?"),
            ("Anthropic · claude-sonnet-4-6", "Sea otters"),
            ("OpenAI · gpt-4o-mini", "Otters, mostly"),
            ("You", "and why?"),
            ("Anthropic · claude-sonnet-4-6", "To stay together"),
        ]
        # The earlier answers stay where they were; nothing is shown twice.
        assert all(pane.isVisible() for pane in first_row) and not page.second.isVisible()
        shown = [w.text.toPlainText() for w in page.transcript.findChildren(AnswerPane)]
        assert sorted(t for t in shown if t) == ["Otters, mostly", "Sea otters", "To stay together"]
        # The model asked first is what the next question went to, with the chat so far.
        asked = [r for r in desk.upstream.llm_requests if r.is_llm][-1].raw_body.decode()
        assert "which animal holds hands?" in asked and "Sea otters" in asked

    run_page(
        body,
        replies=(
            Reply.ok("Sea otters", verbatim=True),
            Reply.ok("Otters, mostly", verbatim=True),
            Reply.ok("To stay together", verbatim=True),
        ),
    )


def test_both_pickers_name_models_as_the_answers_are_headed(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    """Review 41-2, #16: the pickers said "claude-sonnet-4-6" and "openai/gpt-4o-mini", the
    figures under the answers "anthropic · …" under headings "Anthropic · …". Each picker lists
    the gateway's models as "Provider · model", the provider by the name every page uses; an id
    typed or handed over shows as that name; heading, figures and picker then say the same."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.page_shown()
        await until(lambda: page.model_box.count() > 1, "the gateway's models listed")
        names = ProviderNames.of(desk.runtime.engine)
        models = await desk.runtime.engine.playground.models()
        for box in (page.model_box, page.compare_box):
            listed = [box.itemText(i) for i in range(box.count())]
            assert listed == sorted(model_label(m, names) for m in models)
            assert all(re.fullmatch(r"[A-Z][\w ()]* · \S+", label) for label in listed), listed
        assert "Anthropic · claude-sonnet-4-6" in listed and "OpenAI · gpt-4o-mini" in listed
        page.model_box.choose("claude-sonnet-4-6")
        page.compare_box.choose("openai/gpt-4o-mini")  # as a person types it
        assert page.model_box.currentText() == "Anthropic · claude-sonnet-4-6"
        assert page.compare_box.currentText() == "OpenAI · gpt-4o-mini"
        page.prompt.setPlainText("which animal holds hands?")
        page.send()
        await until(lambda: page.answer.reply is not None, "the first answer")
        page.compare_button.click()
        await until(lambda: page.second.reply is not None, "the second answer")
        for pane, box in ((page.answer, page.model_box), (page.second, page.compare_box)):
            assert pane.title.text() == box.currentText()
            assert pane.figures.toolTip() == f"{box.currentText()} · completed"
        # An id the gateway does not list is sent as typed.
        page.compare_box.choose("some-provider/unlisted-model")
        assert page.compare_box.chosen_model() == "some-provider/unlisted-model"

    run_page(
        body,
        replies=(Reply.ok("Sea otters", verbatim=True), Reply.ok("Otters, mostly", verbatim=True)),
    )


TEN_ANSWERS = tuple(
    Reply.ok(
        f"Answer {n}: otters hold paws.\n\n- so they do not drift\n- and stay warm", verbatim=True
    )
    for n in range(10)
)


@pytest.mark.parametrize("size", [(1120, 740), (1024, 700)])
def test_the_conversation_fills_the_page_and_the_box_stays_at_its_foot(
    size: tuple[int, int],
    on_desk: OnDesk,
    qtbot: QtBot,
) -> None:
    """Issue 54.1: the history box was about 60 px tall, the message box floated mid-page and
    moved down with each turn, and the bottom 40 % of the page was empty. The conversation
    takes the page's height; the box is pinned to its foot and does not move in ten turns."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.model_box.choose("claude-sonnet-4-6")
        await asyncio.sleep(0.02)

        def box_place() -> tuple[int, int]:
            top = page.prompt.mapTo(page, page.prompt.rect().topLeft()).y()
            return top, top + page.prompt.height()

        empty_place = box_place()
        assert page.transcript.height() >= 0.6 * page.height(), (page.transcript.height(), size)
        assert page.height() - empty_place[1] <= 3 * SPACE["m"], (empty_place, page.height())
        for turn in range(10):
            page.prompt.setPlainText(f"Question {turn}: why do otters hold hands?")
            page.send()
            await until(lambda: page.answer.reply is not None, f"answer {turn}")
            await asyncio.sleep(0.005)
            assert box_place() == empty_place, turn
        assert page.transcript.height() >= 0.6 * page.height()
        assert len(page.transcript.turns) == 20
        # The newest answer is in view: the conversation followed it down.
        bar = page.transcript.verticalScrollBar()
        assert bar.maximum() > 0 and bar.value() == bar.maximum()
        last = page.answer.mapTo(page.transcript.viewport(), page.answer.rect().bottomLeft())
        assert 0 < last.y() <= page.transcript.viewport().height()

    on_desk(PlaygroundPage, body, size=size, replies=TEN_ANSWERS)


CODE_ANSWER = (
    "Use a **dict**:\n\n"
    "```python\n"
    "counts = {}\n"
    "for word in words:\n"
    "    counts[word] = counts.get(word, 0) + 1\n"
    "```\n\n"
    "Then `sorted(counts)`. <b>not html</b> ![x](/etc/passwd)"
)


def test_markdown_renders_and_a_code_block_copies_its_code(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    """Issue 54.1: answers render Markdown; each code block has its own Copy button. The
    answer's raw HTML is shown as text and an image is its alternative text, never loaded."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        await answered(page, "count words", qtbot, "the answer")
        view = page.answer.text
        (block,) = view.code_blocks()
        assert block.code.text() == (
            "counts = {}\nfor word in words:\n    counts[word] = counts.get(word, 0) + 1"
        )
        assert block.title.text() == "<b>python</b>"
        before, after = view.prose()
        assert "font-weight:700" in before.text() and "dict" in before.text()
        assert "&lt;b&gt;not html&lt;/b&gt;" in after.text() and "<img" not in after.text()
        assert "passwd" not in after.text()
        block.copy_button.click()
        assert QApplication.clipboard().text() == block.code.text()
        assert block.copy_button.text() == "Copied"
        page.answer.copy_button.click()
        assert QApplication.clipboard().text() == CODE_ANSWER

    run_page(body, replies=(Reply.ok(CODE_ANSWER, verbatim=True),))


def test_the_picker_opens_on_the_model_last_sent_from_here(
    on_desk: OnDesk,
    qtbot: QtBot,
) -> None:
    """Issue 54.1: the model offered was the first alphabetically (`gpt-4.1`). The picker opens
    on the one last sent from this window, in a page built anew (the window's next start)."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.page_shown()
        await until(lambda: page.model_box.count() > 1, "the gateway's models listed")
        page.model_box.choose("openai/gpt-4o-mini")
        page.prompt.setPlainText("hello")
        page.send()
        await until(lambda: page.answer.reply is not None, "the answer")
        context = PageContext(bridge=desk.bridge, actions=desk.actions, facts=desk.facts)
        again = PlaygroundPage(context)
        try:
            again.page_shown()
            await until(lambda: again.model_box.count() > 1, "listed again")
            assert again.model_box.chosen_model() == "gpt-4o-mini"
            assert again.model_box.currentText() == "OpenAI · gpt-4o-mini"
        finally:
            again.deleteLater()

    on_desk(
        PlaygroundPage, body, replies=(Reply.ok("hi", verbatim=True),), also_upstream=("openai",)
    )


MODELS = [
    {"id": "gpt-4.1", "provider": "openai", "type": "api"},
    {"id": "gpt-4o-mini", "provider": "openai", "type": "api"},
    {"id": "claude-sonnet-4-6", "provider": "anthropic", "type": "api"},
    {"id": "claude-cli/haiku", "provider": "claude-cli", "type": "cli"},
    {"id": "fast", "provider": "openai", "type": "alias"},
]


def test_the_default_model_is_one_that_answers() -> None:
    assert preferred_model(MODELS, last_used="claude-sonnet-4-6") == "claude-sonnet-4-6"
    assert preferred_model(MODELS, last_used="gone", default="gpt-4o-mini") == "gpt-4o-mini"
    # The provider that answered most lately, unless it fails now.
    assert preferred_model(MODELS, answering=["anthropic", "openai"]) == "claude-sonnet-4-6"
    picked = preferred_model(MODELS, answering=["anthropic", "openai"], failing={"anthropic"})
    assert picked == "gpt-4.1"
    # Nothing answered yet: an API's model before a CLI's, a failing provider's last.
    assert preferred_model(MODELS, failing={"openai", "anthropic"}) == "claude-cli/haiku"
    assert preferred_model([]) == ""


def test_two_answers_side_by_side_fit_the_page_at_1024(on_desk: OnDesk, qtbot: QtBot) -> None:
    """The gallery at 1024x700: the compared answer ran past the window's edge ("Open in
    re"). Both answers, their figures and buttons lie within the conversation's width."""

    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.model_box.choose("claude-sonnet-4-6")
        page.compare_box.choose("openai/gpt-4o-mini")
        page.prompt.setPlainText("Why do sea otters hold hands?")
        page.send()
        await until(lambda: page.answer.reply is not None, "the first answer")
        page.compare_button.click()
        await until(lambda: page.second.reply is not None, "the second answer")
        await asyncio.sleep(0.02)
        viewport = page.transcript.viewport()
        assert page.transcript.widget().width() <= viewport.width()
        for pane in (page.answer, page.second):
            for part in (pane, pane.open_button, pane.figures):
                right = part.mapTo(viewport, part.rect().topRight()).x()
                assert right <= viewport.width(), (part.objectName(), right, viewport.width())

    on_desk(
        PlaygroundPage,
        body,
        size=(828, 600),  # the page's room in a 1024x700 window
        replies=(
            Reply.ok(
                "Sea otters hold paws while they sleep, so the current does not carry them "
                "apart. A group resting together is called a raft.",
                verbatim=True,
            ),
            Reply.ok(
                "They link paws (and sometimes wrap themselves in kelp) so that they stay "
                "together while asleep on the water.",
                verbatim=True,
            ),
        ),
        also_upstream=("openai",),
    )


def test_embed_sends_the_message_to_an_embedding_model_and_describes_the_vector(
    run_page: RunPage,
    qtbot: QtBot,
) -> None:
    async def body(desk: Desk, page: PlaygroundPage) -> None:
        page.page_shown()
        await until(lambda: page.model_box.count() > 0, "the gateway's models listed")
        page.model_box.setEditText("text-embedding-3-small")
        page.prompt.setPlainText("otters hold hands")
        qtbot.mouseClick(page.embed_button, Qt.MouseButton.LeftButton)
        await until(lambda: page.answer.reply is not None, "the embedding")
        reply = page.answer.reply
        assert reply is not None and reply.ok, reply
        assert re.match(r"\d+ dimensions: \[-?\d\.\d{4}", page.answer.text.toPlainText())
        # Recorded as an embedding, through the gateway to the provider's own endpoint.
        assert reply.record is not None and reply.record["caller"] == "playground"
        assert [r.path for r in desk.upstream.requests][-1].endswith("/embeddings")
        # An embedding is no turn of the chat: the next message starts the conversation.
        assert page._messages == [] and page.send_button.isEnabled()

    run_page(body)


def test_an_answer_cancelled_elsewhere_says_it_stopped_once_not_in_red(qtbot: QtBot) -> None:
    """Review 2026-11-28 under Xvfb: a Qwen Code job cancelled on the Jobs page read "No
    answer: the job was canceled (...) (canceled)" in red: a failure said twice, for a cancel
    the person made."""
    from llmgw_desktop.engine.api import PlaygroundReply

    pane = AnswerPane("A")
    qtbot.addWidget(pane)
    said = "the job was canceled (3 model calls of this job failed at the gateway; the last: x)"
    reply = PlaygroundReply("qwen-cli/qwen3-coder-plus", "", None, said, "canceled")
    pane.finish(reply, "Qwen Code", ProviderNames())
    assert pane.error.text() == f"Stopped: {said}"
    assert pane.error.property("tone") == "muted"
