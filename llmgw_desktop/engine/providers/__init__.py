"""Providers: the vendor coding CLIs and ACP agents the gateway runs, and every provider's state
as the front doors and the desk see it. The API providers' wire work is the HTTP gateway's
(`engine/gateway/`).

Open `service` first: every provider the gateway can reach, with its health (`health`, decided
once for every view), what has gone wrong lately (`trouble`), the user's on/off switches
(`switches`), and what answers (`answering`): whether anything can answer a call at all (the
one fact the window, `/health` and the start banner read), and which models answer on this
machine's keys, preferred first, with the one a caller who names none is given (one choice
for `connect`, `run`, `/v1/generate` and `ask_model`).

Running a CLI: `invoke` runs one call (prepare with the adapter, run, parse); the adapters are
in `cli/`, found by id through `cli_adapters`, sharing the shapes in `base`; `confinement` says
how a remote caller's run is held to its grant (`kernel_sandbox`: whether the kernel has the
sandbox a row relies on); `child_env` is the environment a child starts with (an allow-list);
`process` runs it with hard limits and leaves nothing behind (its group stopped by
`process_tree`, the one process-tree stop, which a user's MCP server's goes through too),
`lifeline`
and `lifeline_windows` make every child die with the gateway, `orphans` stops what an earlier
run left, `process_identity` tells a process from a reused pid, and `failures` turns what a CLI
printed when it failed into one structured failure; `mcp_handoff` hands a CLI the gateway's MCP
servers a call names. ACP agents as providers are `acp/`.

What is installed and logged in: `discovery` (installed CLIs, versions, models, upgrades),
`accounts` and `account_files` (each CLI's login and plan, read offline from its files) and
`auth_home` (where a CLI looks for auth files the vault hands it); `cli_login` asks a CLI
that can say so whether it is logged in, and holds a logged-out one back from what answers.
"""
