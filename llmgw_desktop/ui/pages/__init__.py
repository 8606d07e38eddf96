"""The dashboard's pages, one place of the window each (with the pages they are made of). Each is
a `Page` from `base`; `ui/places.py` builds them and `ui/main_window.py` lists them.

- Overview (`overview`): four figures first (`overview_figures`), its live charts (`overview_charts`
  drawn by `time_chart` on `chart_scale`'s numbers, with totals in words in `overview_totals`),
  each provider's health (`provider_health`), spend by provider, model, project or agent
  (`cost_breakdown`), and the lines on the response cache (`response_cache_text`) and on the
  secrets the outbound guard found (`guard_text`, also the recorder detail's section).
- Agents (`agents`, `agent_detail`, `agent_groups`): what each caller did, per project, live,
  grouped by agent or by agent and who runs it.
- Jobs (`jobs`): its list (`jobs_model`, `jobs_table`) and the chosen job (`job_pane`,
  `job_detail`).
- Flight recorder (`recorder`): its filters (`recorder_filters`), rows (`recorder_model`,
  `recorder_columns`, in `recorder_words`), the chosen request (`recorder_detail`, its kept
  bodies in `recorder_bodies`, replay and curl in `recorder_replay` over `replay`), and what an
  optimisation saved (`savings_text`).
- Playground (`playground`): its `playground_models` pickers, the conversation
  (`playground_transcript`) of answers (`playground_answer`), and the message box
  (`playground_composer`).
- Providers (`providers`): the list (`provider_table`, `provider_rows`), the routes over several
  providers above it (`route_targets`: each target's share, latency and cool-down), the chosen one
  (`provider_detail`, with `cli_account` for a CLI's login and `provider_tests` for its Test),
  and the editor of an API provider (`provider_editor`, `provider_form`,
  `provider_cloud_fields`).
- Credentials (`credentials`, with every key in use now in `credentials_live` and a coding
  tool's auth file added in `credentials_files`).
- Keys (`keys`, `key_detail`, `key_dialogs`), Clients and consent (`clients`, with
  `oauth_switches`), Budgets
  (`budgets`, `budget_detail`, `budget_dialog`).
- MCP servers (`mcp_servers`, `mcp_server_detail`, `mcp_server_dialog`, `mcp_tool_review`).
- Connect (`connect_page`, with `connect_auth` for who the snippets authenticate as and
  `connect_issue` for a token on a gateway locked by OAuth alone).
- Settings (`settings_page` under `settings_rules`, its controls in `settings_form`, with
  `quiet_hours_box`) and Prices
  (`prices_page`, `prices_box`, `price_editor`).
- Log (`log_page`, following the file with `log_tail`, drawn by `log_view`).
"""
