"""The `llmgw-desktop` command: the desktop app by default, headless, or a maintenance command.

Every failure a user can cause (a bad setting, a settings file that is not UTF-8, a taken
port, a directory it may not write, an unreadable database) ends in one clear message and a
non-zero exit code, never a traceback:

  0  stopped cleanly, or handed off to the running instance
  1  could not start (for example an unreadable database)
  2  a bad setting, or a settings file that cannot be read as UTF-8 TOML
  3  the port is taken
  4  a directory the gateway keeps its files in (data, database, log) cannot be written

`db copy` (moving a store to PostgreSQL) ends with 0 when the copy is made and every table's
count agrees, 1 when it is refused (a gateway running, a target holding rows), fails or a count
differs, and 2 for a `--to` that is not a PostgreSQL URL.
"""

from __future__ import annotations

# Only what parsing the command line needs loads here: `--version`, `--help` and the stdio
# relay editors spawn must not pay for the engine, the HTTP server or the MCP SDK (seconds of
# imports). Each command imports its own machinery when it is chosen.
import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config import paths

if TYPE_CHECKING:
    from collections.abc import Callable

    from llmgw_desktop.config.settings import ConfigError, LoadedSettings, Settings
    from llmgw_desktop.engine.api import CopyReport
    from llmgw_desktop.instance import InstanceLock
    from llmgw_desktop.logging_setup import LogSetup
    from llmgw_desktop.transports.http_server import PortInUse

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_PORT_IN_USE",
    "EXIT_UNWRITABLE",
    "display_problem",
    "main",
]

log = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_PORT_IN_USE = 3
EXIT_UNWRITABLE = 4
MIN_PASSWORD_CHARS = 12


