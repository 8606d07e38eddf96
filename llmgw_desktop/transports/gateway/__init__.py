"""The HTTP LLM gateway's routes: four chat dialects, native endpoints, vault admin, OpenAPI."""
