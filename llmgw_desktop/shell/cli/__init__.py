"""The `llmgw-desktop` command: the desktop app by default, headless, or a maintenance command.

`main.py` parses and dispatches; `parser.py` builds the parser from `COMMANDS`, one module per
command (`command.py` says what a command module provides); `preflight.py` holds the checks
before a gateway starts and `messages.py` what the user reads when it cannot. The exit codes
are `shell/exit_codes.py`.

Only what parsing the command line needs loads at start-up: `--version`, `--help` and the stdio
relay editors spawn must not pay for the engine, the HTTP server or the MCP SDK (seconds of
imports). Each command imports its own machinery when it runs. This package's `__init__`
imports nothing, so reaching one module does not load the others.
"""
