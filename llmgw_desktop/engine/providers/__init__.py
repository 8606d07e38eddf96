"""Providers: the vendor CLIs and LLM APIs the engine can call."""
