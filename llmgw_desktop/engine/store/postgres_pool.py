"""peewee's bounded pool of PostgreSQL connections, under the store's watch (`stall_watch.py`).

Two places a database thread waits on the server are the pool's own, out of the engine's
reach: the check of an idle connection before it is reused (a `SELECT 1` round trip; the
stop that hung on a frozen server hung there) and the opening of a new one. The first is
watched like any statement; the second is refused at once while the server is known not to
answer, rather than each call waiting out the connect timeout on it. A COMMIT is told to the
watch as such: its wait is cut only at stop (`stall_watch.py` says why).

Imported only once psycopg has been handed to peewee (`store/orm.py`): playhouse imports
peewee, which must come from there first.
"""

from __future__ import annotations

from typing import Any

from playhouse.pool import _PooledPostgresqlDatabase

from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.stall_watch import StallWatch

__all__ = ["WatchedPool"]


class _RefusedWhileSilent(peewee.PostgresqlDatabase):
    """New connections, refused while the server does not answer."""

    watch: StallWatch

    def _connect(self) -> Any:
        refused = self.watch.refusal()
        if refused is not None:
            raise peewee.OperationalError(refused)
        return super()._connect()  # type: ignore[misc]  # peewee's stubs leave it out


class WatchedPool(_PooledPostgresqlDatabase, _RefusedWhileSilent):  # type: ignore[misc]
    """`PooledPostgresqlDatabase` (the same bases, in the same order) whose waits on the
    server `watch` can cut."""

    def __init__(self, url: str, *, watch: StallWatch, **options: Any) -> None:
        self.watch = watch
        super().__init__(url, **options)

    def _is_closed(self, conn: Any) -> bool:
        if self.watch.refusal() is not None:
            # Not asked (the server does not answer): closed, and so discarded by the pool.
            conn.close()
            return True
        with self.watch.waiting(conn):
            return bool(super()._is_closed(conn))

    def commit(self) -> Any:
        with self.watch.committing():
            return super().commit()
