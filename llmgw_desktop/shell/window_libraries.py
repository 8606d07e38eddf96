"""Which system libraries Qt's window needs on Linux, which of them a platform plugin cannot
find, and which package brings each on Debian/Ubuntu, Fedora and Arch.

Qt's own message when its xcb plugin cannot load blames `libxcb-cursor0` whatever is missing
(on a stock Debian 12 desktop it is `libxcb-icccm4` and `libxcb-keysyms1`), and says
"Reinstalling the application may fix this problem". The loader knows better: `ldd` on the
plugin lists every library it cannot find, and the table below names the package to install.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "DISTRIBUTIONS",
    "WINDOW_PACKAGES",
    "install_commands",
    "install_hint",
    "missing_named",
    "missing_words",
    "unloadable_libraries",
]

# How each distribution installs packages, in the order the hint names them.
DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("Debian/Ubuntu", "sudo apt install"),
    ("Fedora", "sudo dnf install"),
    ("Arch", "sudo pacman -S"),
)

# Library (its soname) -> the package that brings it on Debian/Ubuntu, Fedora and Arch.
_PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client", "wayland"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor", "wayland"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl", "wayland"),
}

# What a desktop often lacks for Qt's X11 window (the README's "Start it" lists these): the
# xcb utility libraries, which Qt's wheels link but do not ship.
WINDOW_PACKAGES: tuple[str, ...] = (
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-keysyms.so.1",
    "libxcb-image.so.0",
    "libxcb-render-util.so.0",
    "libxkbcommon-x11.so.0",
)

# How long `ldd` may take to list a plugin's libraries.
LDD_TIMEOUT_S = 5.0
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.M)
_CANNOT_OPEN = re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file")
# The loader's own words for a library it found but could not load (`file too short`, ...).
_UNLOADABLE = re.compile(r"(?:^|[\s/])(lib[\w.+-]+\.so[\w.]*): ([^:\n]+)$", re.M)


def install_commands(sonames: Iterable[str]) -> list[str]:
    """`Debian/Ubuntu: sudo apt install ...` and the same for Fedora and Arch, for the known
    libraries among `sonames` (empty when none is known)."""
    rows = [_PACKAGES[name] for name in dict.fromkeys(sonames) if name in _PACKAGES]
    if not rows:
        return []
    lines = []
    for column, (distribution, install) in enumerate(DISTRIBUTIONS):
        packages = " ".join(dict.fromkeys(row[column] for row in rows))
        lines.append(f"{distribution}: {install} {packages}")
    return lines


def install_hint(sonames: Iterable[str]) -> str:
    """The install commands on one line, separated by semicolons ("" when none is known)."""
    return "; ".join(install_commands(sonames))


def unloadable_libraries(plugin: Path) -> dict[str, str]:
    """Each library `plugin` needs that cannot be loaded, with why (`missing`, or the loader's
    reason); empty when all load or nothing could be learnt (no `ldd`, no plugin)."""
    if not plugin.is_file():
        return {}
    ldd = shutil.which("ldd")
    if ldd is None:
        return _first_unloadable(plugin)
    try:
        listed = subprocess.run(
            [ldd, str(plugin)],
            capture_output=True,
            text=True,
            timeout=LDD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return _first_unloadable(plugin)
    found = {name: "missing" for name in _NOT_FOUND.findall(listed.stdout)}
    if not found:
        found = _reasons(listed.stdout + listed.stderr)
    return found


def missing_named(text: str) -> list[str]:
    """The libraries a loader's message says it cannot find (`libEGL.so.1: cannot open shared
    object file`)."""
    return list(dict.fromkeys(_CANNOT_OPEN.findall(text)))


def _first_unloadable(plugin: Path) -> dict[str, str]:
    """The library the loader stops at when it loads `plugin` here (the first only)."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        missing = missing_named(str(exc))
        return dict.fromkeys(missing, "missing") if missing else _reasons(str(exc))
    return {}


def _reasons(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, reason in _UNLOADABLE.findall(text):
        found.setdefault(name, reason.strip())
    return found


def missing_words(libraries: Sequence[str]) -> str:
    """`a is missing`, `a and b are missing`."""
    if len(libraries) == 1:
        return f"{libraries[0]} is missing"
    return f"{', '.join(libraries[:-1])} and {libraries[-1]} are missing"
