"""How a tool is offered: its schema is its input model's, and its failures are structured."""

from __future__ import annotations

import inspect

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import NotFound
from llmgw_desktop.transports.mcp.caller import STDIO_CALLER, Caller
from llmgw_desktop.transports.mcp.results import success
from llmgw_desktop.transports.mcp.tools import jobs, providers
from llmgw_desktop.transports.mcp.tools.binding import ToolSpec, bind, handler
from tests.transports.mcp.conftest import structured


class EchoInput(BaseModel):
    word: str
    times: int = 1


async def echo(engine: Engine, caller: Caller, inputs: EchoInput) -> CallToolResult:
    """Say the word."""
    return success({"said": inputs.word * inputs.times, "by": caller.principal})


async def missing(engine: Engine, caller: Caller, inputs: EchoInput) -> CallToolResult:
    """Never finds it."""
    raise NotFound("no such thing")


async def broken(engine: Engine, caller: Caller, inputs: EchoInput) -> CallToolResult:
    """A bug."""
    raise RuntimeError("secret internals")


def test_handler_signature_is_the_input_models_fields(loaded: LoadedSettings) -> None:
    fn = handler(ToolSpec("echo", echo, EchoInput), Engine(loaded.settings))
    parameters = inspect.signature(fn).parameters
    assert list(parameters) == ["word", "times"]
    assert parameters["times"].default == 1
    assert parameters["word"].default is inspect.Parameter.empty


async def test_bound_tools_answer_and_fail_in_the_one_shape(loaded: LoadedSettings) -> None:
    server = MCPServer(name="binding-test")
    engine = Engine(loaded.settings)
    for spec in (
        ToolSpec("echo", echo, EchoInput),
        ToolSpec("missing", missing, EchoInput),
        ToolSpec("broken", broken, EchoInput),
    ):
        bind(server, engine, spec)
    async with Client(server) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        said = await client.call_tool("echo", {"word": "ab", "times": 2})
        not_found = await client.call_tool("missing", {"word": "x"})
        bug = await client.call_tool("broken", {"word": "x"})
    assert listed["echo"].description == "Say the word."
    assert listed["echo"].input_schema["required"] == ["word"]
    assert structured(said) == {"said": "abab", "by": STDIO_CALLER.principal}
    assert not_found.is_error and structured(not_found)["error"]["code"] == "not_found"
    assert bug.is_error and structured(bug)["error"]["code"] == "internal_error"
    assert "secret internals" not in str(structured(bug))


async def test_a_tool_is_a_plain_function_of_engine_caller_and_input(engine: Engine) -> None:
    # No MCP session at all: the function is called as any other.
    inputs = providers.RequestInput(prompt="direct")
    started = await providers.request_async(
        engine, STDIO_CALLER, inputs, provider="mistral", tool="mistral_request_async"
    )
    job_id = structured(started)["jobId"]
    status = await jobs.llm_job_status(engine, STDIO_CALLER, jobs.JobInput(jobId=job_id))
    assert structured(status)["jobId"] == job_id
