"""The user's own servers' prompts and resources beside ours: listed under each server's name,
got and read through the official `mcp` client on our /mcp, under the server's policy, each
use a recorder row. Real servers: `@modelcontextprotocol/server-everything` from npm and the
Python SDK's own MCPServer (tests/fakes/mcp_crasher.py), both over stdio."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from tests.security._oauth_support import oauth_settings
from tests.security._power_support import oauth_mcp
from tests.transports.mcp.upstream_support import (
    Start,
    crasher,
    everything,
    local_mcp,
    rows,
)


async def test_the_local_user_gets_their_prompts_and_reads_their_resources_each_recorded(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"everything": everything(), "crasher": crasher()}})
    async with local_mcp(gateway) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        resources = {r.uri for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        simple = await client.get_prompt("everything__simple-prompt")
        greeting = await client.get_prompt("crasher__greeting", {"name": "Ada"})
        readme = await client.read_resource("crasher+note://crasher/readme")
        item = await client.read_resource("crasher+note://crasher/item/7")
        documents = sorted(r for r in resources if r.startswith("everything+demo://"))
        document = await client.read_resource(documents[0])
    # Ours first, theirs beside them under each server's name.
    assert {"review_loop", "consensus"} <= prompts, prompts
    assert {"everything__simple-prompt", "crasher__greeting"} <= prompts, prompts
    assert {"gateway://health", "crasher+note://crasher/readme"} <= resources, resources
    assert "crasher+note://crasher/item/{item}" in templates, templates
    assert any(t.startswith("everything+demo://resource/dynamic/") for t in templates), templates
    assert "Ada" in greeting.messages[0].content.text, greeting
    assert simple.messages, simple
    assert readme.contents[0].text == "the crasher's readme", readme
    # A content's URI is offered as ours too, so the client can read it again by it.
    assert readme.contents[0].uri == "crasher+note://crasher/readme", readme
    assert item.contents[0].text == "item 7", item
    assert document.contents and document.contents[0].uri == documents[0], document
    uses = [(r["tool"], r["state"]) for r in await rows(gateway, "crasher")]
    assert sorted(uses) == [
        ("crasher+note://crasher/item/7", "completed"),
        ("crasher+note://crasher/readme", "completed"),
        ("crasher__greeting", "completed"),
    ], uses
    # Neither the prompt's arguments nor what it rendered are kept by default.
    assert "Ada" not in str(await rows(gateway, "crasher"))
    assert [r["tool"] for r in await rows(gateway, "everything")] == [
        documents[0],
        "everything__simple-prompt",
    ]


async def test_an_unknown_prompt_of_a_server_is_the_servers_own_error(start: Start) -> None:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    async with local_mcp(gateway) as client:
        with pytest.raises(MCPError) as raised:
            await client.get_prompt("crasher__no-such-prompt")
    data = raised.value.error.data
    assert data["code"] == "upstream_server_error", data
    assert data["details"]["server"] == "crasher", data
    (row,) = await rows(gateway, "crasher")
    assert row["state"] == "failed" and row["error_code"] == "upstream_server_error", row


async def test_a_remote_principal_gets_prompts_and_resources_only_where_the_operator_opened_them(
    start: Start,
) -> None:
    gateway = await start(
        {
            **oauth_settings(),
            "mcp.servers": {
                "shut": crasher(),
                "open": crasher(remote="read-only", deny=["note://crasher/item/*"]),
            },
        },
    )
    async with oauth_mcp(gateway) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        resources = {r.uri for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        with pytest.raises(MCPError) as shut:
            await client.get_prompt("shut__greeting", {"name": "x"})
        with pytest.raises(MCPError) as denied:
            await client.read_resource("open+note://crasher/item/1")
        # The legitimate path beside the refusals: what "read-only" opens.
        greeting = await client.get_prompt("open__greeting", {"name": "Ada"})
        readme = await client.read_resource("open+note://crasher/readme")
        # Read-only opens prompts and resources, not the tools the server did not mark so.
        tools = {t.name for t in (await client.list_tools()).tools}
    assert not {p for p in prompts if p.startswith("shut__")}, prompts
    assert "open__greeting" in prompts, prompts
    assert "open+note://crasher/readme" in resources, resources
    assert not {r for r in resources | templates if r.startswith("shut+")}, resources
    assert "open+note://crasher/item/{item}" not in templates, templates
    assert not {t for t in tools if t.startswith(("open__", "shut__"))}, tools
    error = shut.value.error.data
    assert error["code"] == "upstream_tool_refused", error
    assert error["details"]["setting"] == "mcp.servers.shut.remote", error
    assert "mcp.servers.shut.allow" in error["message"], error
    error = denied.value.error.data
    assert error["code"] == "upstream_tool_refused", error
    assert error["details"]["setting"] == "mcp.servers.open.deny", error
    assert "Ada" in greeting.messages[0].content.text
    assert readme.contents[0].text == "the crasher's readme"
    (refused,) = await rows(gateway, "shut")
    assert refused["state"] == "refused" and refused["owner_principal"] == "oauth:laptop-editor"
    states = sorted((r["tool"], r["state"]) for r in await rows(gateway, "open"))
    assert states == [
        ("open+note://crasher/item/1", "refused"),
        ("open+note://crasher/readme", "completed"),
        ("open__greeting", "completed"),
    ], states
