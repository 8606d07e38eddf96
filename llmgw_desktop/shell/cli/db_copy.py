"""`llmgw-desktop db copy`: copy the SQLite store into PostgreSQL and verify the row counts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.cli.messages import fail, unusable
from llmgw_desktop.shell.cli.preflight import refuse_unwritable, start_logging
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings
    from llmgw_desktop.engine.api import CopyReport
    from llmgw_desktop.shell.instance import InstanceLock

__all__ = ["COMMAND", "db_copy"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    db: argparse.ArgumentParser = commands.add_parser(
        "db",
        help="maintain the store (copy it to PostgreSQL)",
        description="Maintain the store. `db copy` copies the SQLite store into PostgreSQL.",
        epilog=examples("llmgw-desktop db copy --to postgresql://me@localhost/llmgw"),
        formatter_class=HelpWithExamples,
    )
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    copy = db_commands.add_parser(
        "copy",
        help="copy the SQLite store into a PostgreSQL database and verify the row counts",
        description="Copy the SQLite store (the one the settings point at, or --from) into an "
        "empty PostgreSQL database: every table, the vault's sealed records unchanged (open "
        "them with the same master key). The target is migrated first; the copy is one "
        "transaction and is verified by counting each table's rows on both sides. Stop the "
        "gateway first: rows it wrote during the copy would be missed.",
        epilog=examples(
            "llmgw-desktop db copy --to postgresql://me@localhost/llmgw",
            "llmgw-desktop db copy --from ~/old.db --to postgresql://me@db/llmgw --force",
        ),
        formatter_class=HelpWithExamples,
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the target, postgresql://user[:password]@host[:port]/database (the password is "
        "never printed or logged)",
    )
    copy.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="the SQLite file to copy (default: the store.db_path the settings name)",
    )
    copy.add_argument(
        "--force",
        action="store_true",
        help="empty the target's tables first when they hold rows (in the same transaction)",
    )
    return db


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    return db_copy(loaded, args.to, args.source, force=args.force, verbose=args.verbose)


COMMAND = Command("db", _declare, _run)


def db_copy(
    loaded: LoadedSettings, target_url: str, source: Path | None, *, force: bool, verbose: bool
) -> int:
    """`llmgw-desktop db copy`: copy the SQLite store into PostgreSQL, print the counts."""
    import asyncio

    from llmgw_desktop.engine.api import StoreError, copy_store, target_url_problem
    from llmgw_desktop.shell.instance import InstanceLock

    if (problem := target_url_problem(target_url)) is not None:
        print(f"llmgw-desktop: --to {problem}", file=sys.stderr)
        return EXIT_CONFIG
    settings = loaded.settings
    source = (source or settings.database_file).expanduser()
    if unwritable := refuse_unwritable(settings):
        return unwritable
    try:
        logs = start_logging(settings, verbose=verbose)
    except OSError as exc:
        return unusable(exc)
    # Held for the whole copy: a gateway writing the SQLite file meanwhile would lose its rows
    # (they are not in the snapshot copied), and one starting would find the lock taken.
    locks: list[InstanceLock] = []
    try:
        for data_dir in _data_dirs(settings.data_path, source):
            lock = InstanceLock(data_dir)
            try:
                acquired = lock.acquire()
            except OSError as exc:
                return unusable(exc)
            if not acquired:
                return fail(
                    f"a gateway is running on {data_dir} (pid {_lock_holder(data_dir)}): stop "
                    "it and copy again. Rows it writes during a copy would not be copied."
                )
            locks.append(lock)
        try:
            report = asyncio.run(copy_store(source, target_url, force=force))
        except StoreError as exc:  # CopyRefused included: the message says what to do
            return fail(str(exc))
    finally:
        for lock in locks:
            lock.release()
        logs.close()
    _print_copy(report)
    if not report.ok:
        print(
            f"llmgw-desktop: the counts differ in {', '.join(report.mismatched)}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def _data_dirs(data_dir: Path, source: Path) -> list[Path]:
    """The data dirs whose gateway could be writing `source`: the settings' own, and the
    file's folder when a gateway has run there (it holds an instance lock file)."""
    dirs = [data_dir]
    folder = source.parent
    from llmgw_desktop.shell.instance import LOCK_FILE

    if folder.resolve() != data_dir.resolve() and (folder / LOCK_FILE).exists():
        dirs.append(folder)
    return dirs


def _lock_holder(data_dir: Path) -> str:
    from llmgw_desktop.shell.instance import LOCK_FILE

    try:
        return (data_dir / LOCK_FILE).read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _print_copy(report: CopyReport) -> None:
    print(f"Copied {report.source}\n  into {report.target} (schema {report.schema_version})")
    if report.emptied:
        print(f"Emptied first (--force): {', '.join(report.emptied)}")
    width = max(len(t.table) for t in report.tables)
    print(f"{'table':<{width}}  {'sqlite':>10}  {'postgresql':>10}")
    for t in sorted(report.tables, key=lambda t: t.table):
        flag = "" if t.matches else "  <- differs"
        print(f"{t.table:<{width}}  {t.source_rows:>10}  {t.target_rows:>10}{flag}")
    if report.ok:
        rows = sum(t.source_rows for t in report.tables)
        print(
            f"All {len(report.tables)} tables agree ({rows} rows).\nPoint the gateway at it "
            "with store.url (LLM_GATEWAY_DB_URL), and give it the same vault master key."
        )
