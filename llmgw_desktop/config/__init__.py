"""Configuration: every setting declared once with its check, the config file, the platform
directories, and the pure definitions those checks read.

The bottom layer: it imports nothing else of ours, so the engine, the front doors, the desk and
the shell all read it, and checking a config file needs no engine.

Open `settings` first: the `Settings` tree, built from one dataclass per area (`settings_gateway`,
`settings_http`, `settings_jobs`, `settings_security`, `settings_cache`, `settings_guard`,
`settings_observability`), each field declared with `settings_fields`' `setting()` (key, type,
default, environment variable, one-line doc; the configuration reference is generated from
them); a check that names the values a setting takes says them through `words`, as a person
lists them. The file itself: `paths` (where it lives), `text` (its bytes as text) and `file`
(single settings written back with the user's comments kept).

The tables those settings hold, each checked by a pure function: `gateway_tables` (providers,
routes, aliases), `prices` (the person's own prices), `budgets`, `project_grants` and the
`principals` they may name, `guard_rules` (the operator's own guard rules), `remote_power` (the
levels a workspace grants), `quiet_hours`, `upstream_mcp` (the user's MCP servers), `acp_agents`
(how an ACP agent starts) and `ca_bundle` (extra CA certificates).

The catalogs of what the gateway knows out of the box: `api_catalog` (API providers),
`cli_catalog` (coding CLIs) and `provider_catalog` (every CLI and ACP agent, shipped or added),
`child_env_names` (what a child process may be handed) and `desktop_entry` (how the OS starts
the app).
"""
