"""What a start prints on the terminal, headless or with the window: where each door is,
whether it is locked, and what answers (the engine's one fact, `engine.answering`, which the
window's header, the Overview and `/health` read too).

The answering line waits for the gateway's first look at its providers (local servers probed,
model lists read), at most `ANSWERING_WAIT_S`: printed at once it counted a provider's built-in
models (six of OpenAI's) where `GET /v1/models` listed the seven OpenAI answered with a moment
later.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from llmgw_desktop import __version__
from llmgw_desktop.config.api_catalog import switch_id_for
from llmgw_desktop.engine.api import UNREACHED_SOURCE, VAULT_PLACES, Answering
from llmgw_desktop.shell.runtime import GatewayRuntime

__all__ = [
    "ANSWERING_WAIT_S",
    "answering_now",
    "answering_words",
    "banner",
    "print_banner",
    "print_banner_at_once",
]

# The longest the banner waits for the providers' model lists before it says what it has.
ANSWERING_WAIT_S = 5.0


def banner(runtime: GatewayRuntime, answering: str, *, running: str = "running headless") -> str:
    """What a start prints: where each door is, whether it is locked (a person connecting a
    tool needs the API's base URL and whether to give it a key), and `answering`
    (`answering_now`)."""
    auth = runtime.engine.auth
    access = (
        "locked: every request needs a gateway key (llmgw-desktop keys create NAME) or the "
        "master token (http.auth_token)"
        if auth.configured
        else "open to programs of this account on this machine (no key needed on loopback)"
    )
    return (
        f"llmgw-desktop {__version__} {running}\n"
        f"  API base URL: {runtime.base_url}/v1 (OpenAI SDKs; Anthropic SDKs and Claude Code "
        f"take {runtime.base_url})\n"
        f"  MCP endpoint: {runtime.mcp_url}\n"
        f"  health:       {runtime.base_url}/health\n"
        f"  access:       {access}\n"
        f"  answering:    {answering}\n"
        "Stop it with Ctrl+C, SIGTERM or `llmgw-desktop quit`."
    )


async def answering_now(runtime: GatewayRuntime, wait_s: float = ANSWERING_WAIT_S) -> str:
    """What answers now, once the first look at the providers has ended (at most `wait_s`)."""
    engine = runtime.engine
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(engine.providers.first_look(), wait_s)
    return answering_words(runtime, await engine.answering.check())


def answering_words(runtime: GatewayRuntime, fact: Answering) -> str:
    """Which providers answer, with how many models (their sum is `GET /v1/models`' length),
    or what to do when none does: a key refused named, the vault needing no restart."""
    unreached = _unreached(runtime, fact)
    answers = [(provider, n) for provider, n in fact.by_provider if provider not in unreached]
    # A provider whose host took no connection is not said to answer: its calls would fail.
    not_reached = "".join(
        f"; {provider} not reached: {why} (its models are offered; each call tries it again)"
        for provider, why in unreached.items()
    )
    if answers:
        listed = ", ".join(
            f"{provider} ({n} model{'s' if n != 1 else ''})" for provider, n in answers
        )
        tail = "GET /v1/models lists them"
        if not fact.settled:
            tail = "model lists still being read: GET /v1/models has the whole list"
        return f"{listed}; {tail}{not_reached}"
    if unreached:
        return f"none reached{not_reached}"
    vault = f"in the vault ({VAULT_PLACES}; no restart needed)"
    if fact.refused:
        variables = [
            name
            for spec in runtime.engine.providers.api_providers()
            if switch_id_for(spec.id) in fact.refused
            for name in spec.key_env[:1]
        ]
        whose = " and ".join(fact.refused)
        again = f", or set {' or '.join(variables)} and start again" if variables else ""
        logins = "".join(f"; {said}" for _provider, said in fact.to_set_up)
        return (
            f"no provider can answer: {whose} refused the key (above); store a working one "
            f"{vault}{again}{logins}"
        )
    if fact.to_set_up:
        said = "; ".join(said for _provider, said in fact.to_set_up)
        return f"no provider can answer: {said}; or store an API key {vault}"
    if not fact.settled:
        return "none yet: the providers' model lists are still being read (GET /v1/models)"
    return (
        f"no provider can answer yet: store an API key {vault}, or set a vendor's key "
        "(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...) and start again, or log in to "
        "a coding CLI"
    )


def _unreached(runtime: GatewayRuntime, fact: Answering) -> dict[str, str]:
    """The providers of `fact` whose host took no connection when their model list was read
    (and no call answered since), by gateway id, with why."""
    providers = runtime.engine.providers
    found = {}
    for provider, _models in fact.by_provider:
        health = providers.health(providers.switch_of(provider) or provider)
        if health.source == UNREACHED_SOURCE:
            found[provider] = health.reason
    return found


async def print_banner(runtime: GatewayRuntime, running: str) -> None:
    """Print the banner on stdout, if there is one (a start from the desktop menu has none),
    once the first look at the providers has ended (at most `ANSWERING_WAIT_S`)."""
    _print(banner(runtime, await answering_now(runtime), running=running))


def print_banner_at_once(runtime: GatewayRuntime, running: str) -> None:
    """Print the banner with what answers as last looked at, waiting for nothing (a stop
    asked before `print_banner` printed)."""
    _print(
        banner(runtime, answering_words(runtime, runtime.engine.answering.now()), running=running)
    )


def _print(text: str) -> None:
    if sys.stdout is None:
        return
    with contextlib.suppress(OSError):  # a terminal closed under a desktop start: nobody hears
        print(text, flush=True)
