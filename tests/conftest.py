"""Shared test setup: headless Qt, and an isolated home for every test's settings and data."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need (or have) a real display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail

# pydantic, whole, before Qt. pytest-qt imports PySide6 at configure time (after this initial
# conftest), and PySide6 then inspects every module imported after it for its source
# (`shibokensupport.feature`), which calls `hasattr(module, "__wrapped__")`. On a pydantic
# module that reaches its deprecated-name `__getattr__`, which imports
# `pydantic._internal._validators`: when that is the module being imported at that moment, the
# import fails ("cannot import name 'import_string' from partially initialized module"). Which
# test file first imports pydantic decides whether it happens, so a subset of the tests could
# fail to collect. Imported here, pydantic is complete before PySide6 installs its hook.
import pydantic
import pydantic._internal._validators
import pydantic.main  # noqa: F401
import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS, CLOUD_ENV_NAMES
from llmgw_desktop.config.settings import LoadedSettings, load_settings
from tests import vendor_path
from tests.fakes.upstream import ScriptedUpstream

# The throwaway PostgreSQL cluster and the fixtures that run a store test on both engines.
from tests.postgres import new_database, postgres_cluster, store_engine  # noqa: F401

# The end-of-run line counting the tests skipped for a missing vendor CLI.
from tests.skip_summary import pytest_terminal_summary  # noqa: F401

# The end-of-run list of the tests that cost the most CPU (tests/cpu_cost.py), and how many
# workers `-n auto` starts (tests/workers.py).
pytest_plugins = ["tests.cpu_cost", "tests.workers"]

# A developer's shell may hold real API keys and base URLs; the gateway picks those up by
# design, so tests must never see them.
PROVIDER_ENV = frozenset(
    name for spec in API_PROVIDERS for name in (*spec.key_env, spec.base_url_env) if name
) | frozenset(CLOUD_ENV_NAMES)


@pytest.fixture(scope="session", autouse=True)
def no_app_left_running() -> Iterator[None]:
    """No app a test started as a child process (`tests/e2e/gateway_process.start`) outlives
    the run, though the test failed before it stopped it."""
    yield
    from tests.e2e import gateway_process

    gateway_process.stop_left_running()


@pytest.fixture(scope="session", autouse=True)
def no_os_keyring() -> None:
    """The vault must never write a test's master key into the developer's real keyring."""
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture(scope="session")
def path_without_vendor_clis(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This machine's PATH without the vendor CLIs (`tests/vendor_path.py`), made once a
    session: a developer's own `claude` on PATH would be found by tests that say no CLI is
    installed (those that need one name the repository's own copy)."""
    return vendor_path.path_without_vendor_clis(
        lambda: tmp_path_factory.mktemp("path-without-vendor-clis")
    )


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_without_vendor_clis: str
) -> Iterator[Path]:
    """Point every path the app uses into this test's tmp dir and drop inherited settings."""
    monkeypatch.setenv("PATH", path_without_vendor_clis)
    for name in list(os.environ):
        if name.startswith("LLM_GATEWAY_") or name == "SYNC_DEADLINE_MS" or name in PROVIDER_ENV:
            monkeypatch.delenv(name)
    # The clouds' credential chains must not find the developer's own (~/.aws, gcloud's ADC)
    # nor ask a cloud's instance-metadata address, which is no loopback address.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    # Entra ID tries only the environment's credential: its managed-identity probe would ask
    # the instance-metadata address too.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    # Probing this machine's ports for Ollama and friends would make tests depend on it.
    monkeypatch.setenv("LLM_GATEWAY_DETECT_LOCAL", "false")
    # Reading providers' model lists would reach the internet for any key without a base URL
    # override, and add model-list requests to the fake upstream's log; tests that read lists
    # switch it on.
    monkeypatch.setenv("LLM_GATEWAY_MODELS_REFRESH_S", "0")
    monkeypatch.setenv("LLM_GATEWAY_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("LLM_GATEWAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLM_GATEWAY_LOG_DIR", str(tmp_path / "log"))
    # Start at login and the menu entry write under these: never the developer's own.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    yield tmp_path
    # The secrets a test's gateway knew are its process's own (`redact.known_secrets`): a
    # later test is a fresh process, or a master key of "x"s masks every later "xxx".
    from llmgw_desktop.engine.redact import known_secrets

    known_secrets.clear()


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedUpstream]:
    """The scripted fake LLM API on loopback (tests/fakes/upstream), closed after the test."""
    async with ScriptedUpstream() as up:
        yield up


@pytest.fixture
def workspace_admin_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's opt-in that lets a remote caller granted `workspace:admin` make and
    register workspaces."""
    from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN

    monkeypatch.setenv(ADMIN_OPT_IN, "1")


@pytest.fixture
def config_path(isolated_env: Path) -> Path:
    path = isolated_env / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def loaded(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedSettings:
    """Settings for this test, on a port the OS picks so tests never collide."""
    monkeypatch.setenv("LLM_GATEWAY_HTTP_PORT", "0")
    return load_settings()
