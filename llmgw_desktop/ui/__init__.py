"""The desktop face: the tray, the window and its dialogs. The only package that imports Qt,
and it does so through `qt` alone; widgets hear from the engine only through `bridge` (engine
events as Qt signals) and act through the engine's public surface, run off the Qt thread by
`tasks`.

Open `main_window` first: the window (navigation on the left from `nav`, the `header` strip over
the chosen place), whose places are built when first shown (`places`) from `pages/` and drawn
with `kit/`; `page_tabs` groups the pages that serve one task, and a page reaches another (or
the status line, or the header's figures) through the window as its `navigator`. Its look:
`theme` (light and dark), `design` (spacing and sizes), `control_style`, `glyphs` and `icons`;
every page follows `keyboard`, names its controls for screen readers (`accessibility`), and can
be reached from the `palette` (Ctrl+K).

The tray: `tray`, its alert lines (`tray_alerts`), and the `actions` it shares with the
window's menu; `login_switch` and `mcp_switches` are switches the tray and the pages both show.

Asking the person: `close_without_tray` (what closing the window means with no tray);
`decision_dialog` is the one question dialog, used by `approvals` (a risky call), `consent` (an
OAuth client) and `secret_questions` (a request holding secrets); `notifications` keeps every
message shown; `attention`
reads what needs the person now (no Qt), `gateway_state` the gateway's one state the header,
the Overview and the tray say (no Qt), and `counts` every count the pages, the tray and the
header say (providers failing, answering, unable to answer; jobs running and stuck), one
function each (no Qt).

First run and connecting: `first_run` with `first_run_steps` and `first_run_server`; `connect`
(the exact snippets for each client) and `connect_setups` (each client's whole set-up, as
`llmgw-desktop connect` prints it and the Connect page shows it; no Qt); `access_panel` (who
may call the gateway). Before the
window: `window_probe` (the child that asks Qt whether a window can start) and `start_problem`
(the dialog of a start whose settings, database or vault cannot be used).

Words said one way everywhere: `badge`, `budget_words`, `risk_words`, `scope_words`,
`provider_names`, and `terms` (the words of the trade in plain words); and read one way:
`typed_number` (an amount typed into a form: a price, a budget, a key's limits). The loop:
`event_loop` (qasync's, with its fixes) and `gc_guard` (garbage collected on the Qt thread
only).
"""
