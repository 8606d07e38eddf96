"""The recorder detail's kept bodies, on a real gateway: side by side, Copy as curl, Export.

Capture is turned on while the gateway runs (as the Settings page does), a real request goes
through the gateway's Anthropic route to the scripted upstream, and the page shows what was
kept. With capture off the detail says plainly that nothing is kept and how to change that.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_bodies import TOKEN_PLACEHOLDER
from llmgw_desktop.ui.pages.recorder_words import CAPTURE_OFF
from llmgw_desktop.ui.qt import QGuiApplication
from tests.ui.desk_gateway import RunDesk, messages_request
from tests.ui.test_recorder_page import until

SECRET = "sk-ant-api03-" + "Z" * 40
# Found before a test empties PATH (the desk gateway does, so no real CLI is checked).
CURL, BASH = shutil.which("curl"), shutil.which("bash")


def test_kept_bodies_show_side_by_side_copy_as_curl_and_export(
    run_desk: RunDesk,
    loaded: LoadedSettings,
    tmp_path: Path,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        runtime.engine.body_capture.apply("recorder.capture.providers", ["anthropic"])
        await messages_request(runtime, {"X-Caller": "sdk-tests", "x-trace-note": SECRET})
        page.page_shown()
        await until(lambda: page.model.loaded == 1, "the request listed")
        page.table.selectRow(0)
        await until(lambda: page.bodies.isVisible(), "the kept bodies shown")
        assert '"messages"' in page.bodies.request_view.toPlainText()
        assert "FAKE-OK" in page.bodies.response_view.toPlainText()
        assert "shown below, the request over its response" in page.detail.toPlainText()

        page.bodies.curl_button.click()
        copied = QGuiApplication.clipboard().text()
        assert copied.startswith(f"curl {runtime.base_url}/v1/messages")
        assert f'-H "x-api-key: {TOKEN_PLACEHOLDER}"' in copied
        # The request as the SDK sent it: its headers and its compact JSON.
        assert "anthropic-version: " in copied and "user-agent: AsyncAnthropic/" in copied
        assert '"content":"hi"' in copied
        assert SECRET not in copied and "[REDACTED]" in copied
        assert "Copied" in page.bodies.note.text()
        if CURL and BASH:
            # The command as a person would paste it: it reaches the gateway and is answered.
            ran = await asyncio.create_subprocess_exec(
                BASH,
                "-c",
                copied.replace("curl ", "curl -s -o /dev/null -w '%{http_code}' ", 1),
                stdout=asyncio.subprocess.PIPE,
                env={
                    **os.environ,
                    "PATH": os.path.dirname(CURL),
                    "LLMGW_TOKEN": "unused-on-loopback",
                },
            )
            out, _ = await asyncio.wait_for(ran.communicate(), 10)
            assert out.decode() == "200", out

        target = tmp_path / "bodies.json"
        page.bodies.export_to(str(target))
        exported = json.loads(target.read_text(encoding="utf-8"))
        assert exported["request"]["messages"][0]["content"] == "hi"
        assert exported["endpoint"] == "/v1/messages" and SECRET not in target.read_text()

    run_desk(body)


def test_with_capture_off_the_detail_says_nothing_is_kept_and_how_to_keep_it(
    run_desk: RunDesk,
    loaded: LoadedSettings,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        await messages_request(runtime, {"X-Caller": "sdk-tests"})
        page.page_shown()
        await until(lambda: page.model.loaded == 1, "the request listed")
        page.table.selectRow(0)
        await until(lambda: CAPTURE_OFF in page.detail.toPlainText(), "capture is off")
        assert not page.bodies.isVisible()

    run_desk(body)
