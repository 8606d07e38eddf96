"""`[mcp.servers.NAME]` as the Add… dialog and config.toml give it: each malformed table refused
with a message and a field that name what is wrong (the dialog shows both), `oauth` only for a
Streamable HTTP server. Pure code: no server is started."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.upstream_mcp import field_named, parse_servers


@pytest.mark.parametrize(
    ("name", "table", "field", "says"),
    [
        ("bad name", {"command": "x"}, "name", "letters, digits and '-'"),
        ("s", {}, "command", "either command"),
        ("s", {"command": "x", "url": "http://h/mcp"}, "command", "not both"),
        ("s", {"url": "ftp://h/mcp"}, "url", "must start with http"),
        ("s", {"command": "x", "args": "a b"}, "args", "list of strings"),
        ("s", {"command": "x", "env": {"K": 1}}, "env", "table of strings"),
        ("s", {"command": "x", "env": {"K": "vault:"}}, "env", "names no vault key"),
        ("s", {"command": "x", "oauth": True}, "oauth", "oauth is for a Streamable HTTP"),
        ("s", {"url": "http://h/mcp", "oauth": "yes"}, "oauth", "true or false"),
        ("s", {"url": "http://h/mcp", "cwd": "/"}, "cwd", "cwd is for a stdio server"),
        ("s", {"command": "x", "colour": "red"}, "colour", "unknown field 'colour'"),
        # A name holding a quote is written in double quotes.
        ("s", {"command": "x", "it's": 1}, "it's", 'unknown field "it\'s"'),
    ],
)
def test_a_malformed_server_is_refused_naming_the_field(
    name: str, table: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ValueError, match=r".") as refused:
        parse_servers({name: table})
    message = str(refused.value)
    assert says in message, message
    assert field_named(message) == field, message


def test_oauth_is_read_for_a_streamable_http_server() -> None:
    servers = parse_servers(
        {
            "guarded": {"url": "https://mcp.example.com/mcp", "oauth": True},
            "plain": {"url": "http://h/mcp"},
        }
    )
    assert servers["guarded"].oauth is True and servers["guarded"].transport == "http"
    assert servers["plain"].oauth is False
