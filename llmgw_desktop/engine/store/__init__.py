"""The store: peewee on SQLite (one database thread) or PostgreSQL (a small pool), behind
awaitables."""

from llmgw_desktop.engine.store.db import Database, StoreError, StoreUnavailable
from llmgw_desktop.engine.store.location import redacted_url

__all__ = ["Database", "StoreError", "StoreUnavailable", "redacted_url"]
