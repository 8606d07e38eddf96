"""The HTTP LLM gateway's core: neutral chat form, dialect translators, API providers, routing."""
