"""Schema 18: hard budgets counted in the store, so every process sharing it admits against
the same spend (`engine/budgets/lanes.py`).

`budget_spend` is a budget's spend per lane (the principal, or "" for one total) and period,
added to by every process as its calls finish. `budget_periods` says a budget's period was
counted in: its spend before that was read from the recorder's rows once, by the first process
that needed it. `budget_holds` is what calls running anywhere hold against a lane, each row
owned by the gateway process that admitted the call (its lease, `process_leases`): a process
that died leaves holds no live lease owns, and the next admission on that lane counts them as
spent (the most the dead calls could have cost). Times and periods are the ledger's.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE budget_spend (
        budget        TEXT NOT NULL,
        lane          TEXT NOT NULL,
        period_start  REAL NOT NULL,
        spent         REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (budget, lane, period_start)
    )
    """,
    """
    CREATE TABLE budget_periods (
        budget        TEXT NOT NULL,
        period_start  REAL NOT NULL,
        counted_at    REAL NOT NULL,
        PRIMARY KEY (budget, period_start)
    )
    """,
    """
    CREATE TABLE budget_holds (
        id            TEXT NOT NULL,
        budget        TEXT NOT NULL,
        lane          TEXT NOT NULL,
        period_start  REAL NOT NULL,
        amount        REAL NOT NULL,
        process       TEXT NOT NULL,
        created_at    REAL NOT NULL,
        PRIMARY KEY (id, budget, lane)
    )
    """,
    "CREATE INDEX budget_holds_lane ON budget_holds (budget, lane, period_start)",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
