from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import (
    ConfigError,
    LoadedSettings,
    Settings,
    declared_settings,
    load_settings,
    read_settings,
    settings_past_refusals,
)


def from_file(config_path: Path, toml: str) -> LoadedSettings:
    """The settings loaded from a config file holding `toml`, with no gateway variables set."""
    config_path.write_text(toml)
    return load_settings(environ={"LLM_GATEWAY_CONFIG": str(config_path)})


def test_defaults_apply_without_a_config_file() -> None:
    loaded = load_settings(environ={"LLM_GATEWAY_CONFIG": "/nonexistent/config.toml"})
    s = loaded.settings
    assert (s.http.host, s.http.port, s.http.path) == ("127.0.0.1", 3333, "/mcp")
    assert s.jobs.sync_deadline_ms == 45_000
    assert s.jobs.retention_days == 30
    assert s.jobs.dedup_window_ms == 3_600_000
    assert set(loaded.sources.values()) == {"default"}


def test_file_overrides_default_and_environment_overrides_file(config_path: Path) -> None:
    config_path.write_text('[http]\nport = 4000\npath = "/gateway"\n[jobs]\nretention_days = 7\n')
    env = {"LLM_GATEWAY_CONFIG": str(config_path), "LLM_GATEWAY_HTTP_PORT": "5000"}
    loaded = load_settings(environ=env)
    assert loaded.settings.http.port == 5000
    assert loaded.sources["http.port"] == "env LLM_GATEWAY_HTTP_PORT"
    assert loaded.settings.http.path == "/gateway"
    assert loaded.sources["http.path"] == f"file {config_path}"
    assert loaded.settings.jobs.retention_days == 7
    assert loaded.settings.http.host == "127.0.0.1"
    assert loaded.sources["http.host"] == "default"


def test_seed_names_for_environment_variables_are_honoured() -> None:
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent.toml",
        "SYNC_DEADLINE_MS": "1000",
        "LLM_GATEWAY_DEDUP_WINDOW_MS": "0",
        "LLM_GATEWAY_JOB_RETENTION_DAYS": "2",
        "LLM_GATEWAY_DISABLED_PROVIDERS": "codex, grok",
        "LLM_GATEWAY_UI_START_HIDDEN": "yes",
    }
    s = load_settings(environ=env).settings
    assert (s.jobs.sync_deadline_ms, s.jobs.dedup_window_ms, s.jobs.retention_days) == (1000, 0, 2)
    assert s.providers.disabled == ["codex", "grok"]
    assert s.ui.start_hidden is True


def _leaf_paths(node: Any, prefix: str = "") -> list[str]:
    """The dotted attribute path of every leaf of the settings tree."""
    paths = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            paths.extend(_leaf_paths(value, f"{prefix}{f.name}."))
        else:
            paths.append(prefix + f.name)
    return paths


def test_every_setting_is_declared_with_env_and_doc() -> None:
    decls = declared_settings()
    # The key is the attribute path: settings.http.oauth.enabled is http.oauth.enabled.
    assert [d.key for d in decls] == _leaf_paths(Settings())
    for d in decls:
        # Every key sits in a section, except an array of tables (`[[budgets]]`).
        assert d.doc and d.env and ("." in d.key or d.table_list)
    assert len({d.env for d in decls}) == len(decls)


