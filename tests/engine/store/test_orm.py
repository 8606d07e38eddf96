"""psycopg stays out of a SQLite gateway, and comes back whole for a PostgreSQL one.

Each check runs in a fresh interpreter: the test process itself has long imported both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.postgres import PostgresCluster

# What peewee's import binds from psycopg: its module globals that are psycopg objects, and
# the PostgreSQL 3 adapter's class attributes that are not functions.
_SIGNATURE = """
import json, types
def signature(peewee):
    def from_psycopg(value):
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(
            type(value) if not isinstance(value, type) else value, "__module__", "")
        return str(name).startswith("psycopg")
    names = {k: repr(v) for k, v in vars(peewee).items() if from_psycopg(v)}
    adapter = {
        k: repr(v) for k, v in vars(peewee.Psycopg3Adapter).items()
        if not callable(v) and not k.startswith("__")
    }
    return {"names": names, "adapter": adapter}
"""


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_headless_gateway_imports_no_postgresql_driver() -> None:
    # postgres_engine first: it is the module most likely to pull the driver in by accident.
    loaded = _run(
        """
        import sys
        import llmgw_desktop.engine.store.postgres_engine
        import llmgw_desktop.shell.runtime
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_binary")))
        """
    )
    assert loaded == "[]"


def test_peewee_given_the_driver_later_matches_its_own_import() -> None:
    natural = _run(
        _SIGNATURE
        + """
import psycopg, peewee
print(json.dumps(signature(peewee)))
"""
    )
    late = _run(
        _SIGNATURE
        + """
import sys
from llmgw_desktop.engine.store.orm import load_postgres_driver, peewee
assert peewee.psycopg is None and "psycopg" not in sys.modules
load_postgres_driver()
load_postgres_driver()  # twice is harmless
print(json.dumps(signature(peewee)))
"""
    )
    assert json.loads(late) == json.loads(natural)
    assert json.loads(natural)["adapter"], "peewee no longer sets the adapter's attributes"


def test_a_postgresql_store_works_when_the_driver_comes_late(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.create_database()
    try:
        out = _run(
            f"""
            import asyncio, sys
            from pathlib import Path
            from llmgw_desktop.engine.store import Database
            assert "psycopg" not in sys.modules

            async def main():
                db = Database(Path("/nonexistent/unused.db"), url={url!r})
                await db.open()
                try:
                    def write_and_read():
                        database = db.models.database
                        database.execute_sql("CREATE TABLE orm_probe (n integer, doc jsonb)")
                        database.execute_sql(
                            "INSERT INTO orm_probe VALUES (%s, %s)", (7, '{{"a": 1}}')
                        )
                        return database.execute_sql("SELECT n, doc FROM orm_probe").fetchall()
                    rows = await db.run(write_and_read)
                    again = await db.read(lambda: db.models.database.execute_sql(
                        "SELECT count(*) FROM orm_probe").fetchone())
                finally:
                    await db.close()
                print(rows, again)

            asyncio.run(main())
            """
        )
    finally:
        postgres_cluster.drop_database(url)
    assert out == "[(7, {'a': 1})] (1,)"