class _PrintVersion(argparse.Action):
    """`--version`, reading the version only when asked (see llmgw_desktop/__init__.py)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from llmgw_desktop import __version__

        print(f"llmgw-desktop {__version__}")
        parser.exit()


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


class _HelpWithExamples(argparse.HelpFormatter):
    """Wraps descriptions as usual but prints the examples epilog line by line, as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmgw-desktop",
        description="Local gateway between your coding tools and every LLM. Without a command "
        "it starts the desktop app (or, with --headless or without a display, the gateway "
        "alone).",
        epilog=_examples(
            "llmgw-desktop                  # the desktop app",
            "llmgw-desktop --headless -v    # the gateway alone, its log on the console",
            "llmgw-desktop COMMAND --help   # what a command does",
        ),
        formatter_class=_HelpWithExamples,
    )
    parser.add_argument(
        "--version", action=_PrintVersion, nargs=0, help="print the version and exit"
    )
    parser.add_argument("--headless", action="store_true", help="run without a window or tray icon")
    parser.add_argument(
        "--hidden",
        action="store_true",
        help="start in the tray without showing the window (how a login start runs)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="mirror the log to the console"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"settings file to read (default: {paths.config_file()}; env {paths.CONFIG_ENV})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    config = commands.add_parser(
        "config",
        help="show the effective settings",
        description="Print every setting, its value and where the value came from (the "
        "default, the settings file or an environment variable), with the real data dir, log "
        "dir and database path. API keys and passwords are masked.",
        epilog=_examples(
            "llmgw-desktop config --show",
            "llmgw-desktop --config ~/work.toml config --show --json",
        ),
        formatter_class=_HelpWithExamples,
    )
    config.add_argument(
        "--show", action="store_true", help="print every setting and where its value came from"
    )
    config.add_argument("--json", action="store_true", help="print as JSON")
    commands.add_parser(
        "version",
        help="print the version",
        description="Print the version (the same as --version).",
        epilog=_examples("llmgw-desktop version"),
        formatter_class=_HelpWithExamples,
    )
    commands.add_parser(
        "hash-password",
        help="hash a consent password for http.oauth.consent_password_hash (reads it from stdin "
        "or asks for it)",
        description="Print the scrypt hash of a consent password, for the setting "
        "http.oauth.consent_password_hash. It asks twice on a terminal, or reads one line "
        "from stdin; the password itself is never printed or stored.",
        epilog=_examples(
            "llmgw-desktop hash-password",
            "pass show llmgw/consent | llmgw-desktop hash-password",
        ),
        formatter_class=_HelpWithExamples,
    )
    commands.add_parser(
        "mcp",
        help="serve MCP over stdin/stdout (for editors); relays to the running app if any",
        description="Speak MCP on stdin/stdout, for editors that launch a command. When the "
        "app (or another gateway on this data dir) runs, it relays to it, so every editor "
        "shares one engine and the dashboard; otherwise it runs the gateway itself until the "
        "editor closes the connection. Only MCP messages go to stdout; the log goes to the "
        "log file (and to stderr with -v).",
        epilog=_examples(
            "claude mcp add llmgw -- llmgw-desktop mcp",
            '{"mcpServers": {"llmgw": {"command": "llmgw-desktop", "args": ["mcp"]}}}',
        ),
        formatter_class=_HelpWithExamples,
    )
    db = commands.add_parser(
        "db",
        help="maintain the store (copy it to PostgreSQL)",
        description="Maintain the store. `db copy` copies the SQLite store into PostgreSQL.",
        epilog=_examples("llmgw-desktop db copy --to postgresql://me@localhost/llmgw"),
        formatter_class=_HelpWithExamples,
    )
    quit_command = commands.add_parser(
        "quit",
        help="ask the running app (for this data dir) to quit, and wait until it has",
        description="Ask the running llmgw-desktop to shut down as its Quit does, and wait "
        "until it has (installers run this before replacing or removing its files). Exit "
        "0 when none runs any more, 1 when it is still running.",
        epilog=_examples("llmgw-desktop quit", "llmgw-desktop quit --wait 5"),
        formatter_class=_HelpWithExamples,
    )
    quit_command.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for it to stop (default 30)",
    )
    install = commands.add_parser(
        "install-desktop",
        help="add the app to this user's desktop menu (Linux: .desktop file and icons)",
        description="Write the menu entry ($XDG_DATA_HOME/applications) and the icons "
        "($XDG_DATA_HOME/icons/hicolor) for this user, starting this very installation by "
        "its absolute path. --uninstall removes them (and the start-at-login entry).",
        epilog=_examples(
            "llmgw-desktop install-desktop", "llmgw-desktop install-desktop --uninstall"
        ),
        formatter_class=_HelpWithExamples,
    )
    install.add_argument("--uninstall", action="store_true", help="remove what it installed")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    copy = db_commands.add_parser(
        "copy",
        help="copy the SQLite store into a PostgreSQL database and verify the row counts",
        description="Copy the SQLite store (the one the settings point at, or --from) into an "
        "empty PostgreSQL database: every table, the vault's sealed records unchanged (open "
        "them with the same master key). The target is migrated first; the copy is one "
        "transaction and is verified by counting each table's rows on both sides. Stop the "
        "gateway first: rows it wrote during the copy would be missed.",
        epilog=_examples(
            "llmgw-desktop db copy --to postgresql://me@localhost/llmgw",
            "llmgw-desktop db copy --from ~/old.db --to postgresql://me@db/llmgw --force",
        ),
        formatter_class=_HelpWithExamples,
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "version":
        from llmgw_desktop import __version__

        print(f"llmgw-desktop {__version__}")
        return 0
    if args.command == "hash-password":
        return hash_password_command()
    if args.command == "install-desktop":
        from llmgw_desktop.linux_install import install_desktop_command

        return install_desktop_command(uninstall=args.uninstall)
    from llmgw_desktop.config.settings import ConfigError, load_settings

    if args.config is not None and not args.config.expanduser().is_file():
        # Named on the command line, so meant: running on defaults instead would hide the typo.
        print(f"llmgw-desktop: the settings file {args.config} does not exist", file=sys.stderr)
        return EXIT_CONFIG
    try:
        loaded = load_settings(args.config)
    except ConfigError as exc:
        return config_error_message(exc, args.config or paths.config_file())
    if args.command == "config":
        return _to_a_pipe(lambda: show_config(loaded, as_json=args.json))
    if args.command == "mcp":
        return run_mcp(loaded, verbose=args.verbose)
    if args.command == "quit":
        from llmgw_desktop.instance import ask_running_instance_to_quit

        result = ask_running_instance_to_quit(loaded.settings.data_path, args.wait)
        print(result.message, file=sys.stdout if result.stopped else sys.stderr)
        return 0 if result.stopped else EXIT_FAILURE
    if args.command == "db":
        return db_copy(loaded, args.to, args.source, force=args.force, verbose=args.verbose)
    return run(loaded, headless=args.headless, verbose=args.verbose, hidden=args.hidden)


def config_error_message(error: ConfigError, config_file: Path) -> int:
    """Print every problem the settings have (not only the first); EXIT_CONFIG."""
    from llmgw_desktop.config.settings import FILE_KEY

    if error.key == FILE_KEY:
        print(f"llmgw-desktop: the settings file {error.source} {error.problem}", file=sys.stderr)
        return EXIT_CONFIG
    for exc in error.errors:
        print(
            f"llmgw-desktop: bad setting {exc.key}: {exc.problem}\n  value from: {exc.source}",
            file=sys.stderr,
        )
    print(
        f"  settings file: {config_file}\n"
        f"Fix the {'value' if len(error.errors) == 1 else 'values'} (or remove "
        f"{'it' if len(error.errors) == 1 else 'them'} to use the default) and start again.",
        file=sys.stderr,
    )
    return EXIT_CONFIG


def _to_a_pipe(command: Callable[[], int]) -> int:
    """Run a command that prints, ending quietly when its reader stops reading (`| head`)."""
    try:
        code = command()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader has what it wanted. Point stdout at /dev/null so the interpreter's own
        # flush at exit does not fail on the closed pipe a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    return code


def hash_password_command() -> int:
    """Print the scrypt hash of a password typed (twice) or piped in; never the password."""
    import getpass

    from llmgw_desktop.engine.api import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Consent password: ")
        if password != getpass.getpass("Again: "):
            print("llmgw-desktop: the two passwords differ", file=sys.stderr)
            return EXIT_FAILURE
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"llmgw-desktop: use at least {MIN_PASSWORD_CHARS} characters", file=sys.stderr)
        return EXIT_FAILURE
    print(hash_password(password))
    return 0


