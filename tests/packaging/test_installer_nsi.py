"""installer.nsi compiles with Debian's makensis (3.08), warnings counted as errors.

Running the installer needs Windows; what it would do (registry values, shortcuts, quitting
the running app) is read here from the script, and the `quit` it runs is tested for real in
tests/e2e/test_quit_command.py. CI installs nsis, so there a missing makensis fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "installer.nsi"
VERSION = re.search(
    r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M
)
MAKENSIS = shutil.which("makensis")


def _require_makensis() -> str:
    if MAKENSIS is None:
        if os.environ.get("CI"):
            pytest.fail("makensis is missing: .ci/run installs the nsis package")
        pytest.skip("makensis not installed (apt install nsis)")
    return MAKENSIS


def test_installer_compiles_with_makensis(tmp_path: Path) -> None:
    makensis = _require_makensis()
    assert VERSION is not None
    bundle = tmp_path / "llmgw-desktop"  # a stand-in bundle: the script only packs files
    (bundle / "_internal").mkdir(parents=True)
    for name in ("llmgw-desktop.exe", "llmgw-desktop-cli.exe", "_internal/base_library.zip"):
        (bundle / name).write_bytes(b"stand-in")
    out = tmp_path / f"llmgw-desktop-{VERSION[1]}-setup.exe"
    result = subprocess.run(
        [
            makensis,
            "-V2",
            "-WX",  # a warning fails the build
            f"-DVERSION={VERSION[1]}",
            f"-DDIST_DIR={bundle}",
            f"-DOUT_FILE={out}",
            str(SCRIPT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes()[:2] == b"MZ"  # a Windows executable


def test_installer_without_a_version_says_how_to_pass_it(tmp_path: Path) -> None:
    makensis = _require_makensis()
    result = subprocess.run(
        [makensis, "-V1", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "-DVERSION=" in result.stdout + result.stderr


def test_installer_registers_uninstall_entry_and_the_apps_own_login_value() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "RequestExecutionLevel user" in text and "$LOCALAPPDATA\\Programs" in text
    for value in (
        "DisplayName",
        "DisplayVersion",
        "Publisher",
        "DisplayIcon",
        "UninstallString",
        "EstimatedSize",
    ):
        assert f'"${{UNINSTALL_KEY}}" "{value}"' in text, value
    # The value llmgw_desktop/autostart.py reads and writes, so the switches agree with it.
    assert (
        'WriteRegStr HKCU "${RUN_KEY}" "${APPNAME}" \'"$INSTDIR\\${APPNAME}.exe" --hidden\'' in text
    )
    assert 'DeleteRegValue HKCU "${RUN_KEY}" "${APPNAME}"' in text
    # The running app is asked to quit before files are replaced, and before removal.
    assert text.count("Call QuitRunningApp") == 1 and text.count("Call un.QuitRunningApp") == 1
    assert "quit --wait" in text
