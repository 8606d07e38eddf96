"""`[providers.acp.NAME]`: a shipped agent changed, a new one added, and every table that would
make a provider the gateway cannot run (or one that shadows another) refused at load with its
name and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.config.settings import ConfigError, load_settings


def _load(tmp_path: Path, toml: str) -> object:
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config_file=config, environ={})


def test_a_new_agent_becomes_a_provider_with_a_bridge(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        '[providers.acp.my-agent]\ncommand = "/opt/my-agent"\nargs = ["--acp"]\n'
        'models = ["m1"]\nname = "My agent"\n\n[providers]\ndisabled = ["my-agent"]\n',
    )
    catalog = ProviderCatalog.of(loaded.settings.providers.acp)  # type: ignore[attr-defined]
    info = catalog.info("my-agent")
    assert (info.display_name, info.binaries, info.acp_args) == (
        "My agent",
        ("/opt/my-agent",),
        ("--acp",),
    )
    assert catalog.ids[: len(SHIPPED_CATALOG.ids)] == SHIPPED_CATALOG.ids
    assert catalog.bridge_of("my-agent").id == "my-agent-cli"
    assert catalog.engine_id("my-agent-cli") == "my-agent"
    assert catalog.bridge("my-agent-cli").models == ("m1",)  # type: ignore[union-attr]
    assert "put /opt/my-agent on PATH" in info.install_command and info.upgrade_argv == ()
    assert "my-agent" not in SHIPPED_CATALOG


def test_a_shipped_agent_takes_the_operators_command_args_and_models() -> None:
    table = {
        "gemini-acp": {"command": "/x/gemini", "args": ["--experimental-acp"], "models": ["a"]}
    }
    catalog = ProviderCatalog.of(table)
    info = catalog.info("gemini-acp")
    assert info.binaries == ("/x/gemini",) and info.acp_args == ("--experimental-acp",)
    assert catalog.bridge_of("gemini-acp").models == ("a",)
    assert catalog.ids == SHIPPED_CATALOG.ids


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[providers.acp.claude]\ncommand = "x"\n', "adapter of its own"),
        ('[providers.acp.openai]\ncommand = "x"\n', "taken by another provider"),
        ('[providers.acp.mistral-api]\ncommand = "x"\n', "taken by another provider"),
        ('[providers.acp.foo-cli]\ncommand = "x"\n', "taken by another provider"),
        ('[providers.acp.npm]\ncommand = "x"\n', "taken by another provider"),
        ('[providers.acp."Bad_Name"]\ncommand = "x"\n', "lower-case letters"),
        ("[providers.acp.nocommand]\nargs = []\n", "needs a command"),
        ('[providers.acp.a1]\ncommand = "x"\nname = 3\n', "a1.name: must be one line"),
        ('[providers.acp.a1]\ncommand = "x"\ncolour = "red"\n', "unknown field 'colour'"),
        ('[providers.acp.a1]\ncommand = "x"\nenv = ["LLM_GATEWAY_X"]\n', "gateway's own"),
        (
            '[providers.acp.work]\ncommand = "x"\n\n[gateway.providers.work]\n'
            'base_url = "http://127.0.0.1:1/v1"\n',
            "[gateway.providers.work] has that name",
        ),
    ],
)
def test_a_table_that_cannot_be_a_provider_is_refused(
    tmp_path: Path, table: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, table)
    assert problem in str(caught.value), str(caught.value)


def test_switching_off_an_agent_nobody_added_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[providers]\ndisabled = ["my-agent"]\n')
    assert "unknown provider 'my-agent'" in str(caught.value)
