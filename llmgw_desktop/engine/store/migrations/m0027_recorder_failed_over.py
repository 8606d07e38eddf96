"""Schema 27: a recorder row says that its attempt failed over to another.

A request its route tried at two targets has a row per attempt. `failed_over` is 1 on an
attempt that failed and whose request went on to another attempt (whose row counts the
request): the rows less these are the requests clients sent, the failed rows less these the
requests their clients got no answer for (`engine/recorder/attempts.py`). 0: the request's
last attempt, or a row made before this schema (each counted as a request, as it was then).
Summing reads walk the rows of a time range already: no index of its own.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = ("ALTER TABLE requests ADD COLUMN failed_over INTEGER NOT NULL DEFAULT 0",)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
