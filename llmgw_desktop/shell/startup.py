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
- **aiohttp's client.** `aiohttp/__init__` imports the client (its connector, cookie jar,
  tracing, and two TLS client contexts each loading the system's CA store at import) before
  `aiohttp.web` can load: a fifth of a headless start's instructions, for a client the
  gateway process does not use to serve (its upstream client is
  `engine/gateway/http_client/http1.py`; aiohttp's client serves the `acp` command and an ACP
  agent's socket). Here the package is entered without running its `__init__`, so
  `aiohttp.web` and what it needs load alone; `after_ready` runs the `__init__` (in a worker
  thread: OpenSSL loads the CA store without the GIL), and a name of the package asked for
  before then runs it at once, so every `import aiohttp` sees the whole package.

This state is the process's own (one collector, one `dataclasses` module, one aiohttp), so it
is kept here, once per process, rather than passed through every composition root.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llmgw_desktop.config import paths
from llmgw_desktop.shell.code_cache import GeneratedCode, cache_file

__all__ = [
    "after_ready",
    "import_aiohttp_client",
    "import_aiohttp_server_first",
    "keep_generated_code",
    "lean_start",
    "reading_kept_code",
]

log = logging.getLogger(__name__)

# aiohttp while its `__init__` waits for `import_aiohttp_client` (one at most), and whether
# that is running (in this thread, when the lock is held).
_unfinished: list[types.ModuleType] = []
_completing_now: list[bool] = []
_aiohttp_lock = threading.RLock()
CLIENT_IMPORTED = "imported aiohttp's client (its CA store loaded)"
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


def import_aiohttp_server_first() -> None:
    """Import `aiohttp.web` with the package's `__init__` (its client) left for
    `import_aiohttp_client`, or for the first name of the package asked for; nothing is left
    if aiohttp was imported already."""
    if "aiohttp" in sys.modules:
        return
    spec = importlib.util.find_spec("aiohttp")
    if spec is None or spec.loader is None or spec.origin is None:
        return
    if not _a_package_on_disk(spec):
        # A frozen bundle's aiohttp lives in its archive, with no `__init__.py` or folder to
        # read: imported whole, as any package is.
        import aiohttp.web  # the import is the point

        return
    package = importlib.util.module_from_spec(spec)
    # The one name of `__init__` the server's modules import (`aiohttp/http.py`, for the
    # Server header); read from the file, as `__init__` would set it.
    package.__version__ = _version_in(spec.origin)  # type: ignore[attr-defined]
    vars(package)["__getattr__"] = _completing(package, _submodule_names(spec))
    _unfinished.append(package)  # before: a server module asking for a name completes it
    sys.modules["aiohttp"] = package
    try:
        import aiohttp.web  # noqa: F401  # the import is the point
    except BaseException:
        # As a failed import leaves it: not imported (the next `import aiohttp` says why).
        _unfinished.clear()
        for name in [name for name in sys.modules if name.partition(".")[0] == "aiohttp"]:
            del sys.modules[name]
        raise


def _a_package_on_disk(spec: importlib.machinery.ModuleSpec) -> bool:
    """The package is plain files (its `__init__.py` and its folder), which the deferral reads;
    not a bundle's archive."""
    return (
        isinstance(spec.loader, importlib.machinery.SourceFileLoader)
        and spec.origin is not None
        and Path(spec.origin).is_file()
        and all(Path(folder).is_dir() for folder in spec.submodule_search_locations or ())
    )


def _version_in(init_file: str) -> str:
    with Path(init_file).open(encoding="utf-8") as source:
        for line in source:
            if line.startswith("__version__"):
                return line.partition("=")[2].strip().strip("\"'")
    return "0"


def _submodule_names(spec: importlib.machinery.ModuleSpec) -> frozenset[str]:
    """The names of the package's modules (`from . import hdrs` asks the package first)."""
    folders = spec.submodule_search_locations or []
    return frozenset(
        entry.name.partition(".")[0] for folder in folders for entry in Path(folder).iterdir()
    )


def _completing(package: types.ModuleType, submodules: frozenset[str]) -> Callable[[str], Any]:
    """The package's `__getattr__` while its `__init__` has not run: runs it, then answers.
    Not for a module of the package, which the import system then imports, nor for the import
    system's own questions (dunder names)."""

    def complete_then_get(name: str) -> Any:
        if name not in submodules and not name.startswith("__"):
            import_aiohttp_client()
            if name in vars(package):
                return vars(package)[name]
        raise AttributeError(f"module 'aiohttp' has no attribute {name!r}")

    return complete_then_get


def import_aiohttp_client() -> None:
    """Run the `__init__` `import_aiohttp_server_first` left, if it left it (blocks: imports,
    and the CA store's disk and parsing). Within the `__init__` itself, a name it has not set
    yet is missing, as in any package's `__init__`."""
    with _aiohttp_lock:
        if not _unfinished or _completing_now:
            return
        _completing_now.append(True)
        package = _unfinished[0]
        try:
            assert package.__spec__ is not None and package.__spec__.loader is not None
            ours = vars(package)["__getattr__"]
            package.__spec__.loader.exec_module(package)
            # aiohttp's `__init__` defines a `__getattr__` of its own (its Gunicorn workers,
            # imported lazily): only ours, if it is still there, goes.
            if vars(package).get("__getattr__") is ours:
                del vars(package)["__getattr__"]
            _unfinished.clear()
        finally:
            _completing_now.clear()
    log.info(CLIENT_IMPORTED)


def after_ready() -> None:
    """What start-up left for after the door opened (blocks: run it in a worker thread)."""
    import_aiohttp_client()
    keep_generated_code()


def keep_generated_code() -> None:
    """Write the dataclass code compiled since the last write, if any (blocks: a file)."""
    with _lock:
        code = _code[0] if _code else None
    if code is not None and code.dirty and code.save():
        log.info("kept the compiled code of new dataclass methods in %s", code.path)
