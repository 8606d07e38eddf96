"""The MCP door passes on the credential its edge proved, whole, as the HTTP doors do: a job's
connection key counts the calls it makes over MCP on the job's project, whatever a tool's
`project` argument or X-Project names (the HTTP doors' `project_scope`). The MCP caller kept
only the principal's id, method and scopes, so over MCP the project was the caller's to choose.
The operator's per-caller pin over MCP is `tests/security/keys/test_caller_pins.py`. Real
gateway, the official MCP client, the scripted upstream."""

from __future__ import annotations

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from tests.fakes.upstream import ScriptedUpstream
from tests.mcp_wire import mcp_session
from tests.security.keys.test_gateway_keys import TOKEN
from tests.transports.gateway.conftest import GatewayFactory


async def test_a_jobs_key_counts_its_mcp_calls_on_the_jobs_project(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"http.auth_token": TOKEN})
    keys = gateway.engine.auth.connection_keys
    key = keys.issue(LOCAL_CALLER, "opencode", job="job-token", project="shop")
    headers = {"Authorization": f"Bearer {key}", "X-Project": "elsewhere"}
    async with mcp_session(gateway.mcp_url, headers=headers) as client:
        answer = await client.call_tool(
            "ask_model", {"model": "gpt-4o", "prompt": "hi", "project": "other"}
        )
    assert not answer.is_error, answer
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert (row["project"], row["caller"]) == ("shop", "opencode"), row
