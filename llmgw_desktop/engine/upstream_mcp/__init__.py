"""The user's own MCP servers behind the gateway: started, policed, relayed and recorded.

`config` (read by the settings) and `policy` are pure and load nothing; `service` is the
engine's part; the `mcp` SDK (about 0.7 s of imports) is loaded by `connection` and `stdio`
only when the first server starts. Nothing is imported here, so the settings can read the
config without pulling in the engine.
"""
