"""The "Start at login" switch the tray and the Settings page both show.

The OS keeps the truth (`shell/autostart.py` reads it every time), so the switch is re-read each
time it is shown and after each flip; a flip that fails (a read-only folder, a policy on the
registry) says why and leaves the switch where the OS has it.
"""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["LOGIN_SWITCH_TEXT", "Autostart", "set_start_at_login"]

log = logging.getLogger(__name__)

LOGIN_SWITCH_TEXT = "Start at login (in the tray)"


class Autostart(Protocol):
    """What the switch flips: the shell hands in the OS's own (`shell/autostart.py`)."""

    where: str  # where the switch is kept, for the person (a path or a registry value)

    def enable(self) -> None: ...

    def disable(self) -> None: ...

    def is_enabled(self) -> bool: ...


def set_start_at_login(autostart: Autostart, on: bool) -> str | None:
    """Turn start-at-login on or off; None when done, else what went wrong."""
    try:
        if on:
            autostart.enable()
        else:
            autostart.disable()
    except OSError as exc:
        log.warning("could not turn start at login %s (%s): %s", on, autostart.where, exc)
        return f"Could not change start at login ({autostart.where}): {exc}"
    log.info("start at login %s (%s)", "on" if on else "off", autostart.where)
    return None
