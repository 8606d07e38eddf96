"""The one table of tools agrees with the access table, and every tool says what it does."""

from __future__ import annotations

from llmgw_desktop.transports.mcp.access import TOOLS
from llmgw_desktop.transports.mcp.tools.registration import TOOL_SPECS


def test_every_tool_has_exactly_one_entry_and_an_access_rule() -> None:
    names = [spec.name for spec in TOOL_SPECS]
    assert len(names) == len(set(names))
    assert set(names) == set(TOOLS)


def test_every_tool_has_a_description() -> None:
    for spec in TOOL_SPECS:
        assert (spec.description or spec.run.__doc__ or "").strip(), spec.name
