"""The MCP tools: plain functions over typed inputs, one module per area, listed in one table and
offered on the server.

Open `registration` first: every tool in the order `tools/list` shows them; `binding` says what
a tool is (`ToolSpec`) and offers it on a server. The areas: `providers` (`<provider>_request`
and its async twin for every CLI and ACP agent), `jobs`, `sessions`, `validation` (second
opinions, reviews, red team, consensus), `vault`, `workspaces` and `ops` (models, CLI versions
and upgrades, process health).
"""
