"""The MCP front door: tools, resources and prompts over stdio and Streamable HTTP.

Open `server` first: it builds the MCP server, every tool (`tools/`), resource (`resources`) and
prompt (`prompts`) bound to one engine; `sdk_loading` says when the MCP SDK (about 0.7 s of
imports) is loaded. Each use: `caller` (who is calling, decided at the edge), `access` (the
capability it needs, checked before it runs), `arguments` (checked before the SDK sees them),
`results` (one shape for answers and errors) and `tracing` (a span per tool call when export is
on). `upstream` puts the user's own MCP servers on the endpoint under their names.

Over HTTP: `http_front` (Streamable HTTP on the aiohttp server, both protocol versions),
`direct_calls` and `direct_modern` (calls of the user's servers answered beside the SDK), and
`left_requests` (a request whose client left is cancelled).

Over stdio: `stdio_forward` relays an editor's stdio connection to the running gateway, with
`stdio_wire` (what it reads and writes), `stdio_in_flight` (requests awaiting the gateway),
`loopback_http` (its HTTP client) and `gateway_watch` (whether the gateway still shows signs of
life). With no gateway running, `stdio_in_process` serves the SDK's server on this process's
own stdin, read under the same line cap by `stdio_wire`'s reader.
"""
