"""Jobs: every provider call, durable in the store, with dedup, limits and deadlines."""
