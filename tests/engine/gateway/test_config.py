"""The gateway's config tables: checks that name the offending key, and merging over the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC, DIALECT_OPENAI_CHAT
from llmgw_desktop.config.gateway_tables import (
    GatewayConfig,
    RouteConfig,
    check_provider_tables,
    check_route_tables,
    gateway_config,
)
from llmgw_desktop.config.settings import ConfigError, load_settings


def _config(providers: dict[str, Any] | None = None, **kw: Any) -> GatewayConfig:
    return gateway_config(
        providers=providers or {},
        aliases=kw.pop("aliases", {}),
        routes=kw.pop("routes", {}),
        fallback=kw.pop("fallback", []),
        **kw,
    )


GOOD_PROVIDER_TABLES: list[dict[str, Any]] = [
    {},
    {"ollama": {"enabled": True}},
    {"openai": {"api_key": "sk-1", "api_keys": ["sk-2"], "api_key_env": "WORK_OPENAI"}},
    {"work-vllm": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:8001/v1"}},
    {"my.proxy_1": {"kind": "anthropic", "base_url": "https://proxy.example", "name": "P"}},
    {"anthropic": {"base_url": "https://proxy.example/anthropic", "models": ["claude-x"]}},
]


@pytest.mark.parametrize("tables", GOOD_PROVIDER_TABLES)
def test_well_formed_provider_tables_pass(tables: dict[str, Any]) -> None:
    assert check_provider_tables(tables) is None


BAD_PROVIDER_TABLES = [
    ("uppercase id", {"Work": {"base_url": "http://x"}}, "gateway.providers.Work:", "lowercase"),
    ("leading dash", {"-w": {"base_url": "http://x"}}, "gateway.providers.-w:", "lowercase"),
    ("id too long", {"a" * 41: {"base_url": "http://x"}}, "gateway.providers.aaa", "lowercase"),
    ("cli id", {"claude-cli": {}}, "gateway.providers.claude-cli:", "CLI provider"),
    ("not a table", {"openai": "sk-1"}, "gateway.providers.openai must be a table", "base_url"),
    ("unknown field", {"openai": {"key": "x"}}, "gateway.providers.openai.key", "known: kind"),
    ("str field", {"openai": {"api_key": 1}}, "gateway.providers.openai.api_key", "a str"),
    ("bool field", {"ollama": {"enabled": "yes"}}, "gateway.providers.ollama.enabled", "a bool"),
    ("list field", {"openai": {"models": "gpt"}}, "gateway.providers.openai.models", "a list"),
    (
        "empty item",
        {"openai": {"api_keys": [""]}},
        "gateway.providers.openai.api_keys",
        "non-empty",
    ),
    ("list of ints", {"openai": {"models": [1]}}, "gateway.providers.openai.models", "strings"),
    (
        "bad kind",
        {"w": {"kind": "soap", "base_url": "http://x"}},
        "gateway.providers.w.kind",
        "soap",
    ),
    ("custom, no url", {"work": {"kind": "openai"}}, "gateway.providers.work is not", "base_url"),
    ("ftp url", {"w": {"base_url": "ftp://x"}}, "gateway.providers.w.base_url", "http(s) URL"),
    ("no scheme", {"w": {"base_url": "127.0.0.1:80"}}, "gateway.providers.w.base_url", "http(s)"),
    ("empty url", {"openai": {"base_url": ""}}, "gateway.providers.openai.base_url", "http(s)"),
]


@pytest.mark.parametrize(
    ("tables", "names", "says"),
    [row[1:] for row in BAD_PROVIDER_TABLES],
    ids=[row[0] for row in BAD_PROVIDER_TABLES],
)
def test_bad_provider_table_names_the_key(tables: dict[str, Any], names: str, says: str) -> None:
    problem = check_provider_tables(tables)
    assert problem is not None
    assert names in problem
    assert says in problem


@pytest.mark.parametrize(
    "tables",
    [
        {},
        {"*": {}},
        {"claude-*": {"strategy": "round-robin", "fallback": ["claude-cli/sonnet"]}},
        {"gpt-5.1": {"strategy": "caller", "pin": {"codex": "openai/gpt-5.1"}}},
        {"team": {"targets": ["openai/gpt-4o-mini", "azure/prod"], "strategy": "least-busy"}},
        {"team": {"targets": ["a/m", "b/m", "c/m"], "strategy": "weighted", "weights": [3, 1, 0]}},
        {"team": {"targets": ["a/m"], "small_request": "ollama/qwen3"}},
        {"*": {"small_request": "ollama/qwen3"}},
    ],
)
def test_well_formed_route_tables_pass(tables: dict[str, Any]) -> None:
    assert check_route_tables(tables) is None


BAD_ROUTE_TABLES = [
    ("not a table", {"claude-*": ["x"]}, "gateway.routes.'claude-*' must be a table", "fallback"),
    ("unknown field", {"*": {"retries": 3}}, "gateway.routes.'*'.retries", "known: strategy"),
    ("strategy type", {"*": {"strategy": 1}}, "gateway.routes.'*'.strategy", "a str"),
    ("bad strategy", {"*": {"strategy": "random"}}, "gateway.routes.'*'.strategy", "round-robin"),
    ("fallback str", {"*": {"fallback": "gpt-4o"}}, "gateway.routes.'*'.fallback", "a list"),
    ("fallback int", {"*": {"fallback": ["gpt-4o", 3]}}, "gateway.routes.'*'.fallback", "ids"),
    ("fallback empty", {"*": {"fallback": [""]}}, "gateway.routes.'*'.fallback", "model ids"),
    ("pin not table", {"*": {"pin": ["codex"]}}, "gateway.routes.'*'.pin", "a dict"),
    ("pin value int", {"*": {"pin": {"codex": 5}}}, "gateway.routes.'*'.pin", "caller names"),
    ("pin value empty", {"*": {"pin": {"codex": ""}}}, "gateway.routes.'*'.pin", "strings"),
    ("targets str", {"t": {"targets": "a/m"}}, "gateway.routes.'t'.targets", "a list"),
    ("targets empty", {"t": {"targets": []}}, "gateway.routes.'t'.targets", "at least one"),
    ("targets blank", {"t": {"targets": ["a/m", ""]}}, "gateway.routes.'t'.targets", "ids"),
    ("targets twice", {"t": {"targets": ["a/m", "a/m"]}}, "gateway.routes.'t'.targets", "twice"),
    (
        "strategy without targets",
        {"t": {"strategy": "lowest-latency"}},
        "gateway.routes.'t'.strategy",
        "gateway.routes.'t'.targets",
    ),
    (
        "weights without weighted",
        {"t": {"targets": ["a/m", "b/m"], "weights": [1, 2]}},
        "gateway.routes.'t'.weights",
        'strategy = "weighted"',
    ),
    (
        "weights short",
        {"t": {"targets": ["a/m", "b/m"], "strategy": "weighted", "weights": [1]}},
        "gateway.routes.'t'.weights",
        "1 numbers for 2 targets",
    ),
    (
        "weights not numbers",
        {"t": {"targets": ["a/m"], "strategy": "weighted", "weights": ["3"]}},
        "gateway.routes.'t'.weights",
        "numbers",
    ),
    (
        "weights all zero",
        {"t": {"targets": ["a/m"], "strategy": "weighted", "weights": [0]}},
        "gateway.routes.'t'.weights",
        "more than 0",
    ),
    (
        "weights negative",
        {"t": {"targets": ["a/m", "b/m"], "strategy": "weighted", "weights": [2, -1]}},
        "gateway.routes.'t'.weights",
        "0 or more",
    ),
    ("small request empty", {"*": {"small_request": ""}}, "gateway.routes.'*'.small_request", "id"),
]


@pytest.mark.parametrize(
    ("tables", "names", "says"),
    [row[1:] for row in BAD_ROUTE_TABLES],
    ids=[row[0] for row in BAD_ROUTE_TABLES],
)
def test_bad_route_table_names_the_key(tables: dict[str, Any], names: str, says: str) -> None:
    problem = check_route_tables(tables)
    assert problem is not None
    assert names in problem
    assert says in problem


def test_nothing_configured_is_the_catalog() -> None:
    config = _config()
    assert config.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert not config.providers["ollama"].enabled
    assert config.configured == frozenset()
    assert config.config_keys == {} and config.key_env_overrides == {}


def test_builtin_override_keeps_the_other_fields() -> None:
    spec = _config({"anthropic": {"base_url": "https://proxy.example/anthropic/"}}).providers[
        "anthropic"
    ]
    assert spec.base_url == "https://proxy.example/anthropic"
    # An explicit base URL wins, so the environment's is no longer read.
    assert spec.base_url_env is None
    assert spec.dialect == DIALECT_ANTHROPIC
    assert spec.key_env == ("ANTHROPIC_API_KEY",)
    assert "claude-sonnet-4-6" in spec.models and spec.needs_key


def test_override_without_base_url_keeps_the_env_override() -> None:
    spec = _config({"openai": {"models": ["gpt-x"]}}).providers["openai"]
    assert spec.base_url_env == "OPENAI_BASE_URL"
    assert spec.models == ("gpt-x",)


@pytest.mark.parametrize(
    ("table", "enabled"),
    [({}, True), ({"enabled": True}, True), ({"enabled": False}, False)],
)
def test_listing_a_local_provider_enables_it_unless_told_not_to(
    table: dict[str, Any], enabled: bool
) -> None:
    config = _config({"ollama": table})
    assert config.providers["ollama"].enabled is enabled
    assert config.providers["ollama"].local
    assert config.configured == frozenset({"ollama"})


@pytest.mark.parametrize(
    ("table", "needs_key"),
    [
        ({"base_url": "http://127.0.0.1:8001/v1/"}, False),
        ({"base_url": "http://127.0.0.1:8001/v1", "api_key": "k"}, True),
        ({"base_url": "http://127.0.0.1:8001/v1", "api_keys": ["k"]}, True),
    ],
)
def test_custom_provider_is_openai_compatible(table: dict[str, Any], needs_key: bool) -> None:
    spec = _config({"work": {**table, "models": ["qwen3-coder"]}}).providers["work"]
    assert (spec.id, spec.name, spec.dialect) == ("work", "work", DIALECT_OPENAI_CHAT)
    assert spec.base_url == "http://127.0.0.1:8001/v1"
    assert spec.models == ("qwen3-coder",)
    assert spec.enabled and not spec.local
    assert spec.needs_key is needs_key


def test_custom_provider_kind_and_name() -> None:
    table = {"kind": "anthropic", "name": "Work proxy", "base_url": "https://p.example"}
    spec = _config({"work": table}).providers["work"]
    assert (spec.name, spec.dialect) == ("Work proxy", DIALECT_ANTHROPIC)


def test_config_keys_and_key_env_are_collected() -> None:
    config = _config(
        {
            "openai": {"api_key": "sk-a", "api_keys": ["sk-b", "sk-c"], "api_key_env": "WORK_KEY"},
            "groq": {"api_keys": ["gsk-1"]},
            "mistral": {"enabled": True},
        }
    )
    assert config.config_keys == {"openai": ("sk-a", "sk-b", "sk-c"), "groq": ("gsk-1",)}
    assert config.key_env_overrides == {"openai": "WORK_KEY"}


def test_routes_aliases_and_chains_are_typed() -> None:
    config = _config(
        aliases={"sonnet": "claude-sonnet-4-6"},
        routes={"claude-*": {"fallback": ["claude-cli/sonnet"], "pin": {"codex": "gpt-5.1"}}},
        fallback=["gpt-4o"],
        small_request_model="gpt-4o-mini",
        small_request_max_tokens=200,
    )
    assert config.routes == (
        RouteConfig("claude-*", "priority", ("claude-cli/sonnet",), {"codex": "gpt-5.1"}),
    )
    assert config.aliases == {"sonnet": "claude-sonnet-4-6"}
    assert config.fallback == ("gpt-4o",)
    assert (config.small_request_model, config.small_request_max_tokens) == ("gpt-4o-mini", 200)


GOOD_TOML = """
[gateway.providers.work]
kind = "openai-compatible"
base_url = "http://127.0.0.1:8001/v1"
models = ["qwen3-coder"]

