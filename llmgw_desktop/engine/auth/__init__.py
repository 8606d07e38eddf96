"""Who is calling: principals, the bearer and OAuth credentials that prove them, consent, rate
limits, and the start-up policy that refuses unsafe setups."""
