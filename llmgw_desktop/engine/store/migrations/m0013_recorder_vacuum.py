"""Schema 13: PostgreSQL vacuums and analyzes the flight recorder's table early.

Every recorder row is inserted and then updated a flush later, which leaves a dead row version
behind each time. With PostgreSQL's default thresholds (a fifth of the table changed) a table
of a million rows waits for 200,000 such changes before it is vacuumed, and until then a large
share of its pages are not marked all-visible, so the desk's counts read the table itself
instead of only its indexes: in `bench/recorder_view.py` the same count took 114 to 237 ms
between vacuums and 5 to 42 ms right after one. One percent keeps the visibility map fresh.

SQLite keeps no dead row versions and has no such setting: nothing changes there.
"""

STATEMENTS: tuple[str, ...] = ()

POSTGRESQL_STATEMENTS = (
    "ALTER TABLE requests SET ("
    " autovacuum_vacuum_scale_factor = 0.01,"
    " autovacuum_vacuum_insert_scale_factor = 0.01,"
    " autovacuum_analyze_scale_factor = 0.01)",
)
