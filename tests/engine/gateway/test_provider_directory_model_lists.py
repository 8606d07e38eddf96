"""The directory's cache of API providers' model lists: read in the background when due, merged
with the catalogue, kept when a read fails, never waited on by a request, and checked against
the config's aliases and routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.gateway import provider_directory
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.gateway.model_lists import ModelListError
from llmgw_desktop.engine.gateway.provider_directory import (
    _VENDOR_BASE_URLS,
    LISTS_AGAIN,
    REFRESH_AFTER_S,
    ProviderDirectory,
)
from llmgw_desktop.engine.gateway.router import ModelRegistry, Target
from llmgw_desktop.engine.store import StoreUnavailable
from llmgw_desktop.engine.tasks import TaskSupervisor
from tests.clock import Clock
from tests.fakes.upstream import ScriptedUpstream

REFRESH_S = 3600.0
NOW = 1_790_000_000.4  # the wall clock the directory stamps reads with
OPENAI_LISTS = ["gpt-5.5", "sora-2", "gpt-4o"]


class FakeVault:
    """Only the version matters here: it changes when keys are stored or deleted. Its first
    `unreachable` reads fail as a PostgreSQL outage does."""

    def __init__(self, unreachable: int = 0) -> None:
        self.version = 0
        self.unreachable = unreachable

    async def resolve_keys(self, provider: str, project: str | None = None) -> list[str]:
        if self.unreachable > 0:
            self.unreachable -= 1
            raise StoreUnavailable("the test's store", "the server is stopped")
        return []


async def _all_available(engine_provider: str) -> EngineError | None:
    return None


@pytest.fixture
async def up(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScriptedUpstream]:
    """The fake, standing for the vendors' own APIs: their lists are merged with the
    catalogue (a server elsewhere lists its whole list, `test_a_provider_pointed_...`)."""
    async with ScriptedUpstream() as server:
        server.model_ids["chat"] = OPENAI_LISTS
        _as_the_vendors(server, monkeypatch)
        yield server


def _as_the_vendors(up: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` is where OpenAI, Anthropic and Google serve their own APIs, for this test."""
    urls = {"openai": up.base_url + "/v1", "anthropic": up.base_url, "google": up.base_url}
    for provider, url in urls.items():
        monkeypatch.setitem(_VENDOR_BASE_URLS, provider, url)


def _environ(up: ScriptedUpstream) -> dict[str, str]:
    """OpenAI, Anthropic and Gemini at the fake upstream; Groq without a key."""
    return {
        "OPENAI_API_KEY": "sk-test-openai",
        "OPENAI_BASE_URL": up.base_url + "/v1",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": up.base_url,
        "GEMINI_API_KEY": "gemini-test",
        "GOOGLE_GEMINI_BASE_URL": up.base_url,
    }


def _directory(
    client: UpstreamClient,
    up: ScriptedUpstream,
    *,
    clock: Clock | None = None,
    vault: FakeVault | None = None,
    refresh_s: float = REFRESH_S,
    keys_clock: Clock | None = None,
    wall: Clock | None = None,
    **config: Any,
) -> ProviderDirectory:
    settings: dict[str, Any] = {"aliases": {}, "routes": {}, "fallback": []} | config
    # Mistral has a key but is switched off: never asked.
    providers = {"mistral": {"api_key": "m-key", "enabled": False}}
    gateway = gateway_config(providers=providers, **settings)
    return ProviderDirectory(
        ModelRegistry(gateway),
        KeyChain(gateway, environ=_environ(up), vault=vault, clock=keys_clock or time.monotonic),
        client,
        cli_available=_all_available,
        detect_local=False,
        models_refresh_s=refresh_s,
        clock=clock or Clock(0.0),
        wall_clock=wall or (lambda: NOW),
    )


async def _rows(directory: ProviderDirectory) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in await directory.providers()}


def _list_reads(up: ScriptedUpstream) -> list[str | None]:
    return [r.dialect for r in up.requests if r.endpoint == "models"]


