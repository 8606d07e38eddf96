"""Who is calling: principals, the bearer and OAuth credentials that prove them, consent, rate
limits, workspaces for remote calls, and the start-up policy that refuses unsafe setups."""