def test_a_setting_is_read_and_changed_by_its_dotted_key() -> None:
    s = Settings()
    assert s.value("http.oauth.enabled") is s.http.oauth.enabled is False
    assert s.value("budgets") == s.budgets == []
    changed = s.with_values({"http.port": 0, "jobs.max_concurrent": 2, "http.oauth.enabled": True})
    assert (changed.http.port, changed.jobs.max_concurrent, changed.http.oauth.enabled) == (
        0,
        2,
        True,
    )
    assert changed.http.host == s.http.host and changed.gateway is s.gateway  # the rest kept
    assert s.http.port == 3333  # frozen: the original is unchanged
    for unknown in ("http.nope", "http", "http.oauth", "max_concurrent_jobs"):
        with pytest.raises(KeyError, match=unknown):
            s.with_values({unknown: 1})
        with pytest.raises(KeyError, match=unknown):
            s.value(unknown)


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[http]\nport = 70000\n", "http.port", "out of range"),
        ("[http]\nport = -1\n", "http.port", "out of range"),
        ('[http]\nport = "3333"\n', "http.port", "not a whole number"),
        ("[http]\nport = true\n", "http.port", "not a whole number"),
        ("[http]\nprot = 3333\n", "http.prot", "did you mean 'http.port'"),
        ("[nonsense]\nx = 1\n", "nonsense.x", "not a known setting"),
        ('[http]\nhost = "not a host!"\n', "http.host", "not an IP address or host name"),
        ('[http]\npath = "mcp"\n', "http.path", "must be a path"),
        ("[ui]\nstart_hidden = 1\n", "ui.start_hidden", "not a boolean"),
        ('[providers]\ndisabled = ["claude", "nope"]\n', "providers.disabled", "unknown provider"),
        ('[providers]\ndisabled = "claude"\n', "providers.disabled", "not a list of strings"),
        (
            '[providers]\nunmetered_clis = ["codex", "codx"]\n',
            "providers.unmetered_clis",
            "unknown CLI 'codx'",
        ),
        (
            '[providers]\nunmetered_clis = ["openai"]\n',  # an API provider: no CLI job
            "providers.unmetered_clis",
            "unknown CLI 'openai'",
        ),
        ('[log]\nlevel = "LOUD"\n', "log.level", "must be one of"),
        ("[jobs]\nsync_deadline_ms = 0\n", "jobs.sync_deadline_ms", "greater than 0"),
        (
            "[mcp]\nstdio_relay_silence_ms = 500\n",
            "mcp.stdio_relay_silence_ms",
            "between 1000 and 3600000",
        ),
        ("this is = not toml [", "(file)", "not valid TOML"),
    ],
)
def test_bad_file_value_names_key_and_file(
    config_path: Path, toml: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        from_file(config_path, toml)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(config_path) in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        (
            '[log]\nlevel = "LOUD"\n',
            "log.level",
            "'LOUD' must be one of DEBUG, INFO, WARNING or ERROR",
        ),
        (
            '[guard]\nsecrets = "shout"\n',
            "guard.secrets",
            "'shout' must be one of off, warn, redact, block or ask",
        ),
        ('[guard]\nunscanned = "skip"\n', "guard.unscanned", "'skip' must be one of send or block"),
        (
            '[http.oauth]\nregistration = "anyone"\n',
            "http.oauth.registration",
            "'anyone' must be one of static_clients, shared_secret or open_dev",
        ),
        (
            '[workspaces]\nremote_level = "everything"\n',
            "workspaces.remote_level",
            "'everything' must be one of read-only, edit or commands",
        ),
        (
            '[workspaces.registry.web]\npath = "/w"\nremote_level = "root"\n',
            "workspaces.registry",
            "workspace 'web': remote_level 'root' must be one of read-only, edit, commands or "
            "bypass",
        ),
        (
            '[workspaces.registry.web]\npath = "/w"\nsandbox = "off"\n',
            "workspaces.registry",
            "workspace 'web': unknown field 'sandbox'; known: path, remote_allowed_tools, "
            "remote_level and remote_mcp_servers",
        ),
        (
            '[providers]\nunmetered_clis = ["codx", "clade"]\n',
            "providers.unmetered_clis",
            "unknown CLIs 'codx' and 'clade'; known: ",
        ),
        (
            '[[budgets]]\nscope = "global"\nunit = "eur"\nperiod = "daily"\nhard = 5\n',
            "budgets",
            "budget 1 (global): unit: 'eur' must be one of usd or tokens",
        ),
        # A list's values that are not what it holds: each quoted, in words, not a Python list.
        (
            '[http]\nallowed_hosts = ["gw.example.com", "https://gw.example.com/"]\n',
            "http.allowed_hosts",
            "'https://gw.example.com/' is not a host name (no scheme, port or path)",
        ),
        (  # a port is no part of a host name: `Host` is matched without it, never again
            '[http]\nallowed_hosts = ["[fd00::1]", "fd00::2", "x.example:8080", "[::1]:80"]\n',
            "http.allowed_hosts",
            "'x.example:8080' and '[::1]:80' are not host names (no scheme, port or path)",
        ),
        (
            '[http]\ntrusted_proxies = ["10.0.0.0/8", "proxy one", "300.1.1.1"]\n',
            "http.trusted_proxies",
            "'proxy one' and '300.1.1.1' are not IP addresses or networks such as 10.0.0.0/8",
        ),
        (
            '[http]\nallowed_origins = ["localhost:5173"]\n',
            "http.allowed_origins",
            "'localhost:5173' is not an origin such as http://localhost:5173",
        ),
        (
            '[workspaces]\nallowed_roots = ["~/code", "src", "../up"]\n',
            "workspaces.allowed_roots",
            "'src' and '../up' are not absolute paths",
        ),
        (
            '[workspaces]\ndenied_names = [".ssh", "a/b", ""]\n',
            "workspaces.denied_names",
            "'a/b' and '' are not plain directory names such as .ssh",
        ),
        (
            '[workspaces]\nremote_allowed_tools = ["Read", "-rf"]\n',
            "workspaces.remote_allowed_tools",
            "'-rf' is not a tool name such as Bash(npm test)",
        ),
    ],
)
def test_a_refusal_lists_the_value_given_and_the_allowed_ones_in_words(
    config_path: Path, toml: str, key: str, problem: str
) -> None:
    """`log.level`'s refusal printed a Python tuple ("must be one of ('DEBUG', 'INFO', ...)");
    every setting whose value is one of a few words says the value given and the words it
    takes as a person lists them, never as Python prints a tuple or a list."""
    config_path.write_text(toml)
    (refused,) = read_settings(environ={"LLM_GATEWAY_CONFIG": str(config_path)}).problems
    assert refused.key == key
    assert refused.problem.startswith(problem), refused.problem
    assert not any(mark in refused.problem for mark in ("('", "['", "{'")), refused.problem


