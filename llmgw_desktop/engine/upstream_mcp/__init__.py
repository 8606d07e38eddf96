"""The user's own MCP servers behind the gateway: started, policed, relayed and recorded.

Open `service` first: the servers as one set (the operator's edits, what each principal sees,
the way in for every use). `config/upstream_mcp.py` reads `[mcp.servers.NAME]`; `policy` (pure)
says who may use which tool, prompt or resource and which calls wait for the desk; `relay` runs
one use (a tool called, a prompt got, a resource read).

One server: `connection` (started at first use, restarted with back-off), over `stdio` (tied to
the gateway's life, stderr kept; `stdio_line` sends a relayed call beside the SDK's session) or
Streamable HTTP (`transport`, with `oauth` through the vault and `http_cap` bounding what it can
make the gateway hold). `lists` reads what a server offers, every page, capped; `silence` finds
out a server that stopped answering, one ping at a time. `pins` pins each server's tools at
first sight and withholds one that changes, or comes later, until a person approves it (the file
itself, read, checked and approved in by the command line, is `pins_file`); `tool_flags` says
which descriptions instruct the model or hide characters.

`policy` and the config load nothing; the `mcp` SDK (about 0.7 s of imports) is loaded by
`connection` and `stdio` only when the first server starts. Nothing is imported here, so the
settings can read the config without pulling in the engine.
"""
