"""ACP agents as providers: the gateway is the client of an agent that speaks the Agent Client
Protocol (JSON-RPC on the agent's stdin and stdout) for one turn per call.

`adapter.py` is the provider's adapter (what to start, and a parser over the turn's outcome),
`turn.py` the client side of one turn, `framing.py` the newline-delimited JSON on a pair of
byte streams, `usage.py` the token counts the agents report in their several places. The
official `agent-client-protocol` SDK supplies the schema and the JSON-RPC connection; it is
imported only when a turn starts.
"""
