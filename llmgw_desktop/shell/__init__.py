"""The app shell: the process and its place in the OS.

Open `cli/` first: the `llmgw-desktop` command, which starts everything else. The composition
roots it starts: `app` (the desktop app: Qt and asyncio in one loop) and `headless` (the same
gateway without Qt, on the `event_loop` of processes without Qt), both serving through
`runtime` (the engine and front doors, started and stopped in order) after `startup` (what a
process leaves until it serves, so it answers `/health` soon) and `code_cache` (the code
dataclasses generate, kept between starts). The editor-launched modes: `stdio_mode` (MCP on
stdio) and `acp_mode` (the gateway as an ACP agent).

The process in the OS: `instance` (one running instance per data directory, and the hand-off to
it), `autostart` and `linux_install` (start at login, the menu entry), `logging_setup` (the log
file, secrets masked, written off the loop) and `exit_codes`. Before the window: `window_probe`
(whether Qt can start a window here, asked of a child Qt may abort instead) with
`window_libraries` (the libraries a platform plugin lacks, and each one's package), and
`start_problems` (a settings file, database or vault that cannot be used, asked about in a
dialog). Connecting a tool: `connect_facts` (where the gateway listens and which models answer,
asked of the running gateway) for `ui/connect_setups.py` (each tool's set-up, the Connect
page's too). Starting one through the gateway (`llmgw-desktop run`): `tool_launch` (its
steps), `background_gateway` (the gateway started when none runs) and `tool_runs` (how each
tool is pointed at it for one process). `banner` is what a start prints on its terminal,
headless or with the window.

The top layer: it may import the desk (`ui/`), the front doors (`transports/`), the engine's
public surface and `config/`; nothing below imports it.
"""
