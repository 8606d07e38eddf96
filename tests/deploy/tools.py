"""The checkers the deployment files are validated with, and where they come from.

`.ci/run` installs podman-compose and kubernetes-validate (pinned) into `.deploy-tools/`, and
the Debian packages nginx and systemd; a test whose tool is missing is skipped, except under
CI (`CI=true`), where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["DEPLOY", "ROOT", "tool"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOOLS_BIN = ROOT / ".deploy-tools" / "bin"
REQUIRE_TOOLS = os.environ.get("CI", "").lower() == "true"


def tool(name: str) -> str:
    """The path of the checker `name`, from `.deploy-tools/bin` first, then PATH."""
    path = os.pathsep.join([str(TOOLS_BIN), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=path)
    if found is None:
        reason = f"{name} is not installed (.ci/run installs it)"
        if REQUIRE_TOOLS:
            pytest.fail(reason + "; CI=true")
        pytest.skip(reason)
    return found