def _start_logging(settings: Settings, *, verbose: bool) -> LogSetup:
    """The rotating log file (and with `verbose`, stderr) at the configured level.

    Raises:
        OSError: the log file cannot be opened (a directory in its place, say).
    """
    from llmgw_desktop.logging_setup import configure_logging

    return configure_logging(
        settings.log_path,
        level=settings.log_level,
        verbose=verbose,
        max_bytes=settings.log_max_bytes,
        backups=settings.log_backups,
    )


def run_mcp(loaded: LoadedSettings, *, verbose: bool) -> int:
    """`llmgw-desktop mcp`: stdout carries MCP messages only, so logs go to the file."""
    settings = loaded.settings
    if unwritable := _refuse_unwritable(settings):
        return unwritable
    try:
        logs = _start_logging(settings, verbose=verbose)  # --verbose: stderr, never stdout
    except OSError as exc:
        return _unusable(exc)
    # Relaying to a running gateway imports no engine; serving in process imports it then.
    from llmgw_desktop.stdio_mode import LockFileUnusable, run_stdio

    try:
        return run_stdio(loaded)
    except LockFileUnusable as exc:
        return _unusable(exc.error)
    except OSError as exc:  # the editor's pipes, the relay's connection: not the data dir
        return _fail(f"stdio MCP stopped: {exc}")
    except KeyboardInterrupt:
        return 130
    finally:
        logs.close()


def db_copy(
    loaded: LoadedSettings, target_url: str, source: Path | None, *, force: bool, verbose: bool
) -> int:
    """`llmgw-desktop db copy`: copy the SQLite store into PostgreSQL, print the counts."""
    import asyncio

    from llmgw_desktop.engine.api import StoreError, copy_store, target_url_problem
    from llmgw_desktop.instance import InstanceLock

    if (problem := target_url_problem(target_url)) is not None:
        print(f"llmgw-desktop: --to {problem}", file=sys.stderr)
        return EXIT_CONFIG
    settings = loaded.settings
    source = (source or settings.database_file).expanduser()
    if unwritable := _refuse_unwritable(settings):
        return unwritable
    try:
        logs = _start_logging(settings, verbose=verbose)
    except OSError as exc:
        return _unusable(exc)
    # Held for the whole copy: a gateway writing the SQLite file meanwhile would lose its rows
    # (they are not in the snapshot copied), and one starting would find the lock taken.
    locks: list[InstanceLock] = []
    try:
        for data_dir in _data_dirs(settings.data_path, source):
            lock = InstanceLock(data_dir)
            try:
                acquired = lock.acquire()
            except OSError as exc:
                return _unusable(exc)
            if not acquired:
                return _fail(
                    f"a gateway is running on {data_dir} (pid {_lock_holder(data_dir)}): stop "
                    "it and copy again. Rows it writes during a copy would not be copied."
                )
            locks.append(lock)
        try:
            report = asyncio.run(copy_store(source, target_url, force=force))
        except StoreError as exc:  # CopyRefused included: the message says what to do
            return _fail(str(exc))
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
    from llmgw_desktop.instance import LOCK_FILE

    if folder.resolve() != data_dir.resolve() and (folder / LOCK_FILE).exists():
        dirs.append(folder)
    return dirs