def test_a_read_goes_on_past_refused_values_and_lists_what_a_start_would_stop_on(
    config_path: Path,
) -> None:
    """The Settings page says what the file holds while the gateway runs: the values that
    pass their checks, and each refused one with what is wrong with it and what is written."""
    toml = '[jobs]\nmax_concurrent = 0\nretention_days = 7\n[log]\nlevel = "LOUD"\n'
    config_path.write_text(toml)
    environ = {"LLM_GATEWAY_CONFIG": str(config_path)}
    read = read_settings(environ=environ)
    assert [exc.key for exc in read.problems] == ["jobs.max_concurrent", "log.level"]
    assert read.problems[0].problem == "0 must be greater than 0"
    assert read.problems[1].problem.startswith("'LOUD' must be one of")
    assert read.loaded.settings.jobs.retention_days == 7
    assert read.file_values["jobs.max_concurrent"] == 0
    assert read.file_values["log.level"] == "LOUD"
    with pytest.raises(ConfigError) as caught:  # a start stops on the same, all of them
        load_settings(environ=environ)
    assert [(exc.key, exc.problem) for exc in caught.value.errors] == [
        (exc.key, exc.problem) for exc in read.problems
    ]


def test_settings_past_refusals_keep_what_passed_and_set_back_each_refused_value(
    config_path: Path,
) -> None:
    """What a session or command that goes on past a broken file runs on: no refused value,
    a value refused across settings included (the reader leaves that one as written)."""
    config_path.write_text(
        '[jobs]\nretention_days = 7\n[log]\nlevel = "LOUD"\n[providers]\ndisabled = ["nobody"]\n'
    )
    loaded = settings_past_refusals(environ={"LLM_GATEWAY_CONFIG": str(config_path)})
    assert [e.key for e in loaded.refused] == ["log.level", "providers.disabled"]
    assert loaded.settings.jobs.retention_days == 7
    assert loaded.settings.log.level == "INFO"
    assert loaded.settings.providers.disabled == []
    assert loaded.sources["providers.disabled"] == "default"
    assert loaded.file_in_use is False


