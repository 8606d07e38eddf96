"""`llmgw-desktop db copy`: the store the settings name, copied into the test cluster's
PostgreSQL, with the counts printed; and what it refuses (a running gateway, a non-empty
target, a target that is not PostgreSQL). The password of the URL is never shown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import CopyReport, TableCount
from llmgw_desktop.engine.sessions.gateway_sessions import SessionStore
from llmgw_desktop.engine.store import Database
from llmgw_desktop.shell.cli.main import main
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_FAILURE
from llmgw_desktop.shell.instance import InstanceLock
from tests.postgres import PostgresCluster

PASSWORD = "pw-never-shown-4711"  # the cluster trusts loopback: any password is accepted


@pytest.fixture
def target_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    url = postgres_cluster.create_database()
    yield url.replace("llmgw@", f"llmgw:{PASSWORD}@")
    postgres_cluster.drop_database(url)


def _fill(path: Path, sessions: int = 2) -> None:
    async def fill() -> None:
        db = Database(path)
        await db.open()
        try:
            store = SessionStore(db)
            for n in range(sessions):
                await store.create("local", "claude", caller=f"editor-{n}")
        finally:
            await db.close()

    asyncio.run(fill())


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _logged(loaded: LoadedSettings) -> str:
    return "".join(p.read_text() for p in loaded.settings.log_path.glob("*.log*"))


def test_copy_prints_agreeing_counts_and_never_the_password(
    loaded: LoadedSettings, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(loaded.settings.database_file)

    assert main(["db", "copy", "--to", target_url]) == 0

    out, err = capsys.readouterr()
    assert "sessions" in out and "active_sessions" in out
    assert "tables agree" in out
    assert "llmgw:***@" in out
    assert _count(target_url, "sessions") == 2
    for text in (out, err, _logged(loaded)):
        assert PASSWORD not in text


def test_copy_from_another_file(
    loaded: LoadedSettings, target_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "elsewhere" / "old.db"
    _fill(other, sessions=3)

    assert main(["db", "copy", "--to", target_url, "--from", str(other)]) == 0

    assert str(other) in capsys.readouterr().out
    assert _count(target_url, "sessions") == 3


def test_non_empty_target_is_refused_without_force_and_emptied_with_it(
    loaded: LoadedSettings, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(loaded.settings.database_file)
    assert main(["db", "copy", "--to", target_url]) == 0
    capsys.readouterr()

    assert main(["db", "copy", "--to", target_url]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "already holds rows" in err and "--force" in err
    assert PASSWORD not in err

    assert main(["db", "copy", "--to", target_url, "--force"]) == 0
    assert "Emptied first (--force): " in capsys.readouterr().out
    assert _count(target_url, "sessions") == 2


@pytest.mark.parametrize(
    "url", [f"mysql://me:{PASSWORD}@db/llmgw", f"me:{PASSWORD}@db/llmgw", "sqlite:///x.db"]
)
def test_target_that_is_not_postgresql_is_a_usage_error(
    loaded: LoadedSettings, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--to", url]) == EXIT_CONFIG

    err = capsys.readouterr().err
    assert err.startswith("llmgw-desktop: --to must be a postgresql:// URL")
    assert PASSWORD not in err
    assert not loaded.settings.database_file.exists()  # nothing opened


def test_copy_is_refused_while_a_gateway_runs_on_the_data_dir(
    loaded: LoadedSettings, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(loaded.settings.database_file)
    running = InstanceLock(loaded.settings.data_path)  # what a running gateway holds
    assert running.acquire()
    try:
        assert main(["db", "copy", "--to", target_url]) == EXIT_FAILURE
    finally:
        running.release()

    err = capsys.readouterr().err
    assert "a gateway is running on" in err and "stop it" in err
    with psycopg.connect(target_url) as connection:  # the target was not even migrated
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_copy_holds_the_instance_lock_so_no_gateway_starts_meanwhile(
    loaded: LoadedSettings, target_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(loaded.settings.database_file)
    seen: list[bool] = []

    async def copy_checking_lock(*args: object, **kwargs: object) -> object:
        seen.append(InstanceLock(loaded.settings.data_path).acquire())
        return await real_copy(*args, **kwargs)  # type: ignore[arg-type]

    import llmgw_desktop.engine.api as api  # the command imports copy_store when it runs

    real_copy = api.copy_store
    monkeypatch.setattr(api, "copy_store", copy_checking_lock)

    assert main(["db", "copy", "--to", target_url]) == 0
    assert seen == [False]
    after = InstanceLock(loaded.settings.data_path)
    assert after.acquire()  # released at the end
    after.release()


def test_db_copy_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["db", "copy", "--help"])
    out = capsys.readouterr().out
    assert "PostgreSQL" in out and "--force" in out and "--from" in out


def test_counts_that_differ_exit_1_naming_the_tables(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = CopyReport(
        "llmgw.db",
        "postgresql://llmgw:***@db/llmgw",
        11,
        (TableCount("jobs", 3, 3), TableCount("requests", 10, 9)),
        (),
    )

    async def copy_with_a_lost_row(*args: object, **kwargs: object) -> CopyReport:
        return report

    import llmgw_desktop.engine.api as api  # the command imports copy_store when it runs

    monkeypatch.setattr(api, "copy_store", copy_with_a_lost_row)

    assert main(["db", "copy", "--to", "postgresql://llmgw@db/llmgw"]) == EXIT_FAILURE
    out, err = capsys.readouterr()
    assert "requests          10           9  <- differs" in out
    assert "agree" not in out
    assert err.strip() == "llmgw-desktop: the counts differ in requests"
