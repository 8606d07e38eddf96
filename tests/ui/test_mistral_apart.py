"""Mistral's API and its Vibe CLI are two providers (issue 25): both used to be recorded as
`mistral`, so the recorder, spend and both health rows showed the same count. The API now
records as its switch id, `mistral-api`.

Real engine and gateway: the official `openai` SDK asks the Mistral API (pointed at the
scripted upstream) and the Mistral Vibe stand-in (tests/fakes/fake_vibe.py, a real process:
the real Vibe takes ~20 s a call) answers a CLI call.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import openai
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls import CallParams
from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.ui.pages.provider_health import ProviderHealthTable
from llmgw_desktop.ui.tasks import UiTasks
from tests.ui.desk_gateway import Desk, OnGateway
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
API_CALLS = 2
STEP_TIMEOUT = 30.0


def test_mistral_api_and_vibe_are_recorded_and_shown_apart(
    on_gateway: OnGateway,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("VIBE_HOME", str(tmp_path / "vibe-home"))
    monkeypatch.setenv("VIBE_TEST_PYTHON", sys.executable)
    with_vibe = replace(
        loaded, settings=loaded.settings.with_values({"providers.cli_path": [str(FAKE_BIN)]})
    )

    async def body(desk: Desk) -> None:
        monkeypatch.setenv("VIBE_TEST_BASE_URL", desk.upstream.base_url)
        engine = desk.runtime.engine
        client = openai.AsyncOpenAI(
            base_url=desk.runtime.base_url + "/v1", api_key="unused", max_retries=0
        )
        for _ in range(API_CALLS):
            await client.chat.completions.create(
                model="mistral/mistral-large-latest",
                messages=[{"role": "user", "content": "hi"}],
            )
        await client.close()
        job = await engine.calls.submit("mistral", CallParams(prompt="hi"), "local")
        await engine.jobs.wait(job.job_id, "local", timeout_s=STEP_TIMEOUT)

        page = await engine.recorder_query.page(RecorderFilters())
        assert sorted(r.provider for r in page.rows) == ["mistral", *["mistral-api"] * 2]
        api_only = await engine.recorder_query.page(RecorderFilters(provider="mistral-api"))
        assert len(api_only.rows) == API_CALLS

        # Overview's health table: two rows, two names, each with its own count.
        tasks = UiTasks()
        table = ProviderHealthTable(desk.bridge, tasks)
        qtbot.addWidget(table)
        table.start()
        try:
            await until(lambda: table.cell("mistral-api", "Status") == "Ready", "API row")
            await until(lambda: table.cell("mistral", "Calls 15 min") == "1", "Vibe")
            assert table.cell("mistral-api", "Provider") == "Mistral API"
            assert table.cell("mistral", "Provider") == "Mistral Vibe"
            assert table.cell("mistral-api", "Calls 15 min") == str(API_CALLS)
        finally:
            table.stop()
            tasks.cancel_all()

    on_gateway(body, loaded=with_vibe, also_upstream=("mistral",))
