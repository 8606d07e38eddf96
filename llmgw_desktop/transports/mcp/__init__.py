"""The MCP front door: tools, resources and prompts over stdio and Streamable HTTP."""
