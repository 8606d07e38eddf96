"""Start-up refuses configurations that would open the gateway to the network, and the
password-hashing command makes hashes the consent page accepts. Each case runs the real
`python -m llmgw_desktop` in a child process, isolated from this machine's settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from llmgw_desktop.engine.auth.hashing import verify_password
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG
from tests.child_python import run_python

CHILD_TIMEOUT_S = 30  # a refusal takes a second or two; a gateway that started would hang
STRONG_TOKEN = "a-strong-bearer-token-0123456789-abcdefghijkl"


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m llmgw_desktop ARGS` with this environment, bounded in time."""
    return run_python("-m", "llmgw_desktop", *args, env=env, stdin=stdin, timeout_s=CHILD_TIMEOUT_S)


@pytest.fixture
def child_env(isolated_env: Path) -> dict[str, str]:
    """The isolated environment (tmp config, data and log dirs) with a free port."""
    env = dict(os.environ)  # isolated_env already pointed every path into tmp_path
    env["LLM_GATEWAY_HTTP_PORT"] = "0"
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        pytest.param(
            {"LLM_GATEWAY_HTTP_HOST": "0.0.0.0"},
            ["'0.0.0.0'", "no authentication is configured", "LLM_GATEWAY_AUTH_TOKEN"],
            id="non-loopback bind without auth",
        ),
        pytest.param(
            {
                "LLM_GATEWAY_OAUTH_ENABLED": "true",
                "LLM_GATEWAY_OAUTH_ALLOW_PUBLIC_CLIENTS": "true",
                "LLM_GATEWAY_PUBLIC_URL": "https://gateway.example.com",
            },
            ["public clients", "https://gateway.example.com", "LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG"],
            id="public clients with a public URL",
        ),
        pytest.param(
            {
                "LLM_GATEWAY_HTTP_HOST": "0.0.0.0",
                "LLM_GATEWAY_AUTH_TOKEN": STRONG_TOKEN,
                "LLM_GATEWAY_OAUTH_ENABLED": "true",
                "LLM_GATEWAY_OAUTH_REGISTRATION": "open_dev",
                "LLM_GATEWAY_OAUTH_ALLOW_OPEN_REGISTRATION": "1",
            },
            ["open registration", "LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG"],
            id="open registration on a non-loopback bind",
        ),
        pytest.param(
            {"LLM_GATEWAY_AUTH_TOKEN": "short-token-1234"},
            ["http.auth_token", "at least 32"],
            id="short bearer token",
        ),
    ],
)
def test_dangerous_config_refuses_to_start(
    child_env: dict[str, str], settings: dict[str, str], named: list[str]
) -> None:
    result = run_cli("--headless", env=child_env | settings)
    assert result.returncode == EXIT_CONFIG, (result.stdout, result.stderr)
    for words in named:
        assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "running headless" not in result.stdout
    for secret in (STRONG_TOKEN, "short-token-1234"):
        assert secret not in result.stderr + result.stdout  # a refusal never echoes the token


def test_hash_password_command(child_env: dict[str, str]) -> None:
    password = "correct horse battery staple"
    result = run_cli("hash-password", env=child_env, stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert stored.startswith("scrypt$") and password not in result.stdout
    assert verify_password(password, stored)
    assert not verify_password(password + "!", stored)
    short = run_cli("hash-password", env=child_env, stdin="short\n")
    assert short.returncode != 0 and "at least" in short.stderr
