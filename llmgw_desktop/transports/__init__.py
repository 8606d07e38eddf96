"""Front doors: wire protocols in, engine calls out. Edge checks happen here, once; what a call
may do is the engine's to decide.

Open `http_app` first: the aiohttp application behind every HTTP door (its core routes, error
answers in `http_errors`, the typed keys it holds in `app_keys`), served by `http_server`. Every
door is a row of `doors` (its capability, credential, error envelope, body kind, upgrade, line cap,
the pipes' caps kept in `line_caps` for the stdio relays; other gateways' paths for a route of ours,
`path_aliases`, are copies of its row), and the edge takes one decision per request from its door's
row: `auth_edge` (Host, Origin, size, media type, CORS, authentication, rate limits, access, in that
order), with the pure checks in `edge` (DNS rebinding, origins, bodies a web page may send unasked),
`connections` (slow clients, connection caps, who owns the other end) and `body_room` (the request
bodies held at once, all callers together).

The doors: `gateway/` (the HTTP LLM gateway's routes), `mcp/` (MCP over stdio and Streamable
HTTP, run through `asgi`), `acp/` (the gateway as an ACP agent for editors), and OAuth's
`oauth_routes` and `consent_page`.
"""
