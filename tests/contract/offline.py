"""Point each real vendor CLI at the scripted upstream on loopback, with a private home.

Everything here is what a user would set up themselves (an API key, a base URL, the CLI's own
config file); the gateway under test adds nothing of its own. Outbound traffic other than to
loopback goes to a dead proxy, so a CLI that tries to reach the internet fails at once.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI_BIN = ROOT / ".clis" / "node_modules" / ".bin"
# The CLIs of the Python registry (xAI's Grok CLI, Mistral Vibe), each in a venv of its own;
# looked in first, so a community `grok` left in .clis/ is never taken for xAI's.
PY_CLI_BIN = ROOT / ".py-clis" / "bin"
CLI_DIRS = (PY_CLI_BIN, CLI_BIN)
# The ACP agents of `.ci/acp-agents` (Gemini CLI and OpenCode come from CLI_BIN).
ACP_BIN = ROOT / ".acp-agents" / "node_modules" / ".bin"
# Copilot unpacks ~235 MB on first run; sharing the cache keeps that to once per machine.
COPILOT_CACHE = ROOT / ".clis" / "copilot-cache"
REQUIRE_CLIS = os.environ.get("LLMGW_REQUIRE_CLIS") == "1"
DEAD_PROXY = "http://127.0.0.1:9"
# The skip reason; tests/skip_summary.py counts the skips by it at the end of a run.
MISSING_CLI_REASON = "{binary} is not installed (CI installs it into {where} via .ci/run)"


def find_cli(binary: str, where: Path | None = None) -> str:
    """The CLI's path; skips the test where it is not installed (fails instead in CI)."""
    dirs = [str(d) for d in ((where,) if where else CLI_DIRS)]
    found = shutil.which(binary, path=os.pathsep.join([*dirs, os.environ.get("PATH", "")]))
    if found is None:
        message = MISSING_CLI_REASON.format(binary=binary, where=" or ".join(dirs))
        if REQUIRE_CLIS:
            pytest.fail(message)
        pytest.skip(message)
    return found


def offline_environment(home: Path, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set up this process's environment (inherited by the CLIs) for offline runs."""
    for name, value in prepare_offline_home(home, base_url).items():
        monkeypatch.setenv(name, value)


def vibe_stand_in(monkeypatch: pytest.MonkeyPatch, home: Path, base_url: str) -> None:
    """Point the Mistral Vibe stand-in (tests/fakes/bin/vibe: the real one takes ~20 s a call)
    at the scripted upstream at `base_url`, its home at `home`, run by this interpreter."""
    monkeypatch.setenv("VIBE_HOME", str(home))
    monkeypatch.setenv("VIBE_TEST_BASE_URL", base_url)
    monkeypatch.setenv("VIBE_TEST_PYTHON", sys.executable)


def private_home(home: Path) -> dict[str, str]:
    """A private home for the CLIs, and a dead proxy for everything but loopback, so a CLI
    that tries to reach the internet fails at once."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(COPILOT_CACHE),
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "https_proxy": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


def prepare_offline_home(home: Path, base_url: str) -> dict[str, str]:
    """Write each CLI's config under `home`; returns the environment the CLIs need."""
    values = private_home(home) | {
        # Claude Code
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # Codex
        "CODEX_HOME": str(home / ".codex"),
        "OPENAI_API_KEY": "sk-test-key",
        # Gemini CLI
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GEMINI_API_KEY": "gemini-test-key",
        # xAI's Grok CLI: model calls (and its model list) to the base URL with the key as a
        # bearer; no update check. Its retries are off in its config below.
        "GROK_MODELS_BASE_URL": f"{base_url}/v1",
        "XAI_API_KEY": "xai-test-key",
        "GROK_DISABLE_AUTOUPDATER": "1",
        "GROK_TELEMETRY_ENABLED": "0",
        # Mistral Vibe: its provider and models are in its config below.
        "MISTRAL_API_KEY": "mistral-test-key",
        # Copilot (bring-your-own-key mode needs no GitHub login)
        "COPILOT_PROVIDER_BASE_URL": f"{base_url}/v1",
        "COPILOT_PROVIDER_TYPE": "openai",
        "COPILOT_PROVIDER_API_KEY": "sk-test-key",
        "COPILOT_MODEL": "gpt-5.4",
        "COPILOT_OFFLINE": "true",
        # OpenCode
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
    }
    COPILOT_CACHE.mkdir(parents=True, exist_ok=True)
    _write(
        home / ".codex" / "config.toml",
        f'''model = "gpt-5.5"
model_provider = "scripted"

[model_providers.scripted]
name = "scripted upstream"
base_url = "{base_url}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
supports_websockets = false
# The gateway retries on its own; the CLI's nested retry loops would take ~26 s on a 500.
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[features]
plugins = false
''',
    )
    _write(home / ".vibe" / "config.toml", VIBE_CONFIG.format(base_url=base_url))
    # The gateway retries on its own; grok's 8 retries take minutes on a 500.
    _write(home / ".grok" / "config.toml", "[models]\nmax_retries = 0\n")
    _write(
        home / ".gemini" / "settings.json",
        json.dumps(
            {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "privacy": {"usageStatisticsEnabled": False},
                "telemetry": {"enabled": False},
                "general": {
                    "enableAutoUpdate": False,
                    "enableAutoUpdateNotification": False,
                    "maxAttempts": 1,
                },
            }
        ),
    )
    _write(
        home / ".config" / "opencode" / "opencode.json",
        json.dumps(
            {
                "autoupdate": False,
                "share": "disabled",
                "provider": {
                    "anthropic": {"options": {"baseURL": f"{base_url}/v1", "apiKey": "sk-ant-test"}}
                },
                "model": "anthropic/claude-sonnet-4-5",
                "small_model": "anthropic/claude-haiku-4-5",
            }
        ),
    )
    return values


# Mistral Vibe's own config: an OpenAI-style provider at the upstream and two models on it
# (aliases of its own: a builtin alias such as `devstral-2` would take its built-in provider),
# its network extras off, and no retries (the gateway's own; vibe's take up to 300 s).
VIBE_CONFIG = """active_model = "scripted"
enable_telemetry = false
enable_update_checks = false
enable_auto_update = false
enable_connectors = false
api_retry_max_elapsed_time = 0

[[providers]]
name = "scripted"
api_base = "{base_url}/v1"
api_key_env_var = "MISTRAL_API_KEY"
api_style = "openai"
backend = "generic"

[[models]]
name = "fake-model"
provider = "scripted"
alias = "scripted"
input_price = 0.4
output_price = 2.0

[[models]]
name = "fake-model-b"
provider = "scripted"
alias = "scripted-b"

[session_logging]
enabled = true
"""


def vibe_reaches_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the dead proxy away for the real Mistral Vibe: its model calls to 127.0.0.1 went
    through the proxy whatever NO_PROXY said (observed with 3.0.3); its look-ups of outside
    hosts then fail on name resolution instead, as fast."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
