"""What an MCP server offers, read from it: its tools, prompts, resources and resource
templates, every page, each list cut at `mcp.max_tools_per_server` entries.

A server listing 20,000 tools made every list answer 40 MiB, so a list keeps at most the cap
and says how many it left out (at least: reading stops a page past the cap). A server that
never stops paging is cut off after a hundred pages, not followed forever.

A name is one entry: a server that lists a tool (a prompt, a resource) twice is read for its
first, the rest left out and logged. Each tool's pin is checked against the one definition
that is served and called (`pins.py`); with both kept, a server turned hostile could list a
rewritten twin before the approved one and have the pin read the approved while every caller
was offered the rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["Listing", "read_listing"]

log = logging.getLogger(__name__)

# Pages of one list read at most.
MAX_PAGES = 100


@dataclass(frozen=True)
class Listing:
    """One reading of a server's lists (the SDK's `mcp_types` entries), each at most the cap."""

    tools: list[Any]
    prompts: list[Any]
    resources: list[Any]
    templates: list[Any]  # mcp_types.ResourceTemplate
    # Entries the server listed beyond the cap, per list ("tools", ...): left out.
    left_out: dict[str, int]


async def read_listing(session: ClientSession, most: int, timeout_s: float) -> Listing:
    """Read each list the server has a capability for, every page, within `timeout_s`.

    Raises:
        TimeoutError: the server did not answer in time.
    """
    import anyio

    capabilities = session.server_capabilities
    has_prompts = capabilities is not None and capabilities.prompts is not None
    has_resources = capabilities is not None and capabilities.resources is not None
    with anyio.fail_after(timeout_s):
        tools = await _all_pages(session.list_tools, "tools", most)
        prompts = await _all_pages(session.list_prompts, "prompts", most) if has_prompts else []
        resources = (
            await _all_pages(session.list_resources, "resources", most) if has_resources else []
        )
        templates = (
            await _all_pages(session.list_resource_templates, "resource_templates", most)
            if has_resources
            else []
        )
    read = {
        "tools": _first_of_each(tools, "name", "tools"),
        "prompts": _first_of_each(prompts, "name", "prompts"),
        "resources": _first_of_each(resources, "uri", "resources"),
        "templates": _first_of_each(templates, "uri_template", "resource templates"),
    }
    left_out = {kind: len(items) - most for kind, items in read.items() if len(items) > most}
    kept = {kind: items[:most] for kind, items in read.items()}
    return Listing(kept["tools"], kept["prompts"], kept["resources"], kept["templates"], left_out)


async def _all_pages(fetch: Callable[..., Awaitable[Any]], field: str, most: int) -> list[Any]:
    """Every page of one list, until it holds more than `most` entries (no more is read)."""
    import mcp_types

    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):  # a server that never stops paging is cut off
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await fetch(params=params)
        items += list(getattr(page, field))
        cursor = page.next_cursor
        if not cursor or len(items) > most:
            break
    return items


def _first_of_each(items: list[Any], key: str, kind: str) -> list[Any]:
    """`items` with only the first entry of each `key` (a tool's name, a resource's URI)."""
    seen: set[str] = set()
    kept = []
    for item in items:
        name = str(getattr(item, key, ""))
        if name in seen:
            log.warning("an MCP server listed %s %r twice: its first entry is kept", kind, name)
            continue
        seen.add(name)
        kept.append(item)
    return kept
