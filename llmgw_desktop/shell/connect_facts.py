"""What `llmgw-desktop connect` needs to know of this gateway: where it listens, whether it is
locked, and which models answer now, so a tool's set-up names one that does.

A person with one vendor's key meets tools that ask for another vendor's models by default
(Claude Code asks for Claude models, Codex for OpenAI's, Gemini CLI for Gemini's). The running
gateway knows which answer: its `/v1/models` lists the models of the providers that have a key
(the vault's included), asked with the instance token from the 0600 `instance.json` (the local
user's proof, as a second launch uses it). When none runs, the environment's key variables say
it instead (the vault cannot be read without the gateway's store and master key).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER
from llmgw_desktop.shell.instance import INFO_FILE, lock_is_held

__all__ = ["ASK_TIMEOUT_S", "GatewayFacts", "gather"]

# The running gateway answers /v1/models from a cache: at once, or it is not answering.
ASK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class GatewayFacts:
    """Where the gateway listens, whether a tool must bring a key, and what answers now."""

    base_url: str  # http://127.0.0.1:3333
    locked: bool  # a token or OAuth is configured: tools send a key
    answering: Mapping[str, tuple[str, ...]]  # provider id -> models that answer, preferred first
    source: str  # where `answering` was learnt: "asked the running gateway", ...

    def model_for(self, vendor: str) -> str | None:
        """The model a tool made by `vendor` should ask for: None when `vendor`'s own models
        answer (the tool's default does), else the first model of the first provider that
        answers, or None when nothing does."""
        if vendor in self.answering:
            return None
        return next((models[0] for models in self.answering.values() if models), None)


def gather(settings: Settings, environ: Mapping[str, str] | None = None) -> GatewayFacts:
    """The facts, from the running gateway when one answers, else from the settings and the
    environment."""
    env = os.environ if environ is None else environ
    locked = bool(settings.http.auth_token) or settings.http.oauth.enabled
    running = _running(settings)
    if running is not None:
        url, models = running
        return GatewayFacts(url, locked, _preferred(models), "asked the running gateway")
    # Here, not at the top: the HTTP server's module brings aiohttp (seconds on a loaded
    # machine), which asking the running gateway, `connect`'s and `run`'s usual path, needs not.
    from llmgw_desktop.transports.http_server import base_url

    url = base_url(settings.http.host, settings.http.port)
    keyed = {
        spec.id: spec.models
        for spec in API_PROVIDERS
        if spec.needs_key and any(env.get(name, "").strip() for name in spec.key_env)
    }
    return GatewayFacts(url, locked, keyed, "no gateway running: read this environment")


def _running(settings: Settings) -> tuple[str, dict[str, list[str]]] | None:
    """The running gateway's base URL and the models it lists by provider, or None."""
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
    models: dict[str, list[str]] = {}
    for row in listing.get("data", []) if isinstance(listing, dict) else []:
        # API providers and local servers; not a CLI bridge (a tool would answer itself) nor
        # an alias (its target is listed too).
        if isinstance(row, dict) and row.get("type") in ("api", "local"):
            models.setdefault(str(row.get("provider")), []).append(str(row.get("id")))
    return str(info["url"]), models


def _preferred(listed: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Each provider's listed models, its catalogue's own first (in the catalogue's order of
    providers): the catalogue names the models a tool is best asked for."""
    order = {spec.id: spec for spec in API_PROVIDERS}
    ranked = sorted(listed, key=lambda p: list(order).index(p) if p in order else len(order))
    preferred: dict[str, tuple[str, ...]] = {}
    for provider in ranked:
        own = order[provider].models if provider in order else ()
        models = listed[provider]
        preferred[provider] = (
            *[m for m in own if m in models],
            *[m for m in models if m not in own],
        )
    return preferred
