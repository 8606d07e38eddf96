"""Finding 14: a 32-character token of one repeated letter guarded a gateway on the network,
and nothing warned that it travelled over plain HTTP.

Start-up now refuses guessable static bearer tokens and registration secrets, saying why and
how to make a good one, and warns (log, stderr and `/health`) when the gateway is reachable
from the network without TLS in front. The estimate is tested as a table; the refusal and the
warning by starting the real `python -m llmgw_desktop --headless`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.policy import startup_problems, startup_warnings
from llmgw_desktop.engine.auth.token_strength import GOOD_SECRET_RECIPE, weakness
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG
from tests.ports import free_port

CHILD_TIMEOUT_S = 30
READY_TIMEOUT_S = 20.0
STRONG = "Yb3kQ9xL2mVt7RcN5wZp8HsJ4dFgA6eU1oKiTrW0qEs"
WEAK = [
    "a" * 32,
    "ab" * 16,
    "abc" * 11,
    "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz012345",
    "password" * 4,
    "bench-token-" + "x" * 40,
    "ABABABABABABABAB1234123412341234",
    "zyxwvutsrqponmlkjihgfedcba987654",
    "abcabcabcabcabcaXbcabcabcabcabcabcabc",
    "aabbaabbbababbabbaababbabababbbaabaabb",  # two letters, shuffled: too little variety
]


@pytest.mark.parametrize("secret", WEAK)
def test_guessable_secrets_are_named_weak(secret: str) -> None:
    why = weakness(secret)
    assert why is not None, secret
    assert "bits" in why


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_urlsafe(24),
        lambda: secrets.token_hex(32),
        lambda: str(uuid.uuid4()) + str(uuid.uuid4()),
    ],
    ids=["token_urlsafe(32)", "token_urlsafe(24)", "token_hex(32)", "two uuid4"],
)
def test_random_secrets_are_accepted(make: Any) -> None:
    # Hundreds of draws: a random secret of this size is never refused by bad luck.
    refused = [secret for secret in (make() for _ in range(300)) if weakness(secret)]
    assert refused == []


def test_exactly_128_random_bits_are_accepted_almost_always() -> None:
    # 32 hex characters hold exactly 128 bits; the threshold sits a little below that, so only
    # the rare draw with long chance repeats is refused (and told how to make another).
    refused = sum(1 for _ in range(2000) if weakness(secrets.token_hex(16)))
    assert refused <= 10


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_policy_refuses_a_weak_bearer_token(loaded: LoadedSettings, host: str) -> None:
    weak = loaded.settings.with_values({"http.host": host, "http.auth_token": "a" * 32})
    problems = startup_problems(weak, {}, desktop=False)
    assert len(problems) == 1, problems
    assert "http.auth_token" in problems[0] and "guessable" in problems[0]
    assert GOOD_SECRET_RECIPE in problems[0]
    assert "a" * 32 not in problems[0]  # the refusal never echoes the secret
    strong = loaded.settings.with_values({"http.host": host, "http.auth_token": STRONG})
    assert startup_problems(strong, {}, desktop=False) == []


def test_policy_refuses_a_weak_registration_secret(loaded: LoadedSettings) -> None:
    base = loaded.settings.with_values(
        {"http.oauth.enabled": True, "http.oauth.registration": "shared_secret"}
    )
    problems = startup_problems(
        base.with_values({"http.oauth.registration_secret": "0123456789" * 4}), {}, desktop=True
    )
    assert len(problems) == 1 and "registration_secret" in problems[0], problems
    assert GOOD_SECRET_RECIPE in problems[0]
    strong = base.with_values({"http.oauth.registration_secret": STRONG})
    assert startup_problems(strong, {}, desktop=True) == []


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        ({}, False),
        ({"http.host": "0.0.0.0", "http.auth_token": STRONG}, True),
        ({"http.public_url": "http://gw.example.com"}, True),
        ({"http.host": "0.0.0.0", "http.public_url": "https://gw.example.com"}, False),
        ({"http.public_url": "https://gw.example.com"}, False),
    ],
    ids=["loopback", "lan bind", "http public url", "tls proxy in front", "tls on loopback"],
)
def test_plain_http_on_the_network_is_warned_about(
    loaded: LoadedSettings, overrides: dict[str, Any], warned: bool
) -> None:
    warnings = startup_warnings(loaded.settings.with_values(overrides))
    assert bool(warnings) is warned
    if warned:
        assert "plain HTTP" in warnings[0] and "https" in warnings[0]


# -- the real server --------------------------------------------------------------------------


@pytest.fixture
def child_env(isolated_env: Path) -> dict[str, str]:
    env = dict(os.environ)  # isolated_env already pointed every path into tmp_path
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def run_refused(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "--headless"],
        capture_output=True,
        text=True,
        env=env,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            {"LLM_GATEWAY_HTTP_HOST": "0.0.0.0", "LLM_GATEWAY_AUTH_TOKEN": "a" * 32},
            "http.auth_token",
        ),
        ({"LLM_GATEWAY_AUTH_TOKEN": "0123456789" * 4}, "http.auth_token"),
        (
            {
                "LLM_GATEWAY_HTTP_HOST": "0.0.0.0",
                "LLM_GATEWAY_AUTH_TOKEN": STRONG,
                "LLM_GATEWAY_OAUTH_ENABLED": "true",
                "LLM_GATEWAY_OAUTH_REGISTRATION": "shared_secret",
                "LLM_GATEWAY_OAUTH_REGISTRATION_SECRET": "s" * 40,
            },
            "registration_secret",
        ),
    ],
    ids=["repeated letter on a lan bind", "digit sequence on loopback", "registration secret"],
)
def test_the_server_refuses_to_start_with_a_weak_secret(
    child_env: dict[str, str], settings: dict[str, str], named: str
) -> None:
    result = run_refused(child_env | {"LLM_GATEWAY_HTTP_PORT": "0"} | settings)
    assert result.returncode == EXIT_CONFIG, (result.stdout, result.stderr)
    assert named in result.stderr and "guessable" in result.stderr
    assert "secrets.token_urlsafe(32)" in result.stderr
    for secret in settings.values():
        if len(secret) >= 32:
            assert secret not in result.stderr + result.stdout


def wait_for_health(port: int) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return dict(json.loads(r.read()))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def serve(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Start the real headless gateway, read /health, stop it: (health, stderr)."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "llmgw_desktop", "--headless"],
        env=env | {"LLM_GATEWAY_HTTP_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_for_health(port)
    finally:
        child.send_signal(signal.SIGINT if os.name != "nt" else signal.CTRL_C_EVENT)
        try:
            _, stderr = child.communicate(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            _, stderr = child.communicate()
    return health, stderr


def test_the_server_starts_with_a_strong_token(child_env: dict[str, str]) -> None:
    health, stderr = serve(child_env | {"LLM_GATEWAY_AUTH_TOKEN": STRONG})
    assert health["status"] == "ok"
    assert health["plain_http"] is False  # loopback only: nothing crosses a network
    assert "plain HTTP" not in stderr


def test_the_server_warns_about_plain_http_on_the_network(child_env: dict[str, str]) -> None:
    # Published at an http:// URL (a proxy without TLS): the tokens cross the network in clear.
    health, stderr = serve(
        child_env
        | {"LLM_GATEWAY_AUTH_TOKEN": STRONG, "LLM_GATEWAY_PUBLIC_URL": "http://gw.example.test"}
    )
    assert health["plain_http"] is True
    assert "warning" in stderr and "plain HTTP" in stderr and "https://" in stderr
    behind_tls, stderr = serve(
        child_env
        | {"LLM_GATEWAY_AUTH_TOKEN": STRONG, "LLM_GATEWAY_PUBLIC_URL": "https://gw.example.test"}
    )
    assert behind_tls["plain_http"] is False
    assert "plain HTTP" not in stderr