@pytest.mark.parametrize(
    ("env", "value", "key", "words"),
    [
        ("LLM_GATEWAY_HTTP_PORT", "abc", "http.port", "not a whole number"),
        ("LLM_GATEWAY_HTTP_PORT", "65536", "http.port", "out of range"),
        ("LLM_GATEWAY_UI_START_HIDDEN", "maybe", "ui.start_hidden", "not a boolean"),
        ("SYNC_DEADLINE_MS", "-5", "jobs.sync_deadline_ms", "greater than 0"),
        (
            "LLM_GATEWAY_MCP_STDIO_RELAY_SILENCE_MS",
            "7200000",
            "mcp.stdio_relay_silence_ms",
            "(milliseconds)",
        ),
        ("LLM_GATEWAY_HTTP_ALLOWED_ORIGINS", "evil.com", "http.allowed_origins", "not an origin"),
    ],
)
def test_bad_environment_value_names_key_and_variable(
    env: str, value: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LLM_GATEWAY_CONFIG": "/nonexistent.toml", env: value})
    assert caught.value.key == key
    assert caught.value.source == f"env {env}"
    assert words in caught.value.problem


def test_unknown_gateway_variables_are_reported_not_fatal() -> None:
    loaded = load_settings(
        environ={"LLM_GATEWAY_CONFIG": "/nonexistent.toml", "LLM_GATEWAY_API_KEY": "gateway"}
    )
    assert loaded.unknown_env == ("LLM_GATEWAY_API_KEY",)


def test_loopback_hosts_are_accepted() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        env = {"LLM_GATEWAY_CONFIG": "/nonexistent.toml", "LLM_GATEWAY_HTTP_HOST": host}
        assert load_settings(environ=env).settings.http.host == host


def test_workspaces_come_from_a_table_or_the_environment(config_path: Path) -> None:
    s = from_file(
        config_path, '[workspaces.registry]\napi = "/srv/api"\nweb = "/srv/web"\n'
    ).settings
    assert s.workspaces.registry == {"api": "/srv/api", "web": "/srv/web"}
    env = {"LLM_GATEWAY_CONFIG": "/nonexistent.toml", "LLM_GATEWAY_WORKSPACES": "a=/x, b=/y"}
    assert load_settings(environ=env).settings.workspaces.registry == {"a": "/x", "b": "/y"}


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[workspaces.registry]\napi = "relative/path"\n', "absolute"),
        ('[workspaces.registry]\n"bad name" = "/x"\n', "must be letters"),
        ("[workspaces.registry]\napi = 3\n", "table of strings"),
    ],
)
def test_bad_workspaces_are_refused(config_path: Path, toml: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_file(config_path, toml)


def test_the_vault_master_key_variable_is_known_but_never_a_setting() -> None:
    from llmgw_desktop.config.settings import SECRET_ENV_VARS
    from llmgw_desktop.engine.vault import ENV_VAR

    loaded = load_settings(environ={ENV_VAR: "0" * 64, "LLM_GATEWAY_CONFIG": "/nonexistent"})
    assert ENV_VAR in SECRET_ENV_VARS
    assert ENV_VAR not in loaded.unknown_env
    assert "0" * 64 not in repr(loaded.settings)


def test_a_workspace_table_carries_what_remote_callers_may_do(config_path: Path) -> None:
    s = from_file(
        config_path,
        '[workspaces]\nremote_level = "read-only"\n'
        '[workspaces.registry]\napi = "/srv/api"\n'
        '[workspaces.registry.web]\npath = "/srv/web"\nremote_level = "commands"\n'
        'remote_allowed_tools = ["Bash(npm test)"]\n',
    ).settings
    assert s.workspaces.registry["api"] == "/srv/api"
    assert s.workspaces.registry["web"] == {
        "path": "/srv/web",
        "remote_level": "commands",
        "remote_allowed_tools": ["Bash(npm test)"],
    }
    assert s.workspaces.remote_level == "read-only" and s.workspaces.remote_allowed_tools == []


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[workspaces]\nremote_level = "bypass"\n', "one workspace at a time"),
        ('[workspaces]\nremote_level = "everything"\n', "must be one of"),
        ('[workspaces.registry.web]\npath = "/w"\nremote_level = "root"\n', "remote_level"),
        ('[workspaces.registry.web]\nremote_level = "edit"\n', "needs path"),
        ('[workspaces.registry.web]\npath = "/w"\nsandbox = "off"\n', "unknown field"),
        (
            '[workspaces.registry.web]\npath = "/w"\nremote_allowed_tools = ["-x"]\n',
            "not a tool name",
        ),
        # A grant of any command, or of any arguments to one, is a shell for remote callers.
        ('[workspaces]\nremote_allowed_tools = ["Bash"]\n', "any command"),
        (
            '[workspaces.registry.web]\npath = "/w"\nremote_allowed_tools = ["Bash(npm:*)"]\n',
            "exact",
        ),
        ('[workspaces.registry.web]\npath = "/w"\nremote_allowed_tools = ["shell(*)"]\n', "bypass"),
        ('[workspaces]\nremote_mcp_servers = ["bad name"]\n', "not an MCP server name"),
        ('[workspaces.registry.web]\npath = "/w"\nremote_mcp_servers = "docs"\n', "a list"),
    ],
)
def test_bad_remote_grants_are_refused(config_path: Path, toml: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_file(config_path, toml)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[providers.pass_env]\nclaude = ["LLM_GATEWAY_MASTER_KEY"]\n', "no child process"),
        ('[providers.pass_env]\nclaude = ["PG*"]\n', "no child process"),
        ('[providers.pass_env]\nclaude = ["AWS PROFILE"]\n', "not a variable name"),
        ('[providers.pass_env]\nclaude = "AWS_PROFILE"\n', "list of variable names"),
        ('[providers.pass_env]\nclaud = ["AWS_PROFILE"]\n', "not a CLI"),
    ],
)
def test_bad_pass_env_entries_are_refused(config_path: Path, toml: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_file(config_path, toml)


def test_store_url_selects_postgresql_and_defaults_to_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().settings.store.url == ""
    monkeypatch.setenv("LLM_GATEWAY_DB_URL", "postgresql://llmgw@db.internal:5432/llmgw")
    assert load_settings().settings.store.url == "postgresql://llmgw@db.internal:5432/llmgw"


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "sqlite:///tmp/x.db", "postgresql://u@h", "postgresql:///db"]
)
def test_store_url_of_another_shape_is_a_config_error_naming_the_setting(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_DB_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.key == "store.url"


def test_unmetered_clis_are_none_by_default_and_name_clis_and_added_agents(
    config_path: Path,
) -> None:
    assert Settings().providers.unmetered_clis == []  # fail closed
    loaded = from_file(
        config_path,
        '[providers]\nunmetered_clis = ["codex", "gemini-acp", "mine"]\n'
        '[providers.acp.mine]\ncommand = "mine-agent"\n',
    )
    assert loaded.settings.providers.unmetered_clis == ["codex", "gemini-acp", "mine"]
    env = {"LLM_GATEWAY_CONFIG": "/nonexistent.toml", "LLM_GATEWAY_UNMETERED_CLIS": "codex, grok"}
    assert load_settings(environ=env).settings.providers.unmetered_clis == ["codex", "grok"]
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={**env, "LLM_GATEWAY_UNMETERED_CLIS": "codex,gemni"})
    assert caught.value.key == "providers.unmetered_clis"
    assert "unknown CLI 'gemni';" in str(caught.value) and "env LLM_GATEWAY_UNMETERED_CLIS" in str(
        caught.value
    )


