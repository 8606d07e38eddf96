"""The steps of `llmgw-desktop run TOOL [ARGS...]`, in order, each saying why not in one line.

1. The tool is found on `PATH` (else: how to install it, for the tools the catalogue knows).
2. The gateway serves: started in the background when none runs, and said so
   (`background_gateway.py`).
3. A model answers: the gateway's `/v1/models`, asked as `connect` asks it
   (`connect_facts.gather`); the tool is told the first that answers where its vendor has no
   key here (`GatewayFacts.model_for`), and nothing is started when nothing answers.
4. On a locked gateway, a gateway key for this run: `key:run-TOOL` (the same principal run after
   run, so the recorder, budgets and the Agents page see one holder; a second run at once gets
   a name of its own), expiring by itself after `RUN_KEY_TTL_S` should this process be killed,
   and revoked when the tool exits. On an open gateway any key does.
5. A call would be answered: `/v1/models` asked with the tool's own key lists the model.
6. The tool runs in this terminal, pointed at the gateway (`tool_runs.py`); its exit code is
   returned.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.config.paths import ensure_private_dir
from llmgw_desktop.config.settings import LoadedSettings, Settings
from llmgw_desktop.engine.api import first_answering, tool_own_route
from llmgw_desktop.shell.background_gateway import GatewayDidNotStart, ensure_running
from llmgw_desktop.shell.connect_facts import gather
from llmgw_desktop.shell.tool_runs import Pointing, Tool, launch, tool_for
from llmgw_desktop.ui.connect import ANY_KEY
from llmgw_desktop.ui.connect_setups import GatewayFacts

__all__ = ["CHECK_TIMEOUT_S", "RUN_KEY_TTL_S", "RunRefused", "run_through_gateway"]

# How long a run's gateway key lives if this process cannot revoke it (killed): a working day.
RUN_KEY_TTL_S = 12 * 3600
# How long the check of step 5 may take (the gateway answers `/v1/models` from its cache).
CHECK_TIMEOUT_S = 10.0
# Each run's own files (`Pointing.scratch`), under the data directory, removed when it ends.
RUNS_DIR = "runs"
_NOT_NAME = re.compile(r"[^a-z0-9.@+-]+")


class RunRefused(Exception):
    """The tool was not started; the message says why, in one line."""


@dataclass(frozen=True)
class _Lease:
    """What the tool sends as its key, and the gateway key made for the run (None: none)."""

    key: str
    name: str | None = None


def run_through_gateway(
    loaded: LoadedSettings,
    config: Path | None,
    command: str,
    args: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run `command ARGS` with its model calls through the gateway; its exit code.

    Raises:
        RunRefused: it was not started (the message says why).
    """
    environment = dict(os.environ if environ is None else environ)
    settings = loaded.settings
    tool = tool_for(command)
    program = _program(command, tool, environment)
    try:
        gateway = ensure_running(settings, config)
    except GatewayDidNotStart as exc:
        raise RunRefused(str(exc)) from None
    if gateway.started:
        _say(
            f"started the gateway in the background ({gateway.mode}, {gateway.url}); "
            f"`llmgw-desktop quit` stops it; its log: {gateway.log}"
        )
    facts = gather(settings)
    model = _model(tool, facts)
    if tool.cli is not None and (elsewhere := tool_own_route(tool.cli, environment)) is not None:
        _say(f"{elsewhere}: {tool.name} may send its calls there rather than to the gateway")
    lease = _lease(settings, tool, locked=facts.locked)
    try:
        _check(gateway.url, lease.key, model)
        if model is not None and tool.vendor is not None:
            _say(
                f"{tool.name} asks for {tool.vendor} models, and {facts.why_named(tool.vendor)}: "
                f"it runs on {model} (GET /v1/models lists the others)"
            )
        # In the gateway's private folder, not the shared temporary one: the Gemini CLI reads
        # no settings file from a folder others may write to.
        runs = ensure_private_dir(settings.data_path / RUNS_DIR)
        with tempfile.TemporaryDirectory(prefix="run-", dir=runs) as scratch:
            pointing = Pointing(gateway.url, lease.key, model, Path(scratch))
            argv = [program, *tool.arguments(pointing), *args]
            try:
                return launch(argv, tool.environment(environment, pointing))
            except OSError as exc:
                raise RunRefused(f"{command} could not be started: {exc}") from None
    finally:
        _end(settings, lease)


def _say(line: str) -> None:
    print(f"llmgw-desktop run: {line}", file=sys.stderr, flush=True)


def _program(command: str, tool: Tool, environment: Mapping[str, str]) -> str:
    """Where `command` is (step 1).

    Raises:
        RunRefused: it is not on `PATH`.
    """
    found = shutil.which(command, path=environment.get("PATH"))
    if found is not None:
        return found
    if tool.cli is not None:
        install = provider_info(tool.cli).install_command
        raise RunRefused(f"{tool.name} is not installed ({command} is not on PATH): {install}")
    raise RunRefused(f"{command}: no such command on PATH")


