"""The store: peewee on SQLite, all work on one database thread behind awaitables."""

from llmgw_desktop.engine.store.db import Database, StoreError

__all__ = ["Database", "StoreError"]
