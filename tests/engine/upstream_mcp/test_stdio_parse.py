"""A stdio server's message line as the gateway reads it (`stdio._parsed`): decoded by the
SDK's own JSON parser, a list cut to `mcp.max_tools_per_server` before any model is built, then
validated as the SDK would. The SDK's one-step parse of a 20,000-tool list built every tool on
the loop first. What a faster decoder would have changed (orjson reads an integer past 64 bits
as a float, and refuses NaN) reads as the SDK reads it."""

from __future__ import annotations

import json

import mcp_types
import pytest

from llmgw_desktop.engine.upstream_mcp.stdio import _parsed


def _line(message: dict[str, object]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _tools(count: int) -> list[dict[str, object]]:
    return [
        {"name": f"tool_{i}", "description": f"tool {i}", "inputSchema": {"type": "object"}}
        for i in range(count)
    ]


def _sdk_parse(line: bytes) -> object:
    return mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)


def test_a_long_list_is_cut_before_it_is_validated_and_reads_as_the_sdks_parse() -> None:
    line = _line({"jsonrpc": "2.0", "id": 3, "result": {"tools": _tools(2_000)}})
    message = _parsed(line, most_listed=50)
    assert isinstance(message, mcp_types.JSONRPCResponse)
    assert [t["name"] for t in message.result["tools"]] == [f"tool_{i}" for i in range(50)]
    short = _line({"jsonrpc": "2.0", "id": 3, "result": {"tools": _tools(50)}})
    assert message == _sdk_parse(short)


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 1, "method": "notifications/tools/list_changed"},
        {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info"}},
        {"jsonrpc": "2.0", "id": "a", "error": {"code": -32601, "message": "no such method"}},
        {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": "hi"}]}},
        {"jsonrpc": "2.0", "id": 8, "result": {"prompts": [{"name": "p"}]}},
    ],
)
def test_every_kind_of_message_reads_as_the_sdks_parse(message: dict[str, object]) -> None:
    line = _line(message)
    assert _parsed(line, most_listed=50) == _sdk_parse(line)
    assert _parsed(line) == _sdk_parse(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc": "2.0", "id": 9, "result": {"count": 123456789012345678901234567890}}\n',
        b'{"jsonrpc": "2.0", "id": 9, "result": {"score": NaN}}\n',
    ],
)
def test_numbers_read_as_the_sdk_reads_them(line: bytes) -> None:
    parsed, sdk = _parsed(line, most_listed=50), _sdk_parse(line)
    assert isinstance(parsed, mcp_types.JSONRPCResponse)
    assert isinstance(sdk, mcp_types.JSONRPCResponse)
    # repr: NaN is not equal to itself; an integer read as a float would show its exponent.
    assert repr(parsed.result) == repr(sdk.result)


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b'{"jsonrpc": "2.0", "id": 1}\n',  # neither a method, a result nor an error
        b'["jsonrpc", "2.0"]\n',
        b'{"jsonrpc": "2.0", "id": 1, "error": {"code": "x", "message": "m"}}\n',
    ],
)
def test_a_line_that_is_no_message_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError):
        _parsed(line, most_listed=50)
