from __future__ import annotations

import asyncio
import logging
import tomllib
from pathlib import Path

import pytest

from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest, ProviderUnavailable
from llmgw_desktop.engine.events import (
    EngineStarted,
    EngineStopped,
    Event,
    Notice,
    PauseChanged,
    ProviderToggled,
)
from llmgw_desktop.engine.lifecycle import EngineState
from llmgw_desktop.engine.providers.answering import AnsweringChanged
from tests.waiting import until


async def test_start_and_stop_without_qt(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    seen: list[Event] = []
    engine.events.subscribe(Event, seen.append)

    await engine.start()
    assert engine.state is EngineState.RUNNING
    assert engine.health()["status"] == "ok"
    assert loaded.settings.database_file.exists()
    await engine.stop()
    await engine.stop()  # idempotent

    assert engine.state is EngineState.STOPPED
    # Besides what can answer (nothing, here: no key), whose watch starts with the engine.
    lifecycle = [type(e) for e in seen if not isinstance(e, AnsweringChanged)]
    assert lifecycle == [EngineStarted, EngineStopped]


def test_a_limit_per_provider_the_limit_in_all_keeps_from_being_reached_is_logged(
    loaded: LoadedSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """The Settings page's note on moot limits, for a gateway whose file was written by hand:
    logged once, as the limits are taken, from the same rule."""
    settings = loaded.settings.with_values(
        {"jobs.max_concurrent": 8, "jobs.max_concurrent_per_provider": 50}
    )
    with caplog.at_level(logging.INFO, logger="llmgw_desktop.engine.engine"):
        Engine(settings)
        Engine(loaded.settings)  # 8 in all, 4 per provider: nothing to say
    assert [r.getMessage() for r in caplog.records if "per provider" in r.getMessage()] == [
        "jobs.max_concurrent_per_provider, jobs.max_concurrent: 50 calls at once per provider "
        "can never be reached: at most 8 run at once in all, so 8 is the limit for each "
        "provider too."
    ]


async def test_engine_can_start_again_after_stop(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    await engine.start()
    await engine.stop()
    await engine.start()
    await engine.stop()


async def test_health_reports_uptime_from_the_clock(loaded: LoadedSettings) -> None:
    now = [1000.0]
    engine = Engine(loaded.settings, clock=lambda: now[0])
    await engine.start()
    now[0] += 12.5
    try:
        # No key, no local server, no CLI here: once the first look has ended, /health says
        # so (before it, nothing is known to answer or not, and it says `ok`).
        await until(lambda: engine.health()["providers"]["state"] == "none", "the first look ended")
        health = engine.health()
    finally:
        await engine.stop()
    assert health["uptime_seconds"] == 12.5
    assert set(health) == {
        "service",
        "status",
        "version",
        "uptime_seconds",
        "paused",
        "refusing",
        "vault",
        "plain_http",
        "refused",
        "store",
        "recorder",
        "log",
        "lease",
        "providers",
        "cooling",
        "mcpServers",
    }
    assert health["mcpServers"] == {"configured": 0, "failing": 0}
    assert health["log"] == {"state": "ok", "reason": None}
    assert health["plain_http"] is False  # loopback only
    assert health["refused"] == {"total": 0, "byCode": {}, "edge": 0, "gateway": 0}
    assert health["store"] == {"state": "ok", "reason": None}
    assert health["recorder"] == {"pending": 0, "spilled": 0, "dropped": 0, "last_error": None}
    # Its lease on the store: held (cleared at stop) and alone on this SQLite store.
    assert health["lease"]["process"] == engine.leases.process_id
    assert 0 < health["lease"]["expiresInS"] <= health["lease"]["leaseS"]
    assert health["lease"]["peers"] == 0
    assert health["providers"] == {
        "state": "none",
        "failing": [],
        "degraded": [],
        "resting": [],
        "loggedOut": [],
        "vendorUnavailable": [],
        "settled": True,
    }


def test_disabled_provider_refuses_with_provider_disabled(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    engine.switches.ensure_available("claude")
    engine.providers.set_enabled(OPERATOR, "claude", False)
    with pytest.raises(ProviderUnavailable) as caught:
        engine.switches.ensure_available("claude")
    assert caught.value.code == "provider_disabled"
    engine.providers.set_enabled(OPERATOR, "claude", True)
    engine.switches.ensure_available("claude")


def test_pause_all_refuses_every_provider_and_keeps_switches(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    engine.providers.set_enabled(OPERATOR, "codex", False)
    engine.providers.set_paused(OPERATOR, True)
    with pytest.raises(ProviderUnavailable) as caught:
        engine.switches.ensure_available("claude")
    assert caught.value.code == "gateway_paused"
    engine.providers.set_paused(OPERATOR, False)
    engine.switches.ensure_available("claude")
    assert not engine.providers.is_enabled("codex")


def test_unknown_provider_is_a_clear_error(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    with pytest.raises(InvalidRequest, match="unknown provider 'chatgpt'"):
        engine.providers.set_enabled(OPERATOR, "chatgpt", False)
    with pytest.raises(InvalidRequest):
        engine.switches.ensure_available("chatgpt")


def test_switches_publish_events_only_on_change(loaded: LoadedSettings) -> None:
    engine = Engine(loaded.settings)
    seen: list[Event] = []
    engine.events.subscribe(Event, seen.append)
    engine.providers.set_enabled(OPERATOR, "gemini", False)
    engine.providers.set_enabled(OPERATOR, "gemini", False)
    engine.providers.set_paused(OPERATOR, True)
    engine.providers.set_paused(OPERATOR, True)
    assert seen == [ProviderToggled("gemini", False), PauseChanged(True)]


async def test_provider_switches_persist_in_config_file(
    loaded: LoadedSettings, config_path: Path
) -> None:
    config_path.write_text("# my settings\n[http]\nport = 0 # any port\n")
    engine = Engine(loaded.settings, settings_writer=ConfigFileWriter(config_path))
    await engine.start()
    try:
        engine.providers.set_enabled(OPERATOR, "grok", False)
        engine.providers.set_enabled(OPERATOR, "codex", False)
        engine.providers.set_enabled(OPERATOR, "grok", True)
    finally:
        await engine.stop()  # waits for the queued saves

    text = config_path.read_text()
    assert "# my settings" in text and "# any port" in text
    assert tomllib.loads(text)["providers"]["disabled"] == ["codex"]
    reloaded = load_settings()
    assert reloaded.settings.providers.disabled == ["codex"]
    assert not Engine(reloaded.settings).providers.is_enabled("codex")


async def test_failed_save_becomes_a_notice_not_a_crash(loaded: LoadedSettings) -> None:
    class BrokenWriter:
        def update(self, key: str, value: object) -> None:
            raise PermissionError("read-only file system")

    engine = Engine(loaded.settings, settings_writer=BrokenWriter())
    notices: list[Notice] = []
    noticed = asyncio.Event()
    engine.events.subscribe(Notice, lambda n: (notices.append(n), noticed.set()))
    await engine.start()
    try:
        engine.providers.set_enabled(OPERATOR, "claude", False)
        await asyncio.wait_for(noticed.wait(), timeout=5)
    finally:
        await engine.stop()
    assert "read-only" in notices[0].message
    assert not engine.providers.is_enabled("claude")  # the switch itself still holds
