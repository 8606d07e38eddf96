"""The names the seeds' gateways use, answered here: what mcp-llm-bridge's dashboard reads in
`/v1/models`, and the paths Bifrost's and CliGate's users already have in their settings."""

from __future__ import annotations

from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime


async def get(gateway: GatewayRuntime, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.base_url + path, **kwargs) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def test_every_model_row_has_the_name_and_output_limit_the_seeds_dashboard_reads(
    gateway: GatewayRuntime,
) -> None:
    status, listing = await get(gateway, "/v1/models")
    assert status == 200
    rows = {row["id"]: row for row in listing["data"]}
    assert all("name" in row and "max_tokens" in row for row in rows.values())
    sonnet = rows["claude-sonnet-4-6"]
    assert sonnet["name"] == "Claude Sonnet 4.6" and sonnet["max_tokens"] == 64000
    assert rows["gpt-4o"]["max_tokens"] == 16384
    # What the gateway does not know it does not guess: the id as the name, no limit.
    unknown = [row for row in rows.values() if row["max_tokens"] is None]
    assert all(isinstance(row["name"], str) and row["name"] for row in unknown)
