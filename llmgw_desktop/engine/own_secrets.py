"""The process's own secrets, given to the redactor at start so no log line, recorder row or
error shows them: the bearer token, the OAuth registration secret, the metrics scrape token,
the OpenTelemetry headers, the store's password (in its URL or apart) and the vault's master
key from the environment (the vault adds the key it reads from elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.store.location import store_password

__all__ = ["remember_own_secrets"]


def remember_own_secrets(settings: Settings, environ: Mapping[str, str]) -> None:
    """Add this run's own secrets to the redactor's set."""
    named = {
        "gateway:http.auth_token": (settings.http.auth_token,),
        "gateway:http.oauth.registration_secret": (settings.http.oauth.registration_secret,),
        "gateway:metrics.scrape_token": (settings.metrics.scrape_token,),
        "gateway:otel.headers": tuple(settings.otel.headers.values()),
        "gateway:store.url": (store_password(settings.store.url),),
        "gateway:store.password": (settings.store.password,),
        "env:PGPASSWORD": (environ.get("PGPASSWORD", ""),),
        "env:LLM_GATEWAY_MASTER_KEY": (environ.get("LLM_GATEWAY_MASTER_KEY", "").strip(),),
    }
    for source, values in named.items():
        known_secrets.add(*values, source=source)
