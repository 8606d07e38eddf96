"""What `llmgw-desktop connect` needs to know of this gateway: where it listens, whether it is
locked, and which models answer now, so a tool's set-up names one that does.

A person with one vendor's key meets tools that ask for another vendor's models by default
(Claude Code asks for Claude models, Codex for OpenAI's, Gemini CLI for Gemini's). The running
gateway knows which answer: its `/v1/models` lists the models of the providers that have a key
(the vault's included), asked with the instance token from the 0600 `instance.json` (the local
user's proof, as a second launch uses it). When none runs, the environment's key variables say
it instead (the vault cannot be read without the gateway's store and master key). Which of
them a tool is told is the engine's one choice (`engine/providers/answering.py`), the one a
prompt naming no model is answered by.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER, answering_of
from llmgw_desktop.shell.instance import INFO_FILE, lock_is_held
from llmgw_desktop.ui.connect_setups import GatewayFacts

__all__ = ["ASK_TIMEOUT_S", "gather"]

# The running gateway answers /v1/models from a cache: at once, or it is not answering.
ASK_TIMEOUT_S = 3.0


def gather(settings: Settings, environ: Mapping[str, str] | None = None) -> GatewayFacts:
    """The facts, from the running gateway when one answers, else from the settings and the
    environment."""
    env = os.environ if environ is None else environ
    locked = bool(settings.http.auth_token) or settings.http.oauth.enabled
    running = _running(settings)
    if running is not None:
        url, rows = running
        return GatewayFacts(url, locked, answering_of(rows), "asked the running gateway")
    # Here, not at the top: the HTTP server's module brings aiohttp (seconds on a loaded
    # machine), which asking the running gateway, `connect`'s and `run`'s usual path, needs not.
    from llmgw_desktop.transports.http_server import base_url

    url = base_url(settings.http.host, settings.http.port)
    keyed = [
        spec
        for spec in API_PROVIDERS
        if spec.needs_key and any(env.get(name, "").strip() for name in spec.key_env)
    ]
    source = "no gateway running: read this environment"
    # A provider set to another server serves what that server lists, which only a running
    # gateway reads: its built-in models here are a guess, and said to be one. A shell set up
    # to send an SDK through this gateway names the gateway itself, which the gateway ignores.
    elsewhere = [
        spec.base_url_env
        for spec in keyed
        if spec.base_url_env
        and (named := env.get(spec.base_url_env, "").strip().rstrip("/"))
        and named != spec.base_url
        and named != url
        and not named.startswith(url + "/")
    ]
    if elsewhere:
        source += (
            f", where {' and '.join(elsewhere)} names another server, whose models only a "
            "running gateway reads: start it and connect again to have one of them named"
        )
    return GatewayFacts(url, locked, {spec.id: spec.models for spec in keyed}, source)


def _running(settings: Settings) -> tuple[str, list[dict[str, Any]]] | None:
    """The running gateway's base URL and the rows of its `/v1/models`, or None."""
    data_dir = settings.data_path
    if not lock_is_held(data_dir):
        return None
    try:
        info = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))
        request = urllib.request.Request(  # noqa: S310 - our own loopback address
            info["url"] + "/v1/models", headers={INSTANCE_TOKEN_HEADER: info["token"]}
        )
        with urllib.request.urlopen(request, timeout=ASK_TIMEOUT_S) as response:  # noqa: S310
            listing: Any = json.loads(response.read())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    rows = listing.get("data", []) if isinstance(listing, dict) else []
    return str(info["url"]), [row for row in rows if isinstance(row, dict)]
