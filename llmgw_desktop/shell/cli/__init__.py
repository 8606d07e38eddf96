"""The `llmgw-desktop` command: the desktop app by default, headless, or a maintenance command.

Open `main` first: it parses and dispatches. `parser` builds the parser from `COMMAND_MODULES`, one
module per command, each providing what `command` describes; `preflight` holds the checks
before a gateway starts and `messages` what the user reads when it cannot. The exit codes are
`shell/exit_codes.py`.

The commands: `run` (no command: the app, or hand-off to the one running), `stdio_mcp` (`mcp`),
`acp_agent` (`acp`), `keys`, `mcp_servers` (`mcp-servers`: tool changes to approve),
`show_config` (`config --show`), `db_copy` (`db copy`), `hash_password`, `install_desktop`,
`quit_app` (`quit`), `health` (ready or live: the image's health check), `connect` (a tool's
set-up), `run_tool` (`run`: a tool started with its model calls through the gateway) and
`version`.

Only what parsing the command line needs loads at start-up: `--version`, `--help` and the stdio
relay editors spawn must not pay for the engine, the HTTP server or the MCP SDK (seconds of
imports). Each command imports its own machinery when it runs. This package's `__init__`
imports nothing, so reaching one module does not load the others.
"""
