"""Quiet hours: a daily span of local time in which the desk shows no system notifications.

Written `HH:MM-HH:MM` (`ui.quiet_hours`), the start inclusive and the end exclusive; a span
whose end comes before its start runs over midnight (`22:00-07:00`). Empty means never quiet.
Quiet hours hold back the pop-ups only: everything is still kept in the notification history,
and a question (an approval, a consent) still opens its dialog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

__all__ = ["QuietHours", "check_quiet_hours", "parse_quiet_hours"]

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """From `start` (inclusive) to `end` (exclusive), local time, over midnight when needed."""

    start: time
    end: time

    def holds(self, moment: time) -> bool:
        """Whether `moment` (a local time of day) falls inside the quiet span."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> QuietHours | None:
    """The span `text` writes (`22:00-07:00`), or None for "" (never quiet).

    Raises:
        ValueError: `text` is not two times of day `HH:MM-HH:MM`, or they are equal.
    """
    if not text.strip():
        return None
    found = _SPAN.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a span of two times of day such as 22:00-07:00")
    h1, m1, h2, m2 = (int(part) for part in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r} names a time of day that does not exist")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time: leave it empty instead")
    return QuietHours(start, end)


def check_quiet_hours(value: object) -> str | None:
    """The setting's check: None when `value` is a quiet span or empty, else the problem."""
    if not isinstance(value, str):
        return "must be a string such as 22:00-07:00"
    try:
        parse_quiet_hours(value)
    except ValueError as exc:
        return str(exc)
    return None
