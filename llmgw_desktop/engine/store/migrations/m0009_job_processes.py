"""Schema 9: each job remembers the process group its CLI runs in, and who leads it.

A crash (kill -9, power loss in the middle of a run) leaves the job `running` in the store
and maybe its CLI still running on the machine. The next start marks the job interrupted
and, with these two columns, stops what the crash left: `process_group` is the CLI's process
group id (its pid: each run leads its own group), and `process_identity` the leader's
identity (on Linux the boot id and its start time), so a pid the system has since given to
another program is never signalled (`engine/providers/orphans.py`).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "ALTER TABLE jobs ADD COLUMN process_group INTEGER",
    "ALTER TABLE jobs ADD COLUMN process_identity TEXT",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
