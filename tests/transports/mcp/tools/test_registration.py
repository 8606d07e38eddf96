"""The one table of tools agrees with the access table, and every tool says what it does."""

from __future__ import annotations

from llmgw_desktop.engine.api import SHIPPED_CATALOG
from llmgw_desktop.transports.mcp.access import TOOLS
from llmgw_desktop.transports.mcp.tools.registration import tool_aliases, tool_specs

# The tools of a gateway that runs only what it ships (`tools_list.json` pins them).
TOOL_SPECS = tool_specs(SHIPPED_CATALOG)


def test_every_tool_has_exactly_one_entry_and_an_access_rule() -> None:
    names = [spec.name for spec in TOOL_SPECS]
    assert len(names) == len(set(names))
    assert set(names) == set(TOOLS)


def test_every_tool_has_a_description() -> None:
    for spec in TOOL_SPECS:
        assert (spec.description or spec.run.__doc__ or "").strip(), spec.name


def test_a_tools_other_name_follows_it_and_needs_what_it_needs() -> None:
    """mcp-llm-bridge's names for our tools: listed right after the tool, the same function
    and input, and the same access rule."""
    aliases = tool_aliases(TOOL_SPECS)
    assert aliases == {"llm_generate": "ask_model", "llm_models": "list_models"}
    names = [spec.name for spec in TOOL_SPECS]
    by_name = {spec.name: spec for spec in TOOL_SPECS}
    for alias, tool in aliases.items():
        assert names.index(alias) == names.index(tool) + 1
        assert by_name[alias].run is by_name[tool].run
        assert by_name[alias].inputs is by_name[tool].inputs
        assert TOOLS[alias] == TOOLS[tool]
        assert f"Another name for {tool}." in (by_name[alias].description or "")
