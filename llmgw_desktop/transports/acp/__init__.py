"""The gateway as an ACP agent for editors (`llmgw-desktop acp`), both ways in.

`acp --model`: a chat agent on any model the gateway routes (`model_agent`), run in the process
the editor launched on its stdio (`stdio`); each turn is a call to the gateway's own HTTP front
door (`gateway_chat`), recorded, budgeted and held to the caller's key like any other client's,
and each session is kept by the gateway for `session/load` (`chat_routes`: `GET`/`PUT
/v1/acp/chats/{id}`). `acp --agent`: the editor's bytes relayed (`socket_relay`) to the app's
`/acp` WebSocket (`socket_route`), where `agent_front` runs each prompt as a turn of a coding
agent the gateway runs, its editor sessions in `front_sessions`. Both read what an editor
attaches to a prompt (linked and embedded files, images) through `prompt_blocks`.
"""