def _model(tool: Tool, facts: GatewayFacts) -> str | None:
    """The model the tool is told (step 3): None where its own default answers.

    Raises:
        RunRefused: no model answers.
    """
    if not facts.answering:
        raise RunRefused(
            "no provider can answer a call, so nothing was started: set a vendor's key where "
            "the gateway runs (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...) and "
            "restart it, or store one in the vault (the window's Provider keys page)"
        )
    if tool.vendor is not None:
        return facts.model_for(tool.vendor)
    return first_answering(facts.answering)


def _lease(settings: Settings, tool: Tool, *, locked: bool) -> _Lease:
    """The key the tool sends (step 4): a gateway key made for this run on a locked gateway.

    Raises:
        RunRefused: the key could not be made (the store cannot be opened).
    """
    if not locked:
        return _Lease(ANY_KEY)
    import asyncio  # here: only a locked gateway's run opens the store

    from llmgw_desktop.engine.api import EngineError, StoreError

    base = "run-" + (_NOT_NAME.sub("-", (tool.cli or tool.name).lower()).strip("-") or "tool")
    try:
        name, secret = asyncio.run(_made_key(settings, base[:48]))
    except (EngineError, StoreError) as exc:
        raise RunRefused(f"no gateway key could be made for this run: {exc}") from None
    _say(f"made the gateway key key:{name} for this run (revoked when it ends)")
    return _Lease(secret, name)


async def _made_key(settings: Settings, base: str) -> tuple[str, str]:
    """A key named `base`, continuing the identity of an earlier run's; named apart when
    another run's is live. Its name and secret.

    Raises:
        InvalidRequest: the store refused every name tried.
        StoreError: the store cannot be opened.
    """
    from llmgw_desktop.engine.api import LOCAL_CALLER, InvalidRequest, KeySpec, keys_on_store

    expires = time.time() + RUN_KEY_TTL_S
    async with keys_on_store(
        settings.database_file, settings.store.url, settings.store.password
    ) as keys:
        try:
            made = await keys.create(LOCAL_CALLER, KeySpec(name=base, expires_at=expires))
        except InvalidRequest as refused:
            if refused.details.get("identity"):
                # An earlier run's key, revoked: this run is the same holder again.
                spec = KeySpec(name=base, expires_at=expires, continues_identity=True)
            else:  # another run's key is live under that name
                spec = KeySpec(name=f"{base}-{secrets.token_hex(3)}", expires_at=expires)
            made = await keys.create(LOCAL_CALLER, spec)
    return made.record.name, made.secret


def _end(settings: Settings, lease: _Lease) -> None:
    """Revoke the run's key, if one was made (step 6's end); a failure is said, not raised:
    the key expires by itself."""
    if lease.name is None:
        return
    import asyncio

    from llmgw_desktop.engine.api import EngineError, StoreError

    try:
        asyncio.run(_revoked(settings, lease.name))
    except (EngineError, StoreError, OSError) as exc:
        _say(f"could not revoke key:{lease.name} ({exc}); it expires by itself")


async def _revoked(settings: Settings, name: str) -> None:
    from llmgw_desktop.engine.api import LOCAL_CALLER, keys_on_store

    async with keys_on_store(
        settings.database_file, settings.store.url, settings.store.password
    ) as keys:
        await keys.revoke(LOCAL_CALLER, name)


def _check(base_url: str, key: str, model: str | None) -> None:
    """That a call would be answered (step 5): `/v1/models`, asked with the tool's key, lists
    `model` (any model, where the tool's own default answers).

    Raises:
        RunRefused: the gateway refused the key, or does not list the model.
    """
    request = urllib.request.Request(  # noqa: S310 - the gateway's own loopback address
        base_url + "/v1/models", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=CHECK_TIMEOUT_S) as answer:  # noqa: S310
            listed = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise RunRefused(f"the gateway refused the run's key ({exc.code}): {_said(exc)}") from None
    except (OSError, ValueError) as exc:
        raise RunRefused(f"the gateway did not answer at {base_url}: {exc}") from None
    ids = {str(row.get("id")) for row in listed.get("data", []) if isinstance(row, dict)}
    if model is not None and model not in ids:
        raise RunRefused(f"{model} is not among the models that answer now (GET /v1/models)")


def _said(error: urllib.error.HTTPError) -> str:
    """The message of an error answer in the OpenAI envelope, else its reason."""
    try:
        return str(json.loads(error.read())["error"]["message"])
    except (OSError, ValueError, KeyError, TypeError):
        return str(error.reason)
