"""The MCP tools: plain functions over typed inputs (one module per area), listed in one table
(`registration.py`) and offered on the server by `binding.py`."""
