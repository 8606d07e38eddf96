"""`llmgw-desktop install-desktop`: the menu entry and icons in a temporary XDG_DATA_HOME."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from llmgw_desktop.shell.autostart import autostart_for_platform
from llmgw_desktop.shell.cli.main import main
from llmgw_desktop.shell.linux_install import ICON_SIZES, DesktopInstall

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG desktops")


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_install_places_entry_and_icons_with_the_absolute_command(
    xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install-desktop"]) == 0
    data = xdg / "data"
    entry = (data / "applications" / "llmgw-desktop.desktop").read_text(encoding="utf-8")
    python = str(Path(sys.executable).absolute())
    assert f"Exec={python} -m llmgw_desktop\n" in entry
    assert "Icon=llmgw-desktop\n" in entry and "Type=Application\n" in entry
    for size in ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "llmgw-desktop.png"
        assert _png_size(icon) == (size, size)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "llmgw-desktop.svg").exists()
    out = capsys.readouterr().out
    assert "installed 10 file(s)" in out and f"starts: {python} -m llmgw_desktop" in out


def test_uninstall_removes_what_install_wrote_and_the_login_entry(
    xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install-desktop"]) == 0
    login = autostart_for_platform()
    login.enable()
    assert main(["install-desktop", "--uninstall"]) == 0
    place = DesktopInstall(xdg / "data")
    assert not any(path.exists() for path in place.files())
    assert not login.is_enabled()
    assert "removed 11 file(s)" in capsys.readouterr().out
    assert main(["install-desktop", "--uninstall"]) == 0  # nothing left: still fine


def test_unwritable_data_home_is_a_clear_error(
    xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (xdg / "data").write_text("a file where a directory should be")
    assert main(["install-desktop"]) == 1
    err = capsys.readouterr().err
    assert "could not change the menu entry" in err and "Traceback" not in err
