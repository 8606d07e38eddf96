"""What a gateway process leaves until it serves: work start-up would do that no first request
needs (the goal: launch to `/health` within 18 times a bare interpreter's start). The command
line runs the app inside `lean_start`; the runtime calls `after_ready` (in a worker thread) a
moment after the front door opens. Measured in docs/PERFORMANCE.md.

- **The cycle collector.** Start-up imports some 550 modules and builds the engine: a hundred
  young and a dozen older collections walk that growing heap while it loads, and find almost
  nothing (imports make little cyclic garbage). Collection is off from the command line's
  decision to start the app until the process serves: headless mode collects, freezes and
  turns it back on in `tune_for_serving` a second after the door opens; the desktop app hands
  it to its GUI-thread collector (`ui/gc_guard.py`), which collects from its first tick.
- **The code dataclasses generate.** Compiled once and kept between starts
  (`code_cache.py`); a class seen for the first time is compiled as before and the file is
  rewritten after the door opens. The stdio relay reads the same kept code
  (`reading_kept_code`) and writes none.
- **aiohttp's client trust stores.** `import aiohttp` (which `aiohttp.web` cannot avoid) builds
  two TLS client contexts at import and loads the system's CA store into each: a sixth of a
  headless start's instructions, for a client the gateway process never uses (its upstream
  client is `engine/gateway/http_client/http1.py`; aiohttp's client serves only the `acp`
  command, in a
  process of its own). Here aiohttp is imported with the CA store's loading noted instead of
  done, and `after_ready` loads it into those same contexts (OpenSSL's load runs without the
  GIL), so they end up as aiohttp made them.

This state is the process's own (one collector, one `dataclasses` module, one aiohttp), so it
is kept here, once per process, rather than passed through every composition root.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import ssl
import sys
import threading
from collections.abc import Iterator

from llmgw_desktop.config import paths
from llmgw_desktop.shell.code_cache import GeneratedCode, cache_file

__all__ = [
    "after_ready",
    "import_aiohttp_trusting_later",
    "keep_generated_code",
    "lean_start",
    "load_deferred_trust",
    "reading_kept_code",
]

log = logging.getLogger(__name__)

# The contexts whose CA store waits for `load_deferred_trust` (filled once, at import).
_deferred: list[ssl.SSLContext] = []
_lock = threading.Lock()
# The compiled dataclass code in use while `lean_start` runs.
_code: list[GeneratedCode] = []


@contextlib.contextmanager
def lean_start() -> Iterator[None]:
    """While the app runs: collection off until it serves, and dataclasses compiled through
    the kept code (see above). Both are given back when it ends, for a caller that goes on
    (a test calling the command line)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _kept_code(keep_new=True):
            yield
    finally:
        if collecting:
            gc.enable()


@contextlib.contextmanager
def reading_kept_code() -> Iterator[None]:
    """While a short-lived command runs (the stdio relay an editor spawns at each start):
    dataclasses compiled through the code the app kept, a third of the relay's start-up
    instructions; nothing new is written back (the relay's few classes of its own are
    compiled as before, and its starts do not rewrite the file)."""
    with _kept_code(keep_new=False):
        yield


@contextlib.contextmanager
def _kept_code(*, keep_new: bool) -> Iterator[None]:
    """Dataclasses compiled through the kept code until the block ends; `keep_new`: what
    was compiled new is written back by `keep_generated_code` once the process serves."""
    code = GeneratedCode(cache_file(paths.default_cache_dir()))
    code.load()
    code.install()
    if keep_new:
        with _lock:
            _code.append(code)
    try:
        yield
    finally:
        if keep_new:
            with _lock:
                _code.remove(code)
        code.uninstall()


def import_aiohttp_trusting_later() -> None:
    """Import aiohttp with its client contexts' CA store loading left for
    `load_deferred_trust`; nothing is deferred if aiohttp was imported already."""
    if "aiohttp" in sys.modules:
        return
    noted: list[ssl.SSLContext] = []

    def note(context: ssl.SSLContext) -> None:
        noted.append(context)

    # Both of aiohttp's contexts load the store through this one method (the verified one by
    # way of `load_default_certs`). Only this thread runs while it is replaced: the process
    # has started no other yet.
    ssl.SSLContext.set_default_verify_paths = note  # type: ignore[method-assign,assignment]
    try:
        import aiohttp  # noqa: F401  # the import is the point
    finally:
        del ssl.SSLContext.set_default_verify_paths  # the C method shows through again
    with _lock:
        _deferred.extend(noted)


def load_deferred_trust() -> int:
    """Load the system CA store into the contexts `import_aiohttp_trusting_later` left
    without it (blocks: disk and parsing, about 20 ms a context); the number loaded."""
    with _lock:
        contexts = list(_deferred)
        _deferred.clear()
    for context in contexts:
        context.set_default_verify_paths()
    if contexts:
        log.info("loaded the system CA store into aiohttp's %d client contexts", len(contexts))
    return len(contexts)


def after_ready() -> None:
    """What start-up left for after the door opened (blocks: run it in a worker thread)."""
    load_deferred_trust()
    keep_generated_code()


def keep_generated_code() -> None:
    """Write the dataclass code compiled since the last write, if any (blocks: a file)."""
    with _lock:
        code = _code[0] if _code else None
    if code is not None and code.dirty and code.save():
        log.info("kept the compiled code of new dataclass methods in %s", code.path)
