"""The conformance suite's test fixtures, served by the SDK's MCPServer behind our front door.

Most of the suite's server scenarios call fixtures (`test_tool_with_progress`,
`test_sampling`, `test://static-text`, ...) that only the SDKs' test servers offer. Served here
in place of our tools, they run the suite's notifications, server-to-client requests and
content types through our aiohttp edge, ASGI bridge and per-principal sessions: the transport
is what is under test, not these fixtures. Written from the scenario descriptions of
@modelcontextprotocol/conformance 0.1.16.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Engine

# A 1x1 PNG and a silent, one-sample WAV: the smallest valid payloads of each kind.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e1d5e8"
        "0000000049454e44ae426082"
    )
).decode()
WAV = base64.b64encode(
    b"RIFF" + (38).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    + b"data" + (2).to_bytes(4, "little") + b"\x00\x00"
).decode()  # fmt: skip
STEP_S = 0.05  # the pause between a fixture's notifications, as the scenarios ask


class Contact(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


def build_fixture_server(engine: Engine) -> MCPServer:
    """An MCPServer with every fixture the suite's server scenarios call (`engine` unused)."""
    del engine
    server = MCPServer(name="conformance-fixture", version="0")
    _tools(server)
    _resources(server)
    _prompts(server)
    _handlers(server)
    return server


def _tools(server: MCPServer) -> None:
    @server.tool(description="Simple text")
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @server.tool(description="An image")
    def test_image_content() -> list[types.ContentBlock]:
        return [types.ImageContent(type="image", data=PNG, mime_type="image/png")]

    @server.tool(description="Audio")
    def test_audio_content() -> list[types.ContentBlock]:
        return [types.AudioContent(type="audio", data=WAV, mime_type="audio/wav")]

    @server.tool(description="An embedded resource")
    def test_embedded_resource() -> list[types.ContentBlock]:
        return [_embedded("test://embedded-resource", "This is an embedded resource content.")]

    @server.tool(description="Text, image and resource")
    def test_multiple_content_types() -> list[types.ContentBlock]:
        return [
            types.TextContent(type="text", text="Multiple content types test:"),
            types.ImageContent(type="image", data=PNG, mime_type="image/png"),
            _embedded("test://mixed-content-resource", '{"test":"data","value":123}', "json"),
        ]

    @server.tool(description="Logs three messages")
    async def test_tool_with_logging(ctx: Context) -> str:
        for message in ("Tool execution started", "Tool processing data"):
            await ctx.info(message)
            await asyncio.sleep(STEP_S)
        await ctx.info("Tool execution completed")
        return "logged"

    @server.tool(description="Always fails")
    def test_error_handling() -> str:
        raise RuntimeError("This tool intentionally returns an error for testing")

    @server.tool(description="Reports progress")
    async def test_tool_with_progress(ctx: Context) -> str:
        for done in (0, 50):
            await ctx.report_progress(done, 100)
            await asyncio.sleep(STEP_S)
        await ctx.report_progress(100, 100)
        return "done"

    @server.tool(description="Asks the client's LLM")
    async def test_sampling(prompt: str, ctx: Context) -> str:
        message = types.SamplingMessage(
            role="user", content=types.TextContent(type="text", text=prompt)
        )
        reply = await ctx.session.create_message(
            messages=[message], max_tokens=100, related_request_id=ctx.request_id
        )
        text = reply.content.text if isinstance(reply.content, types.TextContent) else ""
        return f"LLM response: {text}"

    @server.tool(description="Asks the user")
    async def test_elicitation(message: str, ctx: Context) -> str:
        answer = await ctx.elicit(message, Contact)
        return f"User response: action={answer.action}"

    @server.tool(description="Elicitation with defaults")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        return await _elicit_raw(ctx, SEP1034_SCHEMA)

    @server.tool(description="Elicitation with enums")
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        return await _elicit_raw(ctx, SEP1330_SCHEMA)


def _embedded(uri: str, text: str, kind: str = "plain") -> types.EmbeddedResource:
    mime = "application/json" if kind == "json" else "text/plain"
    contents = types.TextResourceContents(uri=uri, mime_type=mime, text=text)
    return types.EmbeddedResource(type="resource", resource=contents)


async def _elicit_raw(ctx: Context, schema: dict[str, Any]) -> str:
    answer = await ctx.session.elicit_form(
        message="Conformance elicitation",
        requested_schema=schema,
        related_request_id=ctx.request_id,
    )
    return f"Elicitation completed: action={answer.action}, content={json.dumps(answer.content)}"


STATUSES = ("active", "inactive", "pending")
SEP1034_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {
            "type": "string",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "default": True},
    },
}
_TITLED = [{"const": f"value{i}", "title": t} for i, t in enumerate(("First", "Second"), 1)]
SEP1330_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {"type": "string", "oneOf": _TITLED},
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {"type": "array", "items": {"anyOf": _TITLED}},
    },
}


def _resources(server: MCPServer) -> None:
    @server.resource("test://static-text", mime_type="text/plain", description="Static text")
    def static_text() -> str:
        return "This is the content of the static text resource."

    @server.resource("test://static-binary", mime_type="image/png", description="Static PNG")
    def static_binary() -> bytes:
        return base64.b64decode(PNG)

    @server.resource("test://template/{id}/data", mime_type="application/json")
    def template(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


def _prompts(server: MCPServer) -> None:
    @server.prompt(description="Simple")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @server.prompt(description="With arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt(description="With an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:
        resource = _embedded(resourceUri, "Embedded resource content for testing.")
        return [
            UserMessage(content=resource),
            UserMessage("Please process the embedded resource above."),
        ]

    @server.prompt(description="With an image")
    def test_prompt_with_image() -> list[UserMessage]:
        image = types.ImageContent(type="image", data=PNG, mime_type="image/png")
        return [UserMessage(content=image), UserMessage("Please analyze the image above.")]


def _handlers(server: MCPServer) -> None:
    """logging/setLevel, resources/(un)subscribe and completion/complete: accepted, no more."""
    lowlevel = server._lowlevel_server

    async def empty(ctx: Any, params: Any) -> types.EmptyResult:
        return types.EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, empty)
    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, empty)
    lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, empty)

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> types.Completion:
        return types.Completion(values=[], total=0, has_more=False)
