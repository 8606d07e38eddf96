"""Start-up refusal (`policy.startup_problems`): a table of configurations, each safe or
refused with a message naming what is wrong."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from llmgw_desktop.config.settings import ConfigError, LoadedSettings, Settings, load_settings
from llmgw_desktop.engine.auth.policy import OPEN_REGISTRATION_OPT_IN, startup_problems

TOKEN = "policy-test-token-Vq3xK9pLm2Zr7TnW4bYc8"  # random enough: a weak one is refused
OPT_IN = {OPEN_REGISTRATION_OPT_IN: "1"}
PUBLIC: dict[str, Any] = {"http.oauth.enabled": True, "http.oauth.allow_public_clients": True}
OPEN_DEV: dict[str, Any] = {"http.oauth.enabled": True, "http.oauth.registration": "open_dev"}
WIDE: dict[str, Any] = {"http.host": "0.0.0.0", "http.auth_token": TOKEN}
PUBLIC_URL: dict[str, Any] = {"http.public_url": "https://gw.example.com"}
DANGEROUS: dict[str, Any] = {"http.allow_dangerous_config": True}

# (id, settings overrides, environment, refusal message fragment or None when safe)
CASES: list[tuple[str, dict[str, Any], dict[str, str], str | None]] = [
    ("loopback without auth is allowed", {}, {}, None),
    ("ipv6 loopback without auth is allowed", {"http.host": "::1"}, {}, None),
    ("localhost without auth is allowed", {"http.host": "localhost"}, {}, None),
    ("non-loopback bind without auth", {"http.host": "0.0.0.0"}, {}, "no authentication"),
    ("lan address without auth", {"http.host": "192.168.1.20"}, {}, "no authentication"),
    ("non-loopback bind with a token", WIDE, {}, None),
    (
        "non-loopback bind with oauth",
        {"http.host": "0.0.0.0", "http.oauth.enabled": True},
        {},
        None,
    ),
    ("public clients on loopback", PUBLIC, {}, None),
    ("public clients on a reachable bind", PUBLIC | WIDE, {}, "public clients"),
    ("public clients behind a public url", PUBLIC | PUBLIC_URL, {}, "public clients"),
    ("public clients with the override", PUBLIC | WIDE | DANGEROUS, {}, None),
    ("public url with the override", PUBLIC | PUBLIC_URL | DANGEROUS, {}, None),
    ("open_dev without the opt-in", OPEN_DEV, {}, OPEN_REGISTRATION_OPT_IN),
    ("open_dev with a false opt-in", OPEN_DEV, {OPEN_REGISTRATION_OPT_IN: "0"}, "open_dev"),
    ("open_dev with the opt-in on loopback", OPEN_DEV, OPT_IN, None),
    ("open_dev reachable", OPEN_DEV | WIDE, OPT_IN, "open registration"),
    ("open_dev behind a public url", OPEN_DEV | PUBLIC_URL, OPT_IN, "open registration"),
    ("open_dev reachable with the override", OPEN_DEV | WIDE | DANGEROUS, OPT_IN, None),
    ("the override does not replace the opt-in", OPEN_DEV | DANGEROUS, {}, "open_dev"),
    (
        "shared_secret without a secret",
        {"http.oauth.enabled": True, "http.oauth.registration": "shared_secret"},
        {},
        "registration_secret",
    ),
    (
        "shared_secret with a secret",
        {
            "http.oauth.enabled": True,
            "http.oauth.registration": "shared_secret",
            "http.oauth.registration_secret": TOKEN,
        },
        {},
        None,
    ),
    (
        "trusted header without the bearer token",
        {"http.trusted_principal_header": "X-Forwarded-User"},
        {},
        "trusted_principal_header",
    ),
    (
        "trusted header with the bearer token",
        {"http.trusted_principal_header": "X-Forwarded-User", "http.auth_token": TOKEN},
        {},
        None,
    ),
    (
        "headless consent without a password",
        {"http.oauth.enabled": True, "http.oauth.require_consent": True},
        {},
        "consent_password_hash",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "environ", "refusal"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_startup_problems(
    loaded: LoadedSettings,
    overrides: dict[str, Any],
    environ: dict[str, str],
    refusal: str | None,
) -> None:
    problems = startup_problems(loaded.settings.with_values(overrides), environ, desktop=False)
    if refusal is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert refusal in problems[0]


def test_consent_at_the_desk_needs_no_password(loaded: LoadedSettings) -> None:
    settings = loaded.settings.with_values(
        {"http.oauth.enabled": True, "http.oauth.require_consent": True}
    )
    assert startup_problems(settings, {}, desktop=True) == []


def test_every_problem_is_reported_at_once(loaded: LoadedSettings) -> None:
    settings = loaded.settings.with_values(
        {**OPEN_DEV | PUBLIC | WIDE, "http.trusted_principal_header": "X-User"}
    )
    problems = startup_problems(settings.with_values({"http.auth_token": ""}), {}, desktop=True)
    assert len(problems) == 3  # opt-in missing, open registration and public clients, header


@pytest.mark.parametrize("token", ["short", "x" * 31, "has a space" + "x" * 32])
def test_short_token_refuses(token: str) -> None:
    # The length is checked where the value is read, before start-up policy ever runs.
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"LLM_GATEWAY_AUTH_TOKEN": token})
    assert info.value.key == "http.auth_token"


def test_operator_override_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_GATEWAY_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("LLM_GATEWAY_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("LLM_GATEWAY_OAUTH_ENABLED", "1")
    monkeypatch.setenv("LLM_GATEWAY_OAUTH_ALLOW_PUBLIC_CLIENTS", "true")
    refused = load_settings().settings
    assert len(startup_problems(refused, {}, desktop=False)) == 1
    monkeypatch.setenv("LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG", "1")
    allowed = load_settings().settings
    assert startup_problems(allowed, {}, desktop=False) == []


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers which names were read."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("startup_problems must not scan the environment")

    def __len__(self) -> int:
        return len(self._values)


def test_the_decision_never_reads_host(loaded: LoadedSettings) -> None:
    # Nothing request-shaped goes in: only the settings, the environment and the mode.
    assert list(inspect.signature(startup_problems).parameters) == [
        "settings",
        "environ",
        "desktop",
    ]
    wide_open: Settings = loaded.settings.with_values({"http.host": "0.0.0.0", **OPEN_DEV})
    environ = RecordingEnviron(
        {"HTTP_HOST": "127.0.0.1", "Host": "localhost", "HOST": "127.0.0.1"} | OPT_IN
    )
    problems = startup_problems(wide_open, environ, desktop=False)
    assert any("open registration" in p for p in problems)
    assert environ.read <= {OPEN_REGISTRATION_OPT_IN}
