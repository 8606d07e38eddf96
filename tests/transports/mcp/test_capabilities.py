"""What the server declares is what it does, in both protocol eras, to the official client.

Nothing here ever changes a list or pushes a resource update, there is no logging or
completion handler, and the same server answers both eras: so neither era may claim
`listChanged`, `resources.subscribe`, `logging` or `completions`.
"""

from __future__ import annotations

import pytest
from mcp import Client, MCPError

from llmgw_desktop.config.settings import LoadedSettings
from tests.transports.mcp.conftest import start_gateway

# "auto" discovers the 2026-era server (adopting a version directly learns no capabilities).
MODES = ["legacy", "auto"]
METHOD_NOT_FOUND = -32601


@pytest.mark.parametrize("mode", MODES)
async def test_capabilities_claim_no_events_logging_or_completions(
    loaded: LoadedSettings, mode: str
) -> None:
    runtime, lock = await start_gateway(loaded)
    try:
        async with Client(runtime.mcp_url, mode=mode) as client:
            declared = client.server_capabilities
            era = client.protocol_version
    finally:
        await runtime.stop()
        lock.release()
    assert era == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert declared.tools is not None and not declared.tools.list_changed
    assert declared.prompts is not None and not declared.prompts.list_changed
    assert declared.resources is not None
    assert not declared.resources.list_changed
    assert not declared.resources.subscribe
    assert declared.logging is None
    assert declared.completions is None


async def test_a_2026_listen_is_refused_rather_than_left_open_with_nothing_on_it(
    loaded: LoadedSettings,
) -> None:
    runtime, lock = await start_gateway(loaded)
    try:
        async with Client(runtime.mcp_url, mode="auto") as client:
            assert client.protocol_version == "2026-07-28"
            with pytest.raises(MCPError) as refused:
                async with client.listen(resources_list_changed=True):
                    pytest.fail("subscriptions/listen was acknowledged")
    finally:
        await runtime.stop()
        lock.release()
    assert refused.value.error.code == METHOD_NOT_FOUND
