"""Several real gateway processes on one PostgreSQL database: the team gateway under test.

Each member is `python -m llmgw_desktop --headless` as a child process with a data dir and
port of its own, and the settings a team shares: `LLM_GATEWAY_DB_URL` (one database in the
session's throwaway cluster, `tests/postgres.py`) and `LLM_GATEWAY_MASTER_KEY`. The CLI on
their PATH is the fake `claude` of the crash tests (`tests/reliability/_crash_support.py`),
whose prompt says what it does (`succeed`, `hang`, `tree DIR`...), so jobs can be held
running, cancelled and orphaned on purpose.

`team` (the fixture) hands out members with `team.join(name, **env)`; every process it started
is killed at the end (and the processes their jobs started), then the database is dropped.
`team.query(sql, *args)` reads the shared database directly, as an operator would with psql.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresCluster
from tests.reliability._crash_support import Gateway, install_fake_claude, kill_quietly

__all__ = ["Team", "TeamGateway", "team"]


@dataclass
class TeamGateway(Gateway):
    """A `Gateway` of the crash tests whose store is the team's PostgreSQL database."""

    shared_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return super().env() | self.shared_env


@dataclass
class Team:
    """The members started so far, the database they share and the key that opens its vault."""

    root: Path
    db_url: str
    master_key: str = field(default_factory=lambda: secrets.token_hex(32))
    members: list[TeamGateway] = field(default_factory=list)

    def join(self, name: str, *, start: bool = True, **env: str) -> TeamGateway:
        """A new member with its own home under the test's tmp dir; started unless told not."""
        home = self.root / name
        install_fake_claude(home / "bin")
        member = TeamGateway(
            home,
            shared_env={
                "LLM_GATEWAY_DB_URL": self.db_url,
                "LLM_GATEWAY_MASTER_KEY": self.master_key,
            }
            | env,
        )
        self.members.append(member)
        if start:
            member.start()
        return member

    def kill_all(self) -> None:
        """Kill every member still running and what it left behind (its CLIs' groups)."""
        for member in self.members:
            if member.proc is not None:
                member.proc.kill()
                member.proc.communicate()
            kill_quietly(member.leftovers)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` (psycopg's `%s` placeholders) read straight from the shared database."""
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as connection:
            return list(connection.execute(sql, args).fetchall())


@pytest.fixture
def team(tmp_path: Path, postgres_cluster: PostgresCluster) -> Iterator[Team]:
    crew = Team(tmp_path, postgres_cluster.create_database())
    try:
        yield crew
    finally:
        crew.kill_all()
        postgres_cluster.drop_database(crew.db_url)