def test_disabled_providers_may_name_api_providers_local_servers_and_added_servers(
    config_path: Path,
) -> None:
    loaded = from_file(
        config_path,
        '[providers]\ndisabled = ["codex", "openai", "mistral-api", "ollama", "mine"]\n'
        '[gateway.providers.mine]\nbase_url = "http://127.0.0.1:9/v1"\n',
    )
    assert loaded.settings.providers.disabled == [
        "codex",
        "openai",
        "mistral-api",
        "ollama",
        "mine",
    ]


def test_the_port_answers_to_the_seeds_older_name() -> None:
    """mcp-llm-bridge's `LLM_GATEWAY_PORT` moves the gateway (it stayed on 3333)."""
    env = {"LLM_GATEWAY_CONFIG": "/nonexistent.toml", "LLM_GATEWAY_PORT": "3456"}
    loaded = load_settings(environ=env)
    assert loaded.settings.http.port == 3456
    assert loaded.sources["http.port"] == "env LLM_GATEWAY_PORT"
    assert "LLM_GATEWAY_PORT" not in loaded.unknown_env
    # Both names, the same port: fine, read from the gateway's own name.
    same = load_settings(environ={**env, "LLM_GATEWAY_HTTP_PORT": "3456"})
    assert same.sources["http.port"] == "env LLM_GATEWAY_HTTP_PORT"
    # A bad value is named with the variable it came from.
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={**env, "LLM_GATEWAY_PORT": "http"})
    assert caught.value.source == "env LLM_GATEWAY_PORT"


