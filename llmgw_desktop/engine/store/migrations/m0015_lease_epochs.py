"""Schema 15: a lease has an epoch, and each job names the epoch of the lease it was taken under.

A gateway process that stalled past its lease is taken for dead by a peer, which ends its jobs
and deletes its lease; when it resumes it registers again. `process_leases.epoch` counts those
registrations of one process (1, 2, ...), and `jobs.owner_epoch` is the epoch its owner held when
the job was stored. Every write of the owner to a job (running, its process group, progress,
its end) lands only while the owner's lease row still has that epoch, so a lease taken again is
never written through by the tenure that lost it (`engine/jobs/ownership.py`). NULL: stored before
this schema (such a job is written only while its owner holds no lease at all).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "ALTER TABLE process_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE jobs ADD COLUMN owner_epoch INTEGER",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
