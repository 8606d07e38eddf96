"""Naming what Qt's window lacks: the libraries the loader cannot load for a platform plugin,
and the package that brings each on Debian/Ubuntu, Fedora and Arch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmgw_desktop.shell.window_libraries import (
    WINDOW_PACKAGES,
    install_commands,
    install_hint,
    missing_named,
    unloadable_libraries,
)
from llmgw_desktop.shell.window_probe import qt_import_problem, why_no_window

QT = Path(__import__("PySide6").__file__).parent / "Qt"
XCB_PLUGIN = QT / "plugins" / "platforms" / "libqxcb.so"
# What a copy of the xcb plugin away from Qt's libraries cannot find, in the loader's order.
QT_LIBRARIES = ("libQt6XcbQpa.so.6", "libQt6Gui.so.6", "libQt6Core.so.6")


def test_a_stock_debian_desktop_s_missing_pair_names_each_distribution_s_packages() -> None:
    assert install_commands(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]) == [
        "Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1",
        "Fedora: sudo dnf install xcb-util-wm xcb-util-keysyms",
        "Arch: sudo pacman -S xcb-util-wm xcb-util-keysyms",
    ]
    # Several libraries of one package name it once; an unknown library adds nothing.
    assert install_hint(["libxcb-randr.so.0", "libxcb-shm.so.0", "libfoo.so.1"]) == (
        "Debian/Ubuntu: sudo apt install libxcb-randr0 libxcb-shm0; "
        "Fedora: sudo dnf install libxcb; Arch: sudo pacman -S libxcb"
    )
    assert install_hint(["libfoo.so.1"]) == ""
    assert len(install_commands(WINDOW_PACKAGES)) == 3


@pytest.mark.skipif(not XCB_PLUGIN.is_file() or not shutil.which("ldd"), reason="Linux wheel")
def test_a_plugin_away_from_the_library_it_links_names_that_library_missing(
    tmp_path: Path,
) -> None:
    """A copy of the xcb plugin whose `$ORIGIN/../../lib` holds nothing: the loader cannot find
    Qt's own libraries it links (a real `not found`, as a missing libxcb-icccm4 is)."""
    platforms = tmp_path / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    shutil.copy(XCB_PLUGIN, platforms)
    found = unloadable_libraries(platforms / "libqxcb.so")
    assert found == dict.fromkeys(QT_LIBRARIES, "missing")
    assert unloadable_libraries(tmp_path / "nothing.so") == {}


@pytest.mark.skipif(not XCB_PLUGIN.is_file() or not shutil.which("ldd"), reason="Linux wheel")
def test_qt_s_abort_is_read_for_the_plugin_and_its_libraries(tmp_path: Path) -> None:
    platforms = tmp_path / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    shutil.copy(XCB_PLUGIN, platforms)
    err = (
        "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt "
        'xcb platform plugin.\nqt.qpa.plugin: Could not load the Qt platform plugin "xcb" in '
        '"" even though it was found.\nThis application failed to start because no Qt platform '
        "plugin could be initialized. Reinstalling the application may fix this problem.\n"
    )
    said = why_no_window(f"plugins {tmp_path / 'plugins'}\n", err, -6, {})
    assert said == (
        "no window: Qt's xcb platform plugin cannot load: libQt6XcbQpa.so.6, libQt6Gui.so.6 and "
        "libQt6Core.so.6 are missing"
    )
    refused = "qt.qpa.xcb: could not connect to display host:10.0\n" + err
    assert why_no_window("", refused, -6, {}).startswith(
        "no window: the X display host:10.0 did not accept a connection"
    )


def test_a_qt_that_cannot_be_imported_names_the_missing_library_s_package() -> None:
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    assert missing_named(str(error)) == ["libEGL.so.1"]
    assert qt_import_problem(error) == (
        f"no window: Qt could not be loaded ({error}) (Debian/Ubuntu: sudo apt install libegl1; "
        "Fedora: sudo dnf install libglvnd-egl; Arch: sudo pacman -S libglvnd)"
    )
