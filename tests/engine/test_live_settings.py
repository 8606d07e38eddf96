"""A setting saved from the desk (`engine.live_settings`): written to config.toml with its
comments kept, and taken on at once where the engine reads it on each use; a later provider
edit rebuilds the router's configuration without bringing the replaced value back; only the
operator may save."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.engine.api import (
    LIVE_SETTINGS,
    LOCAL_CALLER,
    AccessDenied,
    ModelEntries,
    ProviderDraft,
)
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.engine import Engine

CONFIG = """# mine
[gateway]
default_model = "gpt-4o-mini"  # the cheap one

[jobs]
max_concurrent = 6
"""


@pytest.fixture
def root_level() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


@pytest.fixture
async def engine(config_path: Path, isolated_env: Path) -> AsyncIterator[Engine]:
    config_path.write_text(CONFIG, encoding="utf-8")
    loaded = load_settings()
    engine = Engine(loaded.settings, settings_writer=ConfigFileWriter(loaded.config_file))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def test_a_live_setting_is_written_and_taken_on_at_once(
    engine: Engine, config_path: Path, root_level: None
) -> None:
    live = await engine.live_settings.save(LOCAL_CALLER, "gateway.default_model", "claude-x")
    assert live and "gateway.default_model" in LIVE_SETTINGS
    assert engine.gateway.registry.config.default_model == "claude-x"
    assert engine.settings.gateway.default_model == "claude-x"
    assert await engine.live_settings.save(LOCAL_CALLER, "log.level", "DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith("# mine\n") and 'default_model = "claude-x"' in text
    # A provider edit rebuilds the router's configuration from the settings it runs on now.
    draft = ProviderDraft("house", base_url="http://127.0.0.1:9/v1", models=("house-1",))
    await engine.provider_editor.save(LOCAL_CALLER, draft, ModelEntries(), new=True)
    assert engine.gateway.registry.provider("house") is not None
    assert engine.gateway.registry.config.default_model == "claude-x"


async def test_a_setting_read_at_start_waits_for_the_next_start(
    engine: Engine, config_path: Path
) -> None:
    assert not await engine.live_settings.save(LOCAL_CALLER, "jobs.max_concurrent", 12)
    assert engine.settings.jobs.max_concurrent == 6  # the running queue keeps its limit
    assert "max_concurrent = 12" in config_path.read_text(encoding="utf-8")
    assert load_settings().settings.jobs.max_concurrent == 12


async def test_only_the_operator_may_save_a_setting(engine: Engine, config_path: Path) -> None:
    before = config_path.read_bytes()
    key_holder = Principal("key:ci", "key")
    with pytest.raises(AccessDenied):
        await engine.live_settings.save(key_holder, "gateway.default_model", "evil")
    assert config_path.read_bytes() == before
    assert engine.gateway.registry.config.default_model == "gpt-4o-mini"
