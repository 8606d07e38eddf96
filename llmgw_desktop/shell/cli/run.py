"""Without a command: start the desktop app (or headless mode) as the only instance for this
data dir, or hand off to the one running."""

from __future__ import annotations

import errno
import logging
import sys
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.messages import fail, port_in_use_message, unusable
from llmgw_desktop.shell.cli.preflight import refuse_unsafe, refuse_unwritable, start_logging
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE, EXIT_INTERRUPTED

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings
    from llmgw_desktop.shell.instance import InstanceLock
    from llmgw_desktop.shell.window_probe import WindowCheck

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(
    loaded: LoadedSettings,
    *,
    headless: bool,
    verbose: bool,
    hidden: bool = False,
    window: WindowCheck | None = None,
) -> int:
    """Start the desktop app (or headless mode) as the only instance for this data dir;
    `window`: whether a window can open, begun as the command line decided to start the app
    (else begun here)."""
    if window is None and not headless:
        # Imported only for a window: a headless start never loads the probe (ctypes, the
        # display checks; tests/test_startup_imports.py).
        from llmgw_desktop.shell.window_probe import WindowCheck

        window = WindowCheck.begin()
    try:
        return _run(loaded, headless=headless, verbose=verbose, hidden=hidden, window=window)
    finally:
        if window is not None:
            window.cancel()


def _run(
    loaded: LoadedSettings,
    *,
    headless: bool,
    verbose: bool,
    hidden: bool,
    window: WindowCheck | None,
) -> int:
    settings = loaded.settings
    if unwritable := refuse_unwritable(settings):
        return unwritable
    from llmgw_desktop.config.paths import bare_pointer_dir
    from llmgw_desktop.shell.instance import InstanceLock, hand_off_to_running_instance

    try:
        logs = start_logging(settings, verbose=verbose)
    except OSError as exc:
        return unusable(exc)
    try:
        lock = InstanceLock(settings.data_path, bare_dir=bare_pointer_dir(settings.data_path))
        try:
            acquired = lock.acquire()
        except OSError as exc:
            return unusable(exc)
        if not acquired:
            result = hand_off_to_running_instance(settings.data_path)
            print(result.message, file=sys.stdout if result.ok else sys.stderr)
            return 0 if result.ok else EXIT_FAILURE
        try:
            return _run_locked(loaded, lock, window, hidden=hidden, verbose=verbose)
        finally:
            lock.release()
    finally:
        logs.close()


def _run_locked(
    loaded: LoadedSettings,
    lock: InstanceLock,
    window: WindowCheck | None,
    *,
    hidden: bool,
    verbose: bool = False,
) -> int:
    """The app, this data dir's lock held: the desktop when `window` can open, else headless."""
    from llmgw_desktop.shell.startup import import_aiohttp_server_first

    import_aiohttp_server_first()  # first: before anything of ours imports aiohttp
    from llmgw_desktop.engine.api import StoreError
    from llmgw_desktop.transports.http_server import PortInUse

    settings = loaded.settings
    if window is not None:
        problem = window.known
        if problem is None:
            # Qt is imported while the window probe runs beside it; its answer comes after.
            try:
                from llmgw_desktop.shell.app import run_desktop
            except ImportError as exc:
                from llmgw_desktop.shell.window_probe import qt_import_problem

                problem = qt_import_problem(exc)
            else:
                problem = window.problem()
        if problem is None:
            if unsafe := refuse_unsafe(settings, desktop=True):
                return unsafe
            try:
                return run_desktop(loaded, lock, hidden=hidden)
            except StoreError as exc:
                return fail(str(exc))
            except OSError as exc:
                return _unusable_or_raise(exc)
        print(f"llmgw-desktop: {problem}: running headless.", file=sys.stderr, flush=True)
        log.warning("%s: running headless", problem)
    if unsafe := refuse_unsafe(settings, desktop=False):
        return unsafe
    try:
        from llmgw_desktop.shell.headless import run_headless

        return run_headless(loaded, lock, verbose=verbose)
    except PortInUse as exc:
        return port_in_use_message(exc, settings.http.host)
    except StoreError as exc:
        return fail(str(exc))
    except OSError as exc:
        return _unusable_or_raise(exc)
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were in place
        return EXIT_INTERRUPTED


def _unusable_or_raise(exc: OSError) -> int:
    """EXIT_UNWRITABLE for a file of its own the gateway could not write once serving (its
    address, on a full disk: a traceback before); anything else is not a user's to cure.

    Raises:
        OSError: `exc`, when it names no file and is not a full disk.
    """
    if exc.filename is None and exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    return unusable(exc)
