"""The store: peewee on SQLite (one database thread) or PostgreSQL (a small pool), behind
awaitables, so the event loop never waits on disk.

Open `db` first: the `Database` every part uses (`run`, `read`, and the lanes they use), over
one of two engines: `sqlite_engine` (one file, one connection, one thread) or `postgres_engine`
(an ordered thread, a few readers and an urgent lane) with its pool `postgres_pool` and the
`stall_watch` that cuts waits on a server that stopped answering. `orm` imports peewee without
its PostgreSQL driver until it is needed.

The schema: `migrations/` (versioned, each in its own transaction) and `models` (peewee models
mirroring it); `sql` is the hand-written SQL that runs on either engine.

Around it: `health` (whether the store can be trusted, as `/health` and the desk show it),
`redo` (what a part could not read or write while the store failed, done again until it is,
and the look that says the database answers again), `errors` (what it raises), `location` (a
store's name without its password) and `copy` (a laptop's SQLite store copied into
PostgreSQL, verified).
"""

from llmgw_desktop.engine.store.db import Database
from llmgw_desktop.engine.store.errors import StoreError, StoreUnavailable
from llmgw_desktop.engine.store.location import redacted_url

__all__ = ["Database", "StoreError", "StoreUnavailable", "redacted_url"]
