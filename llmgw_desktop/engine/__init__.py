"""The gateway engine: providers, jobs, sessions and the store. Never imports Qt."""
