"""What start-up imports: the command line and the stdio relay stay light, and any subset of the
tests collects.

`llmgw-desktop mcp` is spawned by editors on every start and must answer `initialize` within a
few hundred milliseconds; `--version` and `--help` within 150 ms. Importing the MCP SDK, the
aiohttp server, pydantic or Qt costs seconds together, so none of them may creep back onto
those paths. Each check runs in a fresh interpreter: this one has imported everything already.
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.child_python import ROOT, run_python, run_python_ok
from tests.e2e import gateway_process as gp
from tests.ports import free_port

HEAVY = (
    "mcp",
    "mcp_types",
    "aiohttp",
    "aiohttp.web",
    "pydantic",
    "PySide6",
    "peewee",
    "psycopg",
    "pyqtgraph",
    "numpy",
)
CHILD_TIMEOUT_S = 120.0
# This environment with the checkout first on the path: the child imports this code.
OURS_FIRST = {**os.environ, "PYTHONPATH": str(ROOT)}


def modules_loaded_by(code: str, also: tuple[str, ...] = ()) -> set[str]:
    """The heavy modules (and those named in `also`) in `sys.modules` after a fresh
    interpreter runs `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = run_python_ok("-c", probe, env=OURS_FIRST, timeout_s=CHILD_TIMEOUT_S)
    return set(json.loads(out.splitlines()[-1])) & {*HEAVY, *also}


def test_the_command_line_imports_nothing_heavy_before_a_command_runs() -> None:
    assert modules_loaded_by("import llmgw_desktop.shell.cli.main") == set()


# What a bare interpreter has not loaded and `--version` must not load either (issue 42: it is
# held to 4x a bare start): the parser, the paths, the event loop, the metadata reader.
VERSION_MUST_NOT_LOAD = (
    "argparse",
    "asyncio",
    "importlib.metadata",
    "email",
    "platformdirs",
    "logging",
    "llmgw_desktop.config.paths",
    "llmgw_desktop.shell.cli.parser",
)


def test_version_loads_nothing_but_the_version() -> None:
    probe = (
        "import contextlib, io, json, sys\n"
        "from llmgw_desktop.shell.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--version']) == 0\n"
        "assert out.getvalue().startswith('llmgw-desktop ') and '0.0.0' not in out.getvalue()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = run_python_ok("-c", probe, timeout_s=CHILD_TIMEOUT_S)
    loaded = set(json.loads(out.splitlines()[-1]))
    assert loaded.isdisjoint(VERSION_MUST_NOT_LOAD), loaded & set(VERSION_MUST_NOT_LOAD)


def test_the_stdio_relay_imports_no_server_stack() -> None:
    # Everything `llmgw-desktop mcp` runs before it relays: settings, the log, the relay.
    relay_path = (
        "import llmgw_desktop.shell.cli.main, llmgw_desktop.shell.stdio_mode\n"
        # The parser `mcp` is parsed with (the global options and its own).
        "from llmgw_desktop.shell.cli.parser import parse_command_line\n"
        "parse_command_line(['mcp'])\n"
        "from llmgw_desktop.shell.startup import reading_kept_code\n"
        "kept = reading_kept_code()\n"
        "kept.__enter__()\n"
        "import llmgw_desktop.shell.logging_setup\n"
        "from llmgw_desktop.config.settings import load_settings\n"
        "load_settings()\n"
        "from llmgw_desktop.transports.mcp.stdio_forward import StdioForwarder"
    )
    assert modules_loaded_by(relay_path) == set()
    # Nor the standard library's HTTP client (the relay speaks HTTP/1.1 itself; issue 42), nor
    # aiohttp's header mappings or the time zone database (issue 63: each only where used), nor
    # the table of every door (it reads its own line cap, `transports/line_caps.py`).
    also = (
        "urllib.request",
        "http.client",
        "email",
        "multidict",
        "zoneinfo",
        "llmgw_desktop.transports.doors",
        "secrets",  # the instance lock's token, minted when the gateway publishes it
    )
    assert not modules_loaded_by(relay_path, also=also)


def test_the_window_imports_no_chart_library() -> None:
    # pyqtgraph and numpy cost a third of a second and 38 MB: only the Overview's charts load
    # them, when first shown (ui/pages/overview_charts.py; tests/ui/test_overview_page.py
    # shows a running window holds neither until then).
    assert not {"pyqtgraph", "numpy"} & modules_loaded_by(
        "import os\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import llmgw_desktop.shell.app, llmgw_desktop.ui.main_window"
    )


def test_a_subset_of_the_tests_collects(tmp_path: Path) -> None:
    # These two together once failed to collect: PySide6's import hook met a half-imported
    # pydantic (tests/conftest.py imports pydantic first now).
    result = run_python(
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        "tests/contract/test_discovery.py",
        "tests/transports/test_http_front_door.py",
        env=OURS_FIRST,
        timeout_s=CHILD_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "error" not in result.stdout.splitlines()[-1], result.stdout[-3000:]


# What importing the gateway's start path must not load (issue 42): tomlkit (config.toml is
# read with tomllib; tomlkit only writes it), the vault's cipher (loaded when the vault opens,
# beside the front door's start), and the CLI calls' machinery (adapters and their parsers, the
# ACP client, the approval gate's patterns, answer compression), loaded by the first CLI call.
NOT_ON_THE_WAY_TO_SERVING = (
    "tomlkit",
    "cryptography",
    "llmgw_desktop.engine.providers.cli_adapters",
    "llmgw_desktop.engine.providers.acp.adapter",
    "llmgw_desktop.engine.providers.invoke",
    "llmgw_desktop.engine.providers.auth_home",
    "llmgw_desktop.engine.calls.acp_permissions",
    "llmgw_desktop.engine.calls.approval_text",
    "llmgw_desktop.engine.calls.compression",
)


def test_the_start_path_leaves_what_the_first_request_does_not_need() -> None:
    loaded = modules_loaded_by(
        "import llmgw_desktop.shell.headless, llmgw_desktop.shell.runtime",
        also=NOT_ON_THE_WAY_TO_SERVING,
    )
    assert loaded & set(NOT_ON_THE_WAY_TO_SERVING) == set()


def test_the_mcp_sdk_is_not_on_the_way_to_a_running_gateway() -> None:
    # It loads in the background once the front door is open (transports/mcp/http_front.py).
    loaded = modules_loaded_by("import llmgw_desktop.shell.headless, llmgw_desktop.shell.runtime")
    # Nor pydantic: the SDK brings it in the background; the issuer is rendered without it.
    # Nor psycopg: a SQLite store never needs it (engine/store/orm.py).
    assert loaded & {"mcp", "mcp_types", "PySide6", "pydantic", "psycopg"} == set()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps (Linux)")
def test_a_running_headless_gateway_holds_no_chart_library(tmp_path: Path) -> None:
    """A served request later, the headless gateway's process has not mapped numpy's core
    library (pyqtgraph cannot load without it). Read from the running process's memory map,
    so whatever the start-up path imports is covered."""
    port = free_port()
    with gp.serving(["--headless"], gp.child_env(tmp_path, port), port) as proc:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models")
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10).close()
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
    assert "_multiarray_umath" not in maps
    assert "numpy" not in maps and "pyqtgraph" not in maps


_OAUTH_MODULES = (
    "llmgw_desktop.engine.auth.oauth",
    "llmgw_desktop.engine.auth.oauth_store",
    "llmgw_desktop.transports.oauth_routes",
)
# A script for a fresh interpreter: a headless gateway started on a free port (its paths
# from the environment), the PROBE lines run in `main` (with `runtime` and `sys.argv[1]`, a
# comma-separated list, at hand) setting `seen`, the gateway stopped, and `seen` printed as JSON.
_IN_A_STARTED_GATEWAY = """
import asyncio, json, os, sys
from dataclasses import replace
from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
IMPORTS

async def main():
    loaded = load_settings()
    settings = loaded.settings.with_values({"http.port": 0})
    lock = InstanceLock(settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(replace(loaded, settings=settings), mode="headless", lock=lock,
                             on_activate=lambda: "headless")
    await runtime.start()
    PROBE
    await runtime.stop()
    lock.release()
    print(json.dumps(seen))

asyncio.run(main())
"""


def _in_a_started_gateway(
    probe: str, argument: tuple[str, ...], env: dict[str, str], imports: str = ""
) -> Any:
    """What `probe` saw in a gateway started in a fresh interpreter with `env` (see
    `_IN_A_STARTED_GATEWAY`), given `argument` joined by commas."""
    script = _IN_A_STARTED_GATEWAY.replace("IMPORTS", imports).replace(
        "    PROBE", textwrap.indent(textwrap.dedent(probe).strip(), "    ")
    )
    out = run_python_ok("-c", script, ",".join(argument), env=env, timeout_s=CHILD_TIMEOUT_S)
    return json.loads(out.splitlines()[-1])


def _paths_in(tmp_path: Path) -> dict[str, str]:
    """The gateway's config file, data and log folders, all under `tmp_path`."""
    return {
        "LLM_GATEWAY_CONFIG": str(tmp_path / "config.toml"),
        "LLM_GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "LLM_GATEWAY_LOG_DIR": str(tmp_path / "log"),
    }


def _started_gateway_holds(tmp_path: Path, modules: tuple[str, ...], **env: str) -> list[str]:
    """Which of `modules` a gateway started (in a fresh interpreter) has loaded."""
    ours = {k: v for k, v in OURS_FIRST.items() if not k.startswith("LLM_GATEWAY_")}
    probe = "seen = sorted(m for m in sys.argv[1].split(',') if m in sys.modules)"
    return list(_in_a_started_gateway(probe, modules, {**ours, **_paths_in(tmp_path), **env}))


def test_the_oauth_server_loads_only_when_it_is_on(tmp_path: Path) -> None:
    # Off by default: a started gateway holds none of its modules; on, it holds them all.
    assert _started_gateway_holds(tmp_path / "off", _OAUTH_MODULES) == []
    on = _started_gateway_holds(tmp_path / "on", _OAUTH_MODULES, LLM_GATEWAY_OAUTH_ENABLED="true")
    assert on == sorted(_OAUTH_MODULES)


_CLOUD_LIBRARIES = ("botocore", "google.auth", "azure.identity")
_WITHOUT_CLOUD_CALLS = """
    libraries = tuple(sys.argv[1].split(","))
    gateway = runtime.engine.gateway
    await gateway.directory.providers()
    await gateway.directory.models()
    idle = sorted(m for m in sys.modules if m.startswith(libraries))
    # The guard sees a library once a cloud does load one (a Bedrock stream's framing).
    wire = gateway.clouds.wire("bedrock")
    await wire.prepare(CloudCall("", "m", "bedrock-converse", "api-key-0123", True), b"{}", {})
    asked = sorted(m for m in sys.modules if m.startswith(libraries))
    seen = [idle, asked]
"""


def test_the_cloud_libraries_load_only_when_a_cloud_is_asked(tmp_path: Path) -> None:
    # Clouds set up in the environment (a region, an endpoint, a project), yet not asked:
    # listing providers and models loads none of their libraries.
    env = {
        **OURS_FIRST,
        "AWS_REGION": "us-east-1",
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "GOOGLE_CLOUD_PROJECT": "p",
        **_paths_in(tmp_path),
    }
    imports = "from llmgw_desktop.engine.gateway.clouds import CloudCall"
    idle, asked = _in_a_started_gateway(_WITHOUT_CLOUD_CALLS, _CLOUD_LIBRARIES, env, imports)
    assert idle == []
    assert "botocore" in asked


_SERVER_FIRST = """
import json, ssl, sys, threading
from llmgw_desktop.shell.startup import import_aiohttp_client, import_aiohttp_server_first
import_aiohttp_server_first()
import llmgw_desktop.shell.headless, llmgw_desktop.shell.runtime
held = sorted(m for m in sys.argv[1].split(",") if m in sys.modules)
# The worker thread's completion and a name asked for on this one meet: both see it whole.
worker = threading.Thread(target=import_aiohttp_client)
worker.start()
import aiohttp
timeout = aiohttp.ClientTimeout(total=1)
worker.join()
from aiohttp import ClientSession, connector
contexts = (connector._SSL_CONTEXT_VERIFIED, connector._SSL_CONTEXT_UNVERIFIED)
stores = [c.cert_store_stats()["x509_ca"] for c in contexts]
system = ssl.create_default_context().cert_store_stats()["x509_ca"]
# aiohttp's own module `__getattr__` (its lazily imported Gunicorn workers) survives ours.
with open(aiohttp.__spec__.origin, encoding="utf-8") as init:
    defines_one = "def __getattr__(" in init.read()
own = vars(aiohttp).get("__getattr__")
own_module = own.__module__ if own is not None else ("none" if defines_one else "aiohttp")
print(json.dumps([held, ClientSession.__module__, timeout.total, stores, system, own_module]))
"""
# aiohttp's client, which `aiohttp/__init__` imports before `aiohttp.web` can load.
_AIOHTTP_CLIENT = ("aiohttp.client", "aiohttp.connector", "aiohttp.tracing", "aiohttp.cookiejar")


def test_the_gateway_imports_aiohttp_s_server_without_its_client() -> None:
    """The start path loads `aiohttp.web` alone (a fifth of a headless start was the client,
    its two TLS contexts loading the CA store); the package's first name asked for, or the
    worker thread after the door opens, runs the rest: the contexts are aiohttp's own."""
    out = run_python_ok(
        "-c", _SERVER_FIRST, ",".join(_AIOHTTP_CLIENT), env=OURS_FIRST, timeout_s=CHILD_TIMEOUT_S
    )
    held, session_module, timeout, stores, system, own = json.loads(out.splitlines()[-1])
    assert held == []
    assert own == "aiohttp"
    assert session_module == "aiohttp.client" and timeout == 1
    if system:  # a machine whose default CA store loads certificates from a file
        assert stores == [system, system]


_FROZEN_AIOHTTP = """
import importlib.machinery, importlib.util, json
from llmgw_desktop.shell import startup
real_find = importlib.util.find_spec
real = real_find("aiohttp")
# As in a PyInstaller bundle: the package is in the archive, no `__init__.py` on the disk.
fake = importlib.machinery.ModuleSpec(
    "aiohttp", real.loader, origin="/nonexistent/aiohttp/__init__.py", is_package=True
)
fake.submodule_search_locations = ["/nonexistent/aiohttp"]
importlib.util.find_spec = lambda name, *rest: fake if name == "aiohttp" else real_find(name, *rest)
startup.import_aiohttp_server_first()
import aiohttp
own = vars(aiohttp).get("__getattr__")
print(json.dumps([aiohttp.ClientSession.__module__, startup._unfinished == [],
                  own is None or own.__module__ == "aiohttp"]))
"""


def test_a_bundle_s_aiohttp_is_imported_whole() -> None:
    """A frozen bundle has no `aiohttp/__init__.py` to read (the bundle's smoke test exited at
    start on it): there the server is imported with its package, nothing deferred."""
    out = run_python_ok("-c", _FROZEN_AIOHTTP, env=OURS_FIRST, timeout_s=CHILD_TIMEOUT_S)
    assert json.loads(out.splitlines()[-1]) == ["aiohttp.client", True, True]


_APP_RUN_SEEN = """
import dataclasses, gc, json
from llmgw_desktop.shell.cli import run as run_module

seen = {}

def run(loaded, **kwargs):
    seen["collecting"] = gc.isenabled()
    seen["kept_code"] = hasattr(dataclasses, "exec")
    return 0

run_module.run = run
from llmgw_desktop.shell.cli.main import main
assert main(["--headless"]) == 0
seen["after"] = [gc.isenabled(), hasattr(dataclasses, "exec")]
print(json.dumps(seen))
"""


def test_the_app_starts_without_collection_and_with_kept_code_and_gives_both_back(
    tmp_path: Path,
) -> None:
    out = run_python_ok(
        "-c",
        _APP_RUN_SEEN,
        env={**gp.child_env(tmp_path, 0), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        timeout_s=CHILD_TIMEOUT_S,
    )
    seen = json.loads(out.splitlines()[-1])
    assert seen == {"collecting": False, "kept_code": True, "after": [True, False]}


_HEADLESS_RUN_SEEN = """
import json, sys
from llmgw_desktop.shell.cli import run as run_module

def run(loaded, **kwargs):
    return 0

run_module.run = run
from llmgw_desktop.shell.cli.main import main
assert main(["--headless"]) == 0
print(json.dumps(sorted(m for m in sys.modules if m.startswith("llmgw_desktop.shell.window_")
                        or m == "ctypes")))
"""

# The command modules (`shell/cli/parser.py`'s `COMMAND_MODULES`) `main(WORDS)` imports, besides
# `stdio_mcp` (imported here to stand its relay in).
_COMMANDS_LOADED = """
import json, sys
from llmgw_desktop.shell.cli import run as run_module, stdio_mcp
from llmgw_desktop.shell.cli.parser import COMMAND_MODULES

run_module.run = stdio_mcp.run_mcp = lambda loaded, **kwargs: 0
before = set(sys.modules)
from llmgw_desktop.shell.cli.main import main
assert main(json.loads(sys.argv[1])) == 0
modules = {f"llmgw_desktop.shell.cli.{module}" for module in COMMAND_MODULES.values()}
print(json.dumps(sorted(m.rpartition(".")[2] for m in (set(sys.modules) - before) & modules)))
"""


@pytest.mark.parametrize("words", [["--headless"], ["mcp"]])
def test_a_start_imports_no_other_command_s_module(words: list[str], tmp_path: Path) -> None:
    # Every command's parser, built for a start that names none or one, was a sixth of the
    # relay's start and a fortieth of a headless one (docs/PERFORMANCE.md, 2026-11-27).
    out = run_python_ok(
        "-c",
        _COMMANDS_LOADED,
        json.dumps(words),
        env={**gp.child_env(tmp_path, 0), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        timeout_s=CHILD_TIMEOUT_S,
    )
    assert json.loads(out.splitlines()[-1]) == []


def test_a_headless_start_never_loads_the_window_probe(tmp_path: Path) -> None:
    # The probe (ctypes, the display's libraries) asks whether a window can open: a headless
    # start has its answer already, and pays nothing for the question.
    out = run_python_ok(
        "-c", _HEADLESS_RUN_SEEN, env=gp.child_env(tmp_path, 0), timeout_s=CHILD_TIMEOUT_S
    )
    assert json.loads(out.splitlines()[-1]) == []


_RELAY_RUN_SEEN = """
import dataclasses, json
from llmgw_desktop.shell.cli import stdio_mcp

seen = {}

def run_mcp(loaded, **kwargs):
    seen["kept_code"] = hasattr(dataclasses, "exec")
    return 0

stdio_mcp.run_mcp = run_mcp
from llmgw_desktop.shell.cli.main import main
assert main(["mcp"]) == 0
seen["after"] = hasattr(dataclasses, "exec")
print(json.dumps(seen))
"""


def test_the_stdio_relay_compiles_from_the_kept_code_and_gives_it_back(tmp_path: Path) -> None:
    # An editor waits on the relay at each start: its settings' classes are compiled from the
    # code the app kept (`shell/startup.py`, a quarter of its instructions), and nothing more.
    out = run_python_ok(
        "-c",
        _RELAY_RUN_SEEN,
        env={**gp.child_env(tmp_path, 0), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        timeout_s=CHILD_TIMEOUT_S,
    )
    assert json.loads(out.splitlines()[-1]) == {"kept_code": True, "after": False}
    assert not list(tmp_path.glob("cache/**/dataclass-code-*"))  # it writes none


CA_LOADED = "imported aiohttp's client (its CA store loaded)"
CODE_KEPT = "kept the compiled code of new dataclass methods"
LOG_WAIT_S = 30.0


def _wait_for_log(home: Path, text: str) -> str:
    deadline = time.monotonic() + LOG_WAIT_S
    while time.monotonic() < deadline:
        if text in (log := gp.read_log(home)):
            return log
        time.sleep(0.05)
    raise AssertionError(f"never logged {text!r}:\n{gp.read_log(home)[-3000:]}")


def test_a_headless_gateway_does_its_deferred_work_once_it_serves(tmp_path: Path) -> None:
    """The real start path: aiohttp's client and the kept dataclass code come after the
    door opens; a second start with the same cache compiles nothing new."""
    cache = tmp_path / "cache"
    for run, home in enumerate((tmp_path / "first", tmp_path / "second")):
        port = free_port()
        env = {**gp.child_env(home, port), "XDG_CACHE_HOME": str(cache)}
        with gp.serving(["--headless"], env, port):
            log = _wait_for_log(home, CA_LOADED)
            if run == 0:
                log = _wait_for_log(home, CODE_KEPT)
        assert log.index("gateway ready") < log.index(CA_LOADED)
        if run == 0:
            assert log.index(CA_LOADED) < log.index(CODE_KEPT)
        else:
            assert CODE_KEPT not in gp.read_log(home)  # every class's code was kept already
