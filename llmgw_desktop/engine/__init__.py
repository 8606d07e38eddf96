"""The gateway engine: everything the gateway does, with no Qt (a test and the import contracts
keep it so), so it runs the same under the window, headless and in tests.

Open `api` first: the public surface, the only names a front door (`transports/`) or the desk
(`ui/`) may import. `engine` is the composition root that builds every part once and wires
them; `lifecycle` is the order they start and stop in; `upkeep` the background work beside
them; `tasks` how any background task is started (named, referenced, stopped on exit).

The capabilities, one package each: `calls/` (a provider call, from its arguments to the job
it becomes), `providers/` (the vendor CLIs and ACP agents: found, run, confined, their health),
`gateway/` (the HTTP LLM gateway's core: dialects, API providers, routing, the upstream client),
`jobs/`, `sessions/`, `recorder/` (the flight recorder), `budgets/`, `tokens/` (usage and prices),
`response_cache/`, `guard/` (secrets in what leaves the machine), `auth/` (who is calling),
`workspaces/`, `vault/`, `upstream_mcp/` (the user's own MCP servers), `validation/`
(multi-model reviews), `store/` (SQLite or PostgreSQL), `metrics/` and `telemetry/`.

Shared by all of them: `errors` (every error, by what the caller must do, with its code),
`events` (typed events the desk and front doors subscribe to), `states` (how work ends), `values`
(the frozen value classes a request makes, built without `object.__setattr__`), `ids`,
`jsonio` (orjson on the hot paths), `redact` and `own_secrets` (what is masked before anything
is stored), `lines` (the one capped line reader of every line-delimited stream), `health` (what
`/health`, the tray and the Overview say), `log_health` (whether the log file takes its lines,
as the shell's log writer tells it), `degraded` (what keeps a serving gateway from being whole:
the one list `/health`, the header, Overview and the tray read), `outage` (a stretch of failures
said once when it starts and once when it ends), `backoff` (how long to wait before trying again
what failed: the one back-off value), `circuit` (failures in a row and the rest they earn: the
one circuit of the gateway's targets and the CLIs' breaker), `shares` (fair shares of a limit
between principals), `settings_saver` (settings the engine changes, written back to
`config.toml`), `live_settings` (the settings it runs on now, and those it takes on at once) and
`gc_tuning` (how a serving process collects garbage).
"""
