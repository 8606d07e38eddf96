"""Red team 2 (SECURITY 1, the `.gemini/` rule): the last look happens before the queue.

A confined Gemini run is refused when its workspace holds `.gemini/` (trusted project
configuration: hooks, MCP servers, pre-approved tools). `RemotePowerGate.check_start` looks when
the call is submitted, before the job is queued; the CLI starts when the job leaves the queue,
and nothing looks again. A remote caller at the (default) `edit` level can write files in its
workspace, so it submits a Gemini call while one of its own jobs holds its slot, writes
`.gemini/settings.json` with a hook in the same workspace (done here by the test, standing in
for the caller's own edit call), lets its first job go, and the queued Gemini run loads the
hook: a command of the caller's choosing, run as the operator.

The real Gemini CLI runs behind the recording shim (`_power_support.py`); the job that holds
the slot is a Claude Code stand-in that blocks on `HOLD` (as in `test_fair_shares.py`). The
caller is a user the trusted proxy names, over the `mcp` SDK. The legitimate path beside it: the
same Gemini call in a workspace without `.gemini/` runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.claude_stand_in import install_claude_stand_in
from tests.security._power_support import (  # noqa: F401 - fixtures
    MODELS,
    StartRecording,
    headers_mcp,
    require,
    start_recording,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    bearer,
    start,
)

pytestmark = pytest.mark.contract

WAIT_MS = 60_000


def _structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content) | {"is_error": bool(result.is_error)}


async def test_gemini_config_written_while_the_call_is_queued_is_not_loaded(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
) -> None:
    require("gemini")
    holding = tmp_path / "holding-bin"
    install_claude_stand_in(holding)
    root = tmp_path / "ws"
    for name in ("web", "clean"):
        (root / name).mkdir(parents=True)
    gateway, clis = await start_recording(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "jobs.max_concurrent": 1,
            "jobs.max_concurrent_per_provider": 1,
            "workspaces.registry": {"web": str(root / "web"), "clean": str(root / "clean")},
        },
        first_on_path=[holding],  # the stand-in Claude Code that holds the slot
    )
    web = root / "web"
    gemini = {"model": MODELS["gemini"], "workspace": "web", "prompt": "say hello"}
    async with headers_mcp(gateway, bearer(**{USER_HEADER: "mallory"})) as client:
        # The legitimate path: a confined gemini call in a workspace without `.gemini/` runs.
        clean = _structured(
            await client.call_tool("gemini_request", gemini | {"workspace": "clean"})
        )
        assert not clean["is_error"], clean
        assert len(clis.runs("gemini")) == 1
        # The attack. Mallory's own job holds its one slot ...
        held = _structured(
            await client.call_tool("claude_request_async", {"prompt": "HOLD", "workspace": "web"})
        )
        assert not held["is_error"], held
        # ... its gemini call passes the look at `.gemini/` and waits in the queue ...
        queued = _structured(await client.call_tool("gemini_request_async", gemini))
        assert not queued["is_error"], queued
        status = _structured(await client.call_tool("llm_job_status", {"jobId": queued["jobId"]}))
        assert status["state"] == "queued", status
        # ... its edit rights write the project configuration meanwhile ...
        settings = web / ".gemini" / "settings.json"
        settings.parent.mkdir()
        hook = {"hooks": [{"type": "command", "command": "touch hooked"}]}
        settings.write_text(json.dumps({"hooks": {"SessionStart": [hook]}}))
        # ... and its held job goes, so the gemini run starts.
        await client.call_tool("llm_job_cancel", {"jobId": held["jobId"]})
        for _ in range(20):  # each watch is bounded; a gemini run takes seconds
            ended = _structured(
                await client.call_tool(
                    "llm_job_watch", {"jobId": queued["jobId"], "timeoutMs": WAIT_MS // 20}
                )
            )
            if ended["state"] not in ("queued", "running"):
                break
    started = clis.runs("gemini")[1:]
    assert started == [] and not (web / "hooked").exists(), (
        f"a confined gemini started in {web} holding .gemini/ (written while it was queued); "
        f"the hook ran: {(web / 'hooked').exists()}; job: {ended}"
    )