def test_two_names_of_one_setting_set_differently_refuse_naming_both() -> None:
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent.toml",
        "LLM_GATEWAY_HTTP_PORT": "3333",
        "LLM_GATEWAY_PORT": "3456",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert caught.value.key == "http.port"
    assert "LLM_GATEWAY_HTTP_PORT=3333" in str(caught.value)
    assert "LLM_GATEWAY_PORT=3456" in str(caught.value)


RULES_TOML = """
[guard.rules.pipe-to-shell]
pattern = '\\b(?:curl|wget)\\b[^|\\n]*\\|\\s*(?:sudo\\s+)?(?:ba|z)?sh\\b'
action = "block"
description = "a download piped into a shell"

[guard.rules.ignore-instructions]
pattern = 'ignore (?:all )?previous instructions'
action = "ask"
ignore_case = false
providers = { ollama = "off" }
keys = { "key:ci-bot" = "block" }
"""


def test_guard_rules_are_read_as_typed_rules_in_order(config_path: Path) -> None:
    guard = from_file(config_path, RULES_TOML).settings.guard
    shell, ignore = guard.rule_list()
    assert (shell.name, shell.action, shell.description) == (
        "pipe-to-shell",
        "block",
        "a download piped into a shell",
    )
    assert shell.ignore_case and shell.compiled().search("CURL https://x.sh | BASH")
    assert (ignore.name, ignore.action, ignore.ignore_case) == ("ignore-instructions", "ask", False)
    assert ignore.providers == {"ollama": "off"} and ignore.keys == {"key:ci-bot": "block"}
    assert ignore.compiled().search("Ignore previous instructions") is None
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent.toml",
        "LLM_GATEWAY_GUARD_RULES": '{"x": {"pattern": "rm -rf /", "action": "warn"}}',
    }
    (from_env,) = load_settings(environ=env).settings.guard.rule_list()
    assert (from_env.name, from_env.pattern, from_env.action) == ("x", "rm -rf /", "warn")


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[guard.rules.x]\npattern = "a("\naction = "block"\n', "not a regular expression"),
        ('[guard.rules.x]\npattern = "a*"\naction = "block"\n', "matches an empty text"),
        ('[guard.rules.x]\npattern = "rm"\naction = "redact"\n', "cannot redact"),
        ('[guard.rules.x]\npattern = "rm"\naction = "stop"\n', "must be one of off, warn"),
        ('[guard.rules.x]\npattern = "rm"\n', "needs action"),
        ('[guard.rules.x]\naction = "warn"\n', "needs pattern"),
        ('[guard.rules.x]\npattern = "rm"\naction = "warn"\nflags = 1\n', "not a rule's field"),
        ('[guard.rules."Bad Name"]\npattern = "rm"\naction = "warn"\n', "a rule's name"),
        ('[guard.rules.x]\npattern = 3\naction = "warn"\n', "pattern must be a str"),
        (
            '[guard.rules.x]\npattern = "rm"\naction = "warn"\nkeys = { bob = "block" }\n',
            "not a principal id",
        ),
        (
            '[guard.rules.x]\npattern = "rm"\naction = "warn"\nproviders = { openai = "redact" }\n',
            "guard.rules.x.providers.openai: a rule cannot redact",
        ),
    ],
)
def test_bad_guard_rules_are_refused_naming_the_rule(
    config_path: Path, toml: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        from_file(config_path, toml)


def test_every_secret_setting_reads_its_value_from_the_file_its_FILE_variable_names(
    tmp_path: Path,
) -> None:
    """A container's secret is a file: `X_FILE` names it for every secret setting `X`."""
    secrets = [d for d in declared_settings() if d.secret]
    assert {"http.auth_token", "store.password"} <= {d.key for d in secrets}
    token = "t" * 40
    (tmp_path / "token").write_text(token + "\n")  # as `echo` writes a secret
    (tmp_path / "password").write_text("pg pass word\n")
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent",
        "LLM_GATEWAY_AUTH_TOKEN_FILE": str(tmp_path / "token"),
        "LLM_GATEWAY_DB_PASSWORD_FILE": str(tmp_path / "password"),
    }
    loaded = load_settings(environ=env)
    assert loaded.settings.http.auth_token == token
    assert loaded.settings.store.password == "pg pass word"
    assert loaded.sources["http.auth_token"] == "env LLM_GATEWAY_AUTH_TOKEN_FILE"
    assert loaded.unknown_env == ()


