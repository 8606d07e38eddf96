"""peewee, imported without its PostgreSQL driver until a PostgreSQL store is opened.

peewee imports psycopg (when installed) the moment it is imported, and psycopg's binary
package brings its own libpq, OpenSSL and Kerberos: about 20 MB of a gateway's idle memory
(docs/PERFORMANCE.md), spent even though the default store is SQLite. So every engine module
takes peewee from here (ruff bans a direct `import peewee`): the first import hides psycopg
from peewee, and `load_postgres_driver` hands it back, before the first PostgreSQL
connection, exactly as peewee's own import would have (tests/engine/store/test_orm.py compares
the two, so a peewee upgrade that binds psycopg somewhere new fails there, not in the field).
"""

from __future__ import annotations

import sys
import threading

# peewee's `try: import psycopg` fails on a None entry, as if psycopg were not installed; the
# entry is removed at once, so anyone else importing psycopg later gets the real package.
_HIDE = "peewee" not in sys.modules and "psycopg" not in sys.modules
if _HIDE:
    sys.modules["psycopg"] = None  # type: ignore[assignment]
try:
    import peewee
finally:
    if _HIDE and "psycopg" in sys.modules and sys.modules["psycopg"] is None:
        del sys.modules["psycopg"]

__all__ = ["load_postgres_driver", "peewee"]

_loading = threading.Lock()


def load_postgres_driver() -> None:
    """Give peewee psycopg 3 (once; any thread), as its own import does when psycopg is there.

    Raises:
        ImportError: psycopg is not installed.
    """
    with _loading:
        if getattr(peewee, "psycopg", None) is not None:
            return
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb

        # The names peewee's import binds (module globals read at call time) ...
        peewee.psycopg = psycopg  # type: ignore[attr-defined]
        peewee.TransactionStatus = TransactionStatus  # type: ignore[attr-defined]
        peewee.Json_pg3 = Json  # type: ignore[attr-defined]
        peewee.Jsonb_pg3 = Jsonb  # type: ignore[attr-defined]
        # ... and the adapter's class attributes, which its class body sets only when psycopg
        # was importable at that moment.
        adapter = peewee.Psycopg3Adapter
        adapter.txn_idle = TransactionStatus.IDLE
        adapter.txn_inerror = TransactionStatus.INERROR
        adapter.txn_unknown = TransactionStatus.UNKNOWN