async def test_providers_with_keys_have_their_lists_read_and_merged_with_the_catalogue(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    directory = _directory(client, up)
    await directory.refresh()
    assert sorted(map(str, _list_reads(up))) == ["anthropic", "chat", "gemini"]
    rows = await _rows(directory)
    openai = rows["openai"]
    # What OpenAI lists first, then the catalogue's others.
    assert openai["models"][:3] == OPENAI_LISTS
    assert "gpt-5.1" in openai["models"] and len(set(openai["models"])) == len(openai["models"])
    assert (openai["modelsSource"], openai["modelsFetchedAt"], openai["modelsError"]) == (
        "upstream",
        round(NOW),
        None,
    )
    assert rows["google"]["models"][:2] == ["gemini-2.5-pro", "gemini-2.5-flash"]
    for unread in ("groq", "mistral"):  # no key; switched off
        assert rows[unread]["modelsSource"] == "catalogue"
        assert rows[unread]["modelsFetchedAt"] is None
    # Bare ids only an API listed now route to it.
    assert directory._registry.resolve("sora-2") == Target("openai", "sora-2")
    models = {m["id"]: m["owned_by"] for m in await directory.models()}
    assert models["sora-2"] == "openai"


async def test_a_provider_pointed_at_another_server_lists_that_servers_list_alone(
    up: ScriptedUpstream, client: UpstreamClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`OPENAI_BASE_URL` at a server that is not OpenAI's: what it lists is all it serves, so
    none of the catalogue's OpenAI models is added (a review saw gpt-5.1 offered beside the
    two models such a server listed); a model it does not list still goes to it by name."""
    monkeypatch.setitem(_VENDOR_BASE_URLS, "openai", "https://api.openai.com/v1")
    directory = _directory(client, up)
    await directory.refresh()
    openai = (await _rows(directory))["openai"]
    assert openai["models"] == OPENAI_LISTS
    assert openai["modelsSource"] == "server" and openai["modelsFetchedAt"] == round(NOW)
    assert directory._registry.default_model_of("openai") == "gpt-4o"  # a catalogue one it lists
    assert directory._registry.resolve("gpt-5.1") == Target("openai", "gpt-5.1")


async def test_lists_are_read_again_when_due_or_when_keys_change(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    clock, vault = Clock(0.0), FakeVault()
    directory = _directory(client, up, clock=clock, vault=vault)
    await directory.refresh()
    assert len(_list_reads(up)) == 3
    clock.now = REFRESH_S - 1
    await directory.refresh()
    await directory.providers()
    await directory.models()
    assert len(_list_reads(up)) == 3
    vault.version += 1  # a key stored
    await directory.refresh()
    assert len(_list_reads(up)) == 6
    clock.now = 2 * REFRESH_S
    await directory.refresh()
    await directory.refresh(force=True)
    assert len(_list_reads(up)) == 12


async def test_lists_read_while_the_vault_could_not_be_are_read_again_at_the_next_look(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    # Keys only the vault holds were not read, and its coming back changes no version: before,
    # the lists waited for the hour's refresh (the models only its keys list, unknown till then).
    clock, vault = Clock(0.0), FakeVault(unreachable=1)
    directory = _directory(client, up, clock=clock, vault=vault, keys_clock=clock)
    await directory.refresh()
    assert len(_list_reads(up)) == 3  # the environment's keys, read anyway
    clock.now = REFRESH_AFTER_S  # the service task's next look; the vault answers again
    await directory.refresh()
    assert len(_list_reads(up)) == 6
    clock.now = 2 * REFRESH_AFTER_S  # read whole: not again until the hour's refresh
    await directory.refresh()
    assert len(_list_reads(up)) == 6


async def test_lists_a_round_could_not_read_are_read_again_sooner_while_it_fails(
    up: ScriptedUpstream, client: UpstreamClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The network is down for the start's round (a login autostart before Wi-Fi: a failure
    # made here, where the fake cannot be unreachable and then reachable on one port), then
    # back. Before, the lists' errors stood and the models only they name were unknown (a
    # bare id answered 404) until the hour's refresh.
    real_read = provider_directory.read_model_list
    down = {"rounds": 2}

    async def read(*args: Any, **kwargs: Any) -> Any:
        if down["rounds"] > 0:
            raise ModelListError("cannot connect: network is unreachable")
        return await real_read(*args, **kwargs)

    monkeypatch.setattr(provider_directory, "read_model_list", read)
    clock = Clock(0.0)
    directory = _directory(client, up, clock=clock)
    await directory.refresh()
    assert directory.model_lists["openai"].error is not None
    down["rounds"] -= 1
    clock.now = LISTS_AGAIN.nth(1)  # the service task's next look: due, and failing again
    await directory.refresh()
    clock.now += LISTS_AGAIN.nth(2) - 1  # less often while rounds keep failing
    down["rounds"] -= 1  # the network is back
    await directory.refresh()
    assert directory.model_lists["openai"].error is not None
    clock.now += 1
    await directory.refresh()
    assert directory.model_lists["openai"].error is None
    assert directory._registry.resolve("sora-2") == Target("openai", "sora-2")
    clock.now += REFRESH_S - 1  # read whole: the next round at the refresh, as before
    await directory.refresh()
    assert len(_list_reads(up)) == 3


async def test_a_refresh_interval_of_zero_never_reads_lists(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    directory = _directory(client, up, refresh_s=0)
    await directory.refresh(force=True)
    assert _list_reads(up) == []
    assert (await _rows(directory))["openai"]["modelsSource"] == "catalogue"


async def test_a_failed_read_keeps_the_last_list_and_is_logged_once(
    client: UpstreamClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="llmgw_desktop.engine.gateway.provider_directory")
    async with ScriptedUpstream() as server:
        server.model_ids["chat"] = OPENAI_LISTS
        _as_the_vendors(server, monkeypatch)
        directory = _directory(client, server)
        await directory.refresh()
    for _ in range(2):  # the upstream is gone now
        await directory.refresh(force=True)
    openai = (await _rows(directory))["openai"]
    assert openai["models"][:3] == OPENAI_LISTS
    assert openai["modelsSource"] == "upstream" and openai["modelsFetchedAt"] == round(NOW)
    assert openai["modelsError"].startswith("could not read the model list: cannot connect")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("openai: could not read the model list" in w for w in warnings) == 1
    assert any("keeping the last list" in w for w in warnings)
    assert directory._registry.resolve("sora-2") == Target("openai", "sora-2")


async def test_requests_answer_from_the_cache_while_the_upstream_is_slow(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.models_gate = asyncio.Event()
    directory = _directory(client, up)
    tasks = TaskSupervisor()
    reading = tasks.spawn(directory.refresh(), name="read-lists")
    await up.wait_for_model_lists(3)  # every read is now held by the upstream
    async with asyncio.timeout(1.0):
        rows = await _rows(directory)
        listed = [m["id"] for m in await directory.models()]
    assert rows["openai"]["modelsSource"] == "catalogue"
    assert "gpt-4o" in listed and "sora-2" not in listed
    assert not reading.done()
    up.models_gate.set()
    async with asyncio.timeout(5.0):
        await reading
    assert "sora-2" in [m["id"] for m in await directory.models()]
    await tasks.shutdown()


async def test_stale_references_are_listed_per_provider_and_logged_once_per_change(
    up: ScriptedUpstream, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llmgw_desktop.engine.gateway.provider_directory")
    directory = _directory(
        client,
        up,
        # Anthropic's list is read too, and lists neither: only OpenAI's entries are stale
        # (claude-sonnet-4-5 is listed, as the fake's Anthropic list holds it).
        aliases={"fast": "gpt-4o-mini", "sonnet": "claude-sonnet-4-5", "cc": "claude-cli/opus"},
        fallback=["gpt-4o", "openai/gpt-4.1"],
    )
    await directory.refresh()
    fast = {
        "kind": "alias",
        "name": "fast",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "providerModel": "gpt-4o-mini",
    }
    fallback = {
        "kind": "fallback",
        "name": "gateway.fallback",
        "model": "openai/gpt-4.1",
        "provider": "openai",
        "providerModel": "gpt-4.1",
    }
    rows = await _rows(directory)
    assert rows["openai"]["staleReferences"] == [fast, fallback]
    assert rows["anthropic"]["staleReferences"] == []
    assert [r.to_dict() for r in directory.stale_references()] == [fast, fallback]
    await directory.refresh(force=True)
    stale_logs = [r for r in caplog.records if "stale model reference" in r.getMessage()]
    assert len(stale_logs) == 2 and all(r.levelno == logging.WARNING for r in stale_logs)
    assert "alias 'fast' names 'gpt-4o-mini', not in openai's model list" in stale_logs[0].message

    up.model_ids["chat"] = [*OPENAI_LISTS, "gpt-4o-mini", "gpt-4.1"]  # listed again
    await directory.refresh(force=True)
    assert directory.stale_references() == ()
    assert (await _rows(directory))["openai"]["staleReferences"] == []
    assert any("no longer stale" in r.getMessage() for r in caplog.records)


def _answered(provider: str, model: str, state: str = "completed") -> RequestFinished:
    return RequestFinished("r", provider, model, state, "local", "", 0.0, 1.0)


async def test_a_model_a_call_answered_for_since_the_list_was_read_is_not_stale(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    """A person's pass: 19 calls for openai/gpt-4o-mini had answered beside "requests for them
    will fail". An answer since the list was read proves more than the list; one read again,
    and no different, keeps it; a list that changed asks for an answer anew."""
    wall = Clock(NOW)
    aliases = {"fast": "gpt-4o-mini", "old": "gpt-4.1"}
    directory = _directory(client, up, wall=wall, aliases=aliases)
    await directory.refresh()
    wall.now += 10
    assert [r.name for r in directory.stale_references()] == ["fast", "old"]
    directory.heard(_answered("openai", "gpt-4o-mini", state="failed"))  # no answer
    directory.heard(_answered("anthropic", "gpt-4o-mini"))  # another provider's
    assert [r.name for r in directory.stale_references()] == ["fast", "old"]
    directory.heard(_answered("openai", "gpt-4o-mini"))
    assert [r.name for r in directory.stale_references()] == ["old"]
    assert [r["name"] for r in (await _rows(directory))["openai"]["staleReferences"]] == ["old"]
    wall.now += 10
    await directory.refresh(force=True)  # the same list again: the answer still stands
    assert [r.name for r in directory.stale_references()] == ["old"]
    wall.now += 10
    up.model_ids["chat"] = [*OPENAI_LISTS, "o9"]  # a list that changed since the answer
    await directory.refresh(force=True)
    assert [r.name for r in directory.stale_references()] == ["fast", "old"]