def _lock_holder(data_dir: Path) -> str:
    from llmgw_desktop.instance import LOCK_FILE

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


# The path settings left empty mean "the platform's place": shown as the path itself, since
# `""` tells a user nothing about where the gateway keeps their files.
_WHERE_EMPTY_MEANS = {
    "paths.data_dir": "data_path",
    "paths.log_dir": "log_path",
    "store.db_path": "database_file",
}


def show_config(loaded: LoadedSettings, *, as_json: bool) -> int:
    """Print every effective setting and its source."""
    import json

    from llmgw_desktop.config.settings import declared_settings

    def shown(key: str, attr: str, secret: bool) -> Any:
        value = getattr(loaded.settings, attr)
        if secret:
            return "***" if value else ""
        if key in _WHERE_EMPTY_MEANS and not value:
            return str(getattr(loaded.settings, _WHERE_EMPTY_MEANS[key]))
        return _without_secrets(value, key)

    rows = [
        {
            "key": d.key,
            "value": shown(d.key, d.attr, d.secret),
            "source": loaded.sources[d.key],
            "env": d.env,
            "doc": d.doc,
        }
        for d in declared_settings()
    ]
    if as_json:
        print(json.dumps({"config_file": str(loaded.config_file), "settings": rows}, indent=2))
        return 0
    exists = "" if loaded.config_file.exists() else " (not present: defaults apply)"
    print(f"# settings file: {loaded.config_file}{exists}")
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        origin = r["source"] if r["source"] != "default" else f"default; env {r['env']}"
        print(f"{r['key']:<{width}} = {json.dumps(r['value'])}  # {origin}")
    if loaded.unknown_env:
        print(f"# ignored environment variables (not settings): {', '.join(loaded.unknown_env)}")
    return 0


def _without_secrets(value: Any, key: str = "") -> Any:
    """Settings as shown: API keys written into config.toml are masked, never printed, and so
    is the password in the store's URL."""
    if key == "store.url" and isinstance(value, str):
        from llmgw_desktop.engine.api import redacted_url

        return redacted_url(value)
    if isinstance(value, dict):
        return {
            k: ("***" if k in ("api_key", "api_keys") else _without_secrets(v))
            for k, v in value.items()
        }
    return value