def test_a_FILE_variable_for_a_setting_that_is_no_secret_is_unknown() -> None:
    loaded = load_settings(
        environ={"LLM_GATEWAY_CONFIG": "/nonexistent", "LLM_GATEWAY_HTTP_PORT_FILE": "/x"}
    )
    assert loaded.unknown_env == ("LLM_GATEWAY_HTTP_PORT_FILE",)
    assert loaded.settings.http.port == 3333


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"LLM_GATEWAY_AUTH_TOKEN": "u" * 40}, "not both"),
        ({"LLM_GATEWAY_AUTH_TOKEN_FILE": "/nonexistent/token"}, "cannot read the file"),
    ],
)
def test_a_secret_file_that_cannot_be_used_stops_the_start_naming_it(
    tmp_path: Path, extra: dict[str, str], words: str
) -> None:
    (tmp_path / "token").write_text("t" * 40)
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent",
        "LLM_GATEWAY_AUTH_TOKEN_FILE": str(tmp_path / "token"),
    }
    with pytest.raises(ConfigError, match=words) as caught:
        load_settings(environ=env | extra)
    assert caught.value.key == "http.auth_token"
    assert "t" * 40 not in str(caught.value) and "u" * 40 not in str(caught.value)


def test_a_store_password_beside_one_in_the_url_is_refused() -> None:
    env = {
        "LLM_GATEWAY_CONFIG": "/nonexistent",
        "LLM_GATEWAY_DB_URL": "postgresql://llmgw:inline@db:5432/llmgw",
        "LLM_GATEWAY_DB_PASSWORD": "apart",
    }
    with pytest.raises(ConfigError, match="one place") as caught:
        load_settings(environ=env)
    assert caught.value.key == "store.password"
    assert "inline" not in str(caught.value) and "apart" not in str(caught.value)


@pytest.mark.parametrize(
    ("in_all", "per_provider", "note"),
    [
        (
            8,
            50,
            "50 calls at once per provider can never be reached: at most 8 run at once in all, "
            "so 8 is the limit for each provider too.",
        ),
        (8, 8, None),  # one provider alone may reach both
        (8, 4, None),
        (0, 50, None),  # a refused limit in all: its refusal is what is said
    ],
)
def test_a_limit_per_provider_above_the_limit_in_all_is_said_to_be_moot_not_refused(
    config_path: Path, in_all: int, per_provider: int, note: str | None
) -> None:
    from llmgw_desktop.config.settings_jobs import moot_limit

    assert moot_limit(in_all, per_provider) == note
    if note is not None:  # not wrong, only moot: the file loads as it is
        loaded = from_file(
            config_path, f"[jobs]\nmax_concurrent = {in_all}\nmax_concurrent_per_provider = 50\n"
        )
        assert loaded.settings.jobs.max_concurrent_per_provider == 50