[gateway.aliases]
sonnet = "claude-sonnet-4-6"

[gateway.routes."claude-*"]
strategy = "round-robin"
fallback = ["openrouter/anthropic/claude-sonnet-4.5", "claude-cli/sonnet"]
pin = { codex = "openai/gpt-5.1" }
"""


def test_config_file_tables_reach_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD_TOML)
    settings = load_settings(config_file=path, environ={}).settings
    assert settings.gateway.providers["work"]["models"] == ["qwen3-coder"]
    assert settings.gateway.aliases == {"sonnet": "claude-sonnet-4-6"}
    route = settings.gateway.routes["claude-*"]
    assert route["strategy"] == "round-robin" and route["pin"] == {"codex": "openai/gpt-5.1"}
    config = _config(settings.gateway.providers, routes=settings.gateway.routes)
    assert config.providers["work"].base_url == "http://127.0.0.1:8001/v1"
    assert config.routes[0].fallback[1] == "claude-cli/sonnet"


@pytest.mark.parametrize(
    ("toml", "key", "says"),
    [
        ('[gateway.providers.work]\nbase_url = "ftp://x"\n', "gateway.providers", "work.base_url"),
        ("[gateway.providers.codex-cli]\n", "gateway.providers", "CLI provider"),
        ('[gateway.routes."*"]\nstrategy = "random"\n', "gateway.routes", "strategy"),
        ('[gateway.aliases]\nfast = "fast"\n', "gateway.aliases", "itself"),
    ],
)
def test_bad_config_file_table_names_key_and_source(
    tmp_path: Path, toml: str, key: str, says: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=path, environ={})
    assert caught.value.key == key
    assert caught.value.source == f"file {path}"
    assert says in caught.value.problem


def test_providers_as_json_in_the_environment(tmp_path: Path) -> None:
    environ = {"LLM_GATEWAY_PROVIDERS": '{"ollama": {"enabled": true}}'}
    loaded = load_settings(config_file=tmp_path / "missing.toml", environ=environ)
    assert loaded.settings.gateway.providers == {"ollama": {"enabled": True}}
    assert loaded.sources["gateway.providers"] == "env LLM_GATEWAY_PROVIDERS"
    assert _config(loaded.settings.gateway.providers).providers["ollama"].enabled


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('{"ollama": ', "is not a JSON object"),
        ('["ollama"]', "must be a JSON object"),
        ('{"ollama": {"enabled": "yes"}}', "gateway.providers.ollama.enabled"),
    ],
)
def test_bad_json_in_the_environment_names_the_variable(
    tmp_path: Path, raw: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=tmp_path / "missing.toml", environ={"LLM_GATEWAY_PROVIDERS": raw})
    assert caught.value.key == "gateway.providers"
    assert caught.value.source == "env LLM_GATEWAY_PROVIDERS"
    assert says in caught.value.problem


def test_provider_headers_and_proxy_are_checked_when_the_file_is_loaded() -> None:
    base = {"kind": "openai-compatible", "base_url": "http://127.0.0.1:8001/v1"}
    fine = {"mine": {**base, "headers": {"X-Team": "infra"}, "proxy": "http://proxy:3128"}}
    assert check_provider_tables(fine) is None
    injected = {"mine": {**base, "headers": {"X-Team": "a\r\nX-Evil: 1"}}}
    assert "line break" in (check_provider_tables(injected) or "")
    credential = {"mine": {**base, "headers": {"Authorization": "Bearer sk-x"}}}
    assert "keys go in the vault" in (check_provider_tables(credential) or "")
    socks = {"mine": {**base, "proxy": "socks5://proxy:1080"}}
    assert "http:// proxy URL" in (check_provider_tables(socks) or "")
