"""A CLI started for anyone holds its own variables, never the gateway's (issue 26, item 2).

The gateway's environment holds the vault master key, the operator's bearer token, the store's
password and every provider's API key; a CLI used to inherit all of it, so a model that ran
`env` for a remote caller handed them over. Here the real CLIs run behind the recording shims
of `_power_support.py`, which write down the whole environment each one started with, while
the gateway's own environment holds planted secrets. Each CLI must still answer (the offline
upstream is reached with its own family's variables), and must hold none of the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.providers.confinement import cannot_confine
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.security._power_support import (  # noqa: F401 - fixtures
    PROVIDERS,
    RecordingClis,
    StartRecording,
    local_mcp,
    oauth_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    oauth_settings,
    start,
)

pytestmark = pytest.mark.contract

# The gateway's own secrets and other people's keys, planted in the gateway's environment.
PLANTED = {
    "LLM_GATEWAY_MASTER_KEY": "a" * 64,
    "LLM_GATEWAY_AUTH_TOKEN": "planted-operator-bearer-9f8e7d6c5b4a",
    "LLM_GATEWAY_DB_URL": "postgresql://llmgw:planted-db-password@127.0.0.1/llmgw",
    "PGPASSWORD": "planted-db-password",
    "GROQ_API_KEY": "gsk_planted_groq_key",
    "OPENROUTER_API_KEY": "sk-or-planted",
    "AWS_SECRET_ACCESS_KEY": "planted-aws-secret",
    "DEPLOY_TOKEN": "planted-deploy-token",
}
# Each CLI's own credential in the offline set-up (`tests/contract/offline.py`), and a
# credential of another family that it must not get.
OWN_AND_FOREIGN = {
    "claude": ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"),
    "codex": ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
    "gemini": ("GEMINI_API_KEY", "OPENAI_API_KEY"),
    "copilot": ("COPILOT_PROVIDER_API_KEY", "ANTHROPIC_API_KEY"),
    "opencode": ("OPENCODE_DISABLE_AUTOUPDATE", "GEMINI_API_KEY"),
    "mistral": ("VIBE_TEST_BASE_URL", "ANTHROPIC_API_KEY"),
    "grok": ("XAI_API_KEY", "ANTHROPIC_API_KEY"),
}


@pytest.fixture
async def planted(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[GatewayRuntime, RecordingClis]:
    """A locked gateway with recording CLIs, started with secrets in its environment."""
    monkeypatch.setenv("AWS_PROFILE", "operators-profile")
    (tmp_path / "web").mkdir()
    gateway, clis = await start_recording(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 120_000,
            "workspaces.registry": {"web": str(tmp_path / "web")},
            "providers.pass_env": {"claude": ["AWS_PROFILE"]},
        },
    )
    # Planted after start-up: the settings were read already; only the children could see them.
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    return gateway, clis


# Codex runs for remote callers only in a bypass workspace (`cannot_confine`): the local
# user's test below covers it.
@pytest.mark.parametrize("provider", [p for p in PROVIDERS if not cannot_confine(p)])
async def test_a_cli_run_for_a_remote_caller_gets_only_its_own_variables(
    provider: str, planted: tuple[GatewayRuntime, RecordingClis]
) -> None:
    gateway, clis = planted
    require(provider)
    async with oauth_mcp(gateway) as client:
        failed, body = await request(client, provider, workspace="web")
    assert not failed, body  # the CLI still reaches its upstream with what it was given
    (spawn,) = clis.runs(provider)
    leaked = {n for n, v in spawn.all_env.items() if n in PLANTED or v in PLANTED.values()}
    assert leaked == set(), leaked
    own, foreign = OWN_AND_FOREIGN[provider]
    assert own in spawn.all_env and foreign not in spawn.all_env, sorted(spawn.all_env)
    assert {"PATH", "HOME"} <= set(spawn.all_env)
    # The operator's addition reaches only the CLI it was added for.
    assert ("AWS_PROFILE" in spawn.all_env) == (provider == "claude")


@pytest.mark.parametrize("provider", ["claude", "codex"])
async def test_the_local_users_calls_get_the_same_allow_list(
    provider: str, planted: tuple[GatewayRuntime, RecordingClis]
) -> None:
    # The local user's own CLI calls are no exception: a prompt injected into a file the
    # model reads works on them too.
    gateway, clis = planted
    require(provider)
    async with local_mcp(gateway) as client:
        failed, body = await request(client, provider)
    assert not failed, body
    (spawn,) = clis.runs(provider)
    assert not set(PLANTED) & set(spawn.all_env)
    own, foreign = OWN_AND_FOREIGN[provider]
    assert own in spawn.all_env and foreign not in spawn.all_env
