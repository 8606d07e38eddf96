"""The window not opening never takes the gateway down: with a display Qt cannot use, the real
program serves headless and says in one line why there is no window and what to install.

Qt aborts the whole process (SIGABRT) when its platform plugin cannot load, so before the app
creates its window a child asks Qt (`shell/window_probe.py`). What is simulated, and how:
- a dead display is a TCP display nothing listens on, as an ssh session's ended X forward is;
- a library the xcb plugin needs is made unloadable by a broken stand-in for it (a file that is
  no library) earlier on `LD_LIBRARY_PATH`: the loader stops at it as it stops at a missing
  one, and Qt aborts the same way. It stands in for a stock Debian 12 desktop, which lacks
  `libxcb-icccm4` and `libxcb-keysyms1` (removing a system package is not a test's to do).
The legitimate path beside them: on a real X server (Xvfb) the window opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.xvfb import xvfb_display

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="X11 and Qt's xcb plugin")

# X11's TCP displays listen on 6000 + the display number.
X11_TCP_BASE = 6000


def _desktop_env(home: Path, port: int, display: str, **extra: str) -> dict[str, str]:
    """The child's environment for a desktop start on `display`, Qt choosing its platform."""
    env = gp.child_env(home, port, DISPLAY=display, **extra)
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        env.pop(name, None)
    return env


def _served_headless(env: dict[str, str], port: int) -> tuple[str, str]:
    """Start the app without `--headless`; it must answer /health, then stop cleanly."""
    proc = gp.start([], env)
    answer = gp.wait_ready(proc, port)
    assert answer["status"] == "ok"
    code, out, err = gp.stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    return out, err


def test_a_display_no_server_answers_on_serves_headless_saying_so(tmp_path: Path) -> None:
    port = free_port()
    display = f"127.0.0.1:{free_port() - X11_TCP_BASE}"  # a TCP display nothing listens on
    out, err = _served_headless(_desktop_env(tmp_path, port, display), port)
    [said] = [line for line in err.splitlines() if "running headless" in line]
    assert said == (
        f"llmgw-desktop: no window: the X display {display} did not accept a connection (its X "
        "server is not running, or an ssh session's X forward has ended): running headless."
    )
    assert "running headless" in out  # the headless banner
    assert "no window: the X display" in gp.read_log(tmp_path)


def test_a_local_display_with_no_socket_is_known_at_once(tmp_path: Path) -> None:
    port = free_port()
    number = next(n for n in range(99, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    _, err = _served_headless(_desktop_env(tmp_path, port, f":{number}"), port)
    assert f"the X display :{number} is not reachable: running headless." in err


def test_a_library_the_window_needs_unloadable_serves_headless_naming_its_package(
    tmp_path: Path,
) -> None:
    stand_ins = tmp_path / "broken-libs"
    stand_ins.mkdir()
    (stand_ins / "libxcb-icccm.so.4").write_bytes(b"not a library")
    port = free_port()
    with xvfb_display() as display:
        env = _desktop_env(tmp_path, port, display, LD_LIBRARY_PATH=str(stand_ins))
        _, err = _served_headless(env, port)
    [said] = [line for line in err.splitlines() if "running headless" in line]
    assert said.startswith(
        "llmgw-desktop: no window: Qt's xcb platform plugin cannot load: libxcb-icccm.so.4 "
    )
    # The package, by distribution: not Qt's own advice (libxcb-cursor0, or reinstalling).
    assert (
        "(Debian/Ubuntu: sudo apt install libxcb-icccm4; Fedora: sudo dnf install xcb-util-wm; "
        "Arch: sudo pacman -S xcb-util-wm): running headless." in said
    )
    assert "Reinstalling" not in said


def test_on_a_working_x_server_the_window_opens(tmp_path: Path) -> None:
    port = free_port()
    with xvfb_display() as display:
        env = _desktop_env(tmp_path, port, display)
        with gp.serving([], env, port) as proc:
            assert proc.poll() is None
        log = gp.read_log(tmp_path)
    assert "desktop app ready" in log
    assert "running headless" not in log