def display_problem(
    environ: dict[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """Why no window can be shown here, or None when a display looks usable."""
    env = dict(os.environ) if environ is None else environ
    if env.get("QT_QPA_PLATFORM") or platform in ("win32", "darwin"):
        return None
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:
        runtime_dir = env.get("XDG_RUNTIME_DIR", "")
        if Path(wayland).is_absolute() or not runtime_dir or Path(runtime_dir, wayland).exists():
            return None
    display = env.get("DISPLAY")
    if not display:
        return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    # Qt aborts the whole process when it cannot reach the X server, so look before leaping:
    # a local display ":N" must have its socket.
    if display.startswith(":"):
        number = display[1:].split(".")[0]
        socket_path = Path("/tmp/.X11-unix") / f"X{number}"  # noqa: S108 - the X server's own
        if number.isdigit() and not socket_path.exists():
            return f"the X display {display} is not reachable"
    return None


def run(loaded: LoadedSettings, *, headless: bool, verbose: bool, hidden: bool = False) -> int:
    """Start the desktop app (or headless mode) as the only instance for this data dir."""
    settings = loaded.settings
    if unwritable := _refuse_unwritable(settings):
        return unwritable
    from llmgw_desktop.config.paths import bare_pointer_dir
    from llmgw_desktop.instance import InstanceLock, hand_off_to_running_instance

    try:
        logs = _start_logging(settings, verbose=verbose)
    except OSError as exc:
        return _unusable(exc)
    try:
        lock = InstanceLock(settings.data_path, bare_dir=bare_pointer_dir(settings.data_path))
        try:
            acquired = lock.acquire()
        except OSError as exc:
            return _unusable(exc)
        if not acquired:
            result = hand_off_to_running_instance(settings.data_path)
            print(result.message, file=sys.stdout if result.ok else sys.stderr)
            return 0 if result.ok else EXIT_FAILURE
        try:
            return _run_locked(loaded, lock, headless=headless, hidden=hidden)
        finally:
            lock.release()
    finally:
        logs.close()


def _run_locked(
    loaded: LoadedSettings, lock: InstanceLock, *, headless: bool, hidden: bool = False
) -> int:
    from llmgw_desktop.engine.api import StoreError
    from llmgw_desktop.transports.http_server import PortInUse

    settings = loaded.settings
    if not headless:
        problem = display_problem()
        if problem is None:
            try:
                from llmgw_desktop.app import run_desktop
            except ImportError as exc:
                problem = f"Qt could not be loaded ({exc})"
            else:
                if unsafe := _refuse_unsafe(settings, desktop=True):
                    return unsafe
                try:
                    return run_desktop(loaded, lock, hidden=hidden)
                except StoreError as exc:
                    return _fail(str(exc))
        print(f"llmgw-desktop: {problem}: running headless.", file=sys.stderr, flush=True)
        log.warning("%s: running headless", problem)
    if unsafe := _refuse_unsafe(settings, desktop=False):
        return unsafe
    try:
        from llmgw_desktop.headless import run_headless

        return run_headless(loaded, lock)
    except PortInUse as exc:
        return port_in_use_message(exc, settings.http_host)
    except StoreError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were in place
        return 130


def _refuse_unsafe(settings: Settings, *, desktop: bool) -> int:
    """EXIT_CONFIG with every reason when the settings would expose the gateway; else 0."""
    from llmgw_desktop.engine.api import startup_problems, startup_warnings

    problems = startup_problems(settings, os.environ, desktop=desktop)
    for problem in problems:
        print(f"llmgw-desktop: refusing to start: {problem}", file=sys.stderr)
        log.error("refusing to start: %s", problem)
    if not problems:
        for warning in startup_warnings(settings):  # also logged once the gateway is up
            print(f"llmgw-desktop: warning: {warning}", file=sys.stderr)
    return EXIT_CONFIG if problems else 0


# The directories the gateway writes, by the setting that places them, and what each holds.
_WRITTEN_DIRS = (
    ("paths.data_dir", "data directory", "the database, the instance lock and conversations"),
    ("store.db_path", "database's directory", "the database and its journal"),
    ("paths.log_dir", "log directory", "the log"),
)


def _refuse_unwritable(settings: Settings) -> int:
    """EXIT_UNWRITABLE, saying which directory and what to do, when one the gateway keeps its
    files in cannot be written; else 0. Checked before anything (the log included) opens."""
    from llmgw_desktop.config.settings import declared_settings

    envs = {d.key: d.env for d in declared_settings()}
    places = {
        "paths.data_dir": settings.data_path,
        "store.db_path": settings.database_file.parent,
        "paths.log_dir": settings.log_path,
    }
    checked: set[Path] = set()
    for key, what, holds in _WRITTEN_DIRS:
        directory = places[key]
        if directory in checked:
            continue
        checked.add(directory)
        if (problem := paths.write_problem(directory)) is None:
            continue
        print(
            f"llmgw-desktop: cannot write in the {what} {directory} ({problem}).\n"
            f"  It holds {holds}.\n"
            f"  Make it writable for this user, or choose another place with {key} in "
            f"config.toml\n  or {envs[key]}, and start again.",
            file=sys.stderr,
        )
        return EXIT_UNWRITABLE
    return 0


def port_in_use_message(exc: PortInUse, host: str) -> int:
    """Explain a taken port (ours from another data dir, or another program); the exit code."""
    from llmgw_desktop.transports.http_server import base_url, probe_gateway

    other = probe_gateway(base_url(host, exc.port))
    if other is not None:
        who = f"another llmgw-desktop {other.get('version', '')} (using a different data dir)"
    else:
        who = "another program"
    print(
        f"llmgw-desktop: cannot listen on {host}:{exc.port}: the port is used by {who}.\n"
        "Stop that program, or choose another port with http.port in config.toml "
        "or the LLM_GATEWAY_HTTP_PORT environment variable.",
        file=sys.stderr,
    )
    log.error("port %d on %s is in use by %s", exc.port, host, who)
    return EXIT_PORT_IN_USE


def _unusable(exc: OSError) -> int:
    """EXIT_UNWRITABLE for a file the gateway must open in its data or log dir (the log, the
    instance lock) that it cannot: one line naming the file and the reason, no traceback."""
    where = exc.filename or "a file in the data or log directory"
    print(
        f"llmgw-desktop: cannot open {where} ({exc.strerror or exc}): move it out of the way "
        "or choose other directories with paths.data_dir / paths.log_dir, and start again.",
        file=sys.stderr,
    )
    return EXIT_UNWRITABLE


def _fail(message: str) -> int:
    print(f"llmgw-desktop: {message}", file=sys.stderr)
    log.error("%s", message)
    return EXIT_FAILURE
