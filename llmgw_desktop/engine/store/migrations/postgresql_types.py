"""The one mechanical difference between a migration's SQLite and PostgreSQL DDL: column types.

SQLite's `REAL` is an 8-byte float and its `INTEGER` up to 8 bytes; PostgreSQL's `REAL` is a
4-byte float (a Unix time in it is off by minutes) and its `INTEGER` 4 bytes. So on PostgreSQL
the same columns are `DOUBLE PRECISION` and `BIGINT`. Booleans stay integers on both (`0`/`1`,
the models' `FlagField`), so defaults and comparisons read the same. Whatever else differs
(FTS5, `WITHOUT ROWID`, `INSERT OR IGNORE`) a migration writes out for PostgreSQL itself.
"""

from __future__ import annotations

import re

__all__ = ["postgresql_types"]

_TYPES = {"REAL": "DOUBLE PRECISION", "INTEGER": "BIGINT"}
_TYPE_WORD = re.compile(r"\b(REAL|INTEGER)\b")


def postgresql_types(statements: tuple[str, ...]) -> tuple[str, ...]:
    """`statements` with SQLite's column types spelled as PostgreSQL's of the same range."""
    return tuple(_TYPE_WORD.sub(lambda m: _TYPES[m.group(1)], s) for s in statements)
