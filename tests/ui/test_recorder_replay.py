"""Replaying a recorded request on another model (issue 41, review finding 1; user job 6).

On a real desktop gateway whose Anthropic and OpenAI are the scripted upstream: a request sent
by the official `anthropic` SDK is recorded without its body (capture is off), so the Flight
recorder's "Replay on…" is disabled and says so, with the way out: "Turn on capture for
Anthropic", which saves `recorder.capture.providers` to config.toml and takes effect at once.
The next request is kept; "Replay on…" → an OpenAI model opens the Playground with the
recorded answer on one side and, on the other, the same messages sent through the real gateway
to OpenAI (the upstream sees them), its recorder row naming the original as the one it
replays. Copy as curl copies the kept request. The Playground names both models as its pickers
do, "Provider · model", the line saying what was replayed too (it said the raw id: issue 41's
last review), each model's id in the tooltip.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from llmgw_desktop.engine.api import KeptBodies, RecordDetail
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.playground import PlaygroundPage, replayed_turn
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_replay import CAPTURE_KEY, CAPTURE_SETTING
from llmgw_desktop.ui.pages.replay import NOT_CAPTURED, replay_plan
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.provider_names import NOT_ASKED, NOT_ROUTED, ProviderNames
from llmgw_desktop.ui.qt import QGuiApplication
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, messages_request
from tests.waiting import until

REPLAY_MODEL = "gpt-4o-mini"  # as the gateway lists it (OpenAI's, at the upstream)


def test_replay_on_opens_the_playground_with_the_requests_messages_and_the_chosen_model(
    on_window: OnWindow, config_path: Path
) -> None:
    replies = (
        Reply.ok("Sea otters hold hands.", verbatim=True),
        Reply.ok("Sea otters hold hands.", verbatim=True),
        Reply.ok("Otters, mostly.", verbatim=True),
    )

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        window.show_page(RecorderPage.KEY)
        replay = recorder.replay

        # Not kept: Replay is disabled, and the line under it offers capture.
        await messages_request(desk.runtime, {"X-Caller": "sdk-tests"})
        await until(lambda: recorder.model.loaded == 1, "the request listed")
        recorder.table.selectRow(0)
        await until(lambda: NOT_CAPTURED in replay.why_label.text(), "why not")
        assert not replay.replay_button.isEnabled()
        assert not replay.curl_button.isEnabled()
        assert 'href="capture:anthropic"' in replay.why_label.text()
        assert "Turn on capture for Anthropic" in replay.why_label.text()
        # Review 41-3: why, and where the setting is, right there: in the line under the
        # button and in its tooltip (a disabled button's only words).
        line = replay.why_label.text()
        assert "so it cannot be replayed" in line
        assert CAPTURE_SETTING == "Settings › Flight recorder › Capture providers"
        assert CAPTURE_SETTING in line and f'href="setting:{CAPTURE_KEY}"' in line
        tip = replay.replay_button.toolTip()
        assert tip.startswith(f"{NOT_CAPTURED}, so it cannot be replayed"), tip
        assert CAPTURE_SETTING in tip and CAPTURE_KEY in tip and "for Anthropic" in tip
        # Its link opens that setting on the Settings page, chosen.
        replay.why_label.linkActivated.emit(f"setting:{CAPTURE_KEY}")
        settings = window.pages[SettingsPage.KEY]
        assert isinstance(settings, SettingsPage) and window.current_page is settings
        chosen = settings.selected()
        assert chosen is not None and chosen.key == CAPTURE_KEY
        window.show_page(RecorderPage.KEY)
        replay.why_label.linkActivated.emit("capture:anthropic")
        await until(lambda: "anthropic" in engine.body_capture.policy.providers, "capture on")
        saved = tomllib.loads(config_path.read_text(encoding="utf-8"))
        assert saved["recorder"]["capture"]["providers"] == ["anthropic"]
        await until(lambda: "its next requests" in replay.why_label.text(), "said so")

        # Kept: the next request can be replayed, on any model the gateway serves.
        await messages_request(desk.runtime, {"X-Caller": "sdk-tests"})
        recorder.apply_filters()
        await until(lambda: recorder.model.loaded == 2, "the kept request listed")
        recorder.table.selectRow(1)  # away and back: the newest is chosen again
        recorder.table.selectRow(0)
        await until(lambda: replay.replay_button.isEnabled(), "Replay offered")
        assert replay.curl_button.isEnabled()
        original_id = replay.detail.record["id"]  # type: ignore[union-attr]
        replay.curl_button.click()
        assert QGuiApplication.clipboard().text().startswith("curl ")
        await until(
            lambda: any(
                a.objectName() == f"replayOn:{REPLAY_MODEL}"
                for a in replay.menu.findChildren(type(replay.menu.menuAction()))
            ),
            "the gateway's models in the menu",
        )
        menu = [a.text() for a in replay.menu.actions()]
        assert menu[0] == "claude-sonnet-4-6 (the recorded model)"
        choice = next(
            a
            for a in replay.menu.findChildren(type(replay.menu.menuAction()))
            if a.objectName() == f"replayOn:{REPLAY_MODEL}"
        )
        # A chat already on the Playground gives way to the replayed one.
        window.pages[PlaygroundPage.KEY].transcript.add_question("You", "An earlier chat")  # type: ignore[attr-defined]
        asked_before = len(desk.upstream.llm_requests)
        choice.trigger()

        # The Playground: the recorded answer, and the replay's beside it.
        playground = window.pages[PlaygroundPage.KEY]
        assert isinstance(playground, PlaygroundPage)
        assert window.current_page is playground
        assert playground.answer.title.text() == "Recorded · Anthropic · claude-sonnet-4-6"
        assert playground.answer.title.toolTip() == "Model id: claude-sonnet-4-6"
        assert playground.answer.text.toPlainText() == "Sea otters hold hands."
        await until(lambda: playground.second.reply is not None, "the replay answered")
        second = playground.second.reply
        assert second is not None and second.ok
        assert playground.second.text.toPlainText() == "Otters, mostly."
        assert playground.second.isVisible() and playground.answer.isVisible()
        # What was asked stays on screen, with the request it came from.
        await until(lambda: "Replayed request" in playground.status.text(), "said")
        status = playground.status.text()
        assert f"(“hi”) on OpenAI · {REPLAY_MODEL}: the recorded answer" in status, status
        assert playground.status.toolTip() == f"Model id: {REPLAY_MODEL}"
        assert playground.second.title.text() == f"OpenAI · {REPLAY_MODEL}"
        assert playground.second.title.toolTip() == f"Model id: {REPLAY_MODEL}"
        # The transcript is the replayed conversation, not what was on screen before.
        assert playground.transcript.turns == [
            ("You", "hi"),
            ("Recorded · Anthropic · claude-sonnet-4-6", "Sea otters hold hands."),
            (f"OpenAI · {REPLAY_MODEL}", "Otters, mostly."),
        ]
        # Through the real gateway, to OpenAI, with the recorded messages.
        (sent,) = desk.upstream.llm_requests[asked_before:]
        assert sent.dialect == "chat"
        body = json.loads(sent.raw_body)
        assert body["model"] == "gpt-4o-mini"
        assert [m["content"] for m in body["messages"]] == ["hi"]
        assert second.record is not None
        assert second.record["route"]["replayOf"] == original_id

        # Many models: a submenu per provider, by the name the other pages give it (the menu
        # said "anthropic", "claude-cli").
        many = [{"id": f"gpt-{i}", "provider": "openai"} for i in range(9)]
        many += [{"id": f"claude-{i}", "provider": "anthropic"} for i in range(9)]
        replay.set_models(many)
        groups = [a.text() for a in replay.menu.actions() if a.menu() is not None]
        assert groups == ["Anthropic", "OpenAI"], groups

    on_window(body, size=(1024, 700), replies=replies, also_upstream=("openai",))


def test_a_jobs_prompt_is_replayable_and_a_cut_body_says_why_not() -> None:
    job = RecordDetail(
        {"id": "r1", "job_id": "job_1", "model": "sonnet", "state": "completed"},
        job_found=True,
        job_state="completed",
        prompt="Rename the variable",
        response="Done.",
    )
    plan = replay_plan(job)
    assert plan.possible and plan.messages == ({"role": "user", "content": "Rename the variable"},)
    assert (plan.model, plan.answer) == ("sonnet", "Done.")
    cut = KeptBodies("r2", "local", 0.0, "anthropic", "/v1/messages", False, {}, "{", 5, "", 0)
    plan = replay_plan(RecordDetail({"id": "r2", "model": "m", "state": "completed"}, bodies=cut))
    assert not plan.possible and "cut" in plan.why_not
    assert replay_plan(RecordDetail({"id": "r3", "state": "completed"})).why_not == NOT_CAPTURED


def test_a_replayed_message_shows_its_text_parts_and_names_the_rest() -> None:
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url"}],
    }
    assert replayed_turn(message) == ("You", "What is this?\n[image_url]")
    assert replayed_turn({"role": "system", "content": "Be brief."}) == ("System", "Be brief.")
    assert replayed_turn({"role": "assistant", "content": None}) == ("Assistant", "")


def test_a_request_refused_before_any_provider_offers_capture_for_the_one_it_asked(
    on_window: OnWindow,
) -> None:
    """A review found "Turn on capture for never sent" on a row a budget refused: the row has
    no provider of its own (none was asked), and the one it asked for went unnamed."""

    async def body(desk: Desk, window: MainWindow) -> None:
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        refused = RecordDetail(
            {
                "id": "r1",
                "provider": NOT_ROUTED,  # as the recorder keeps a row no route was chosen for
                "state": "refused",
                "model": "gpt-4o-mini",
                "route": {"requestedProvider": "openai"},
            }
        )
        recorder.replay.show_detail(refused, ProviderNames.of(desk.runtime.engine))
        said = recorder.replay.why_label.text()
        assert 'href="capture:openai"' in said and "Turn on capture for OpenAI" in said, said
        assert NOT_ASKED not in said

    on_window(body)
