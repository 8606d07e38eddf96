"""The gateway as an ACP agent for editors (`llmgw-desktop acp`): the agent on stdio
(`stdio.py`), a chat agent on any model the gateway routes (`model_agent.py`), and the calls it
makes to the gateway's own HTTP front door (`gateway_chat.py`), where every turn is recorded,
budgeted and held to the caller's key like any other client's."""
