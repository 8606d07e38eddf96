"""Front doors: wire protocols in, engine calls out. Edge checks happen here, once; what a call
may do is the engine's to decide.

Open `http_app` first: the aiohttp application behind every HTTP door (its core routes, error
answers in `http_errors`, the typed keys it holds in `app_keys`), served by `http_server`.
Its edge, applied to every route at once: `auth_edge` (authentication, rate limits, CORS, with
`route_access` naming the capability each route needs), `edge` (DNS rebinding, bodies a web page
may send unasked) and `connections` (slow clients, connection caps, who owns the other end).

The doors: `gateway/` (the HTTP LLM gateway's routes), `mcp/` (MCP over stdio and Streamable
HTTP, run through `asgi`), `acp/` (the gateway as an ACP agent for editors), and OAuth's
`oauth_routes` and `consent_page`.
"""
