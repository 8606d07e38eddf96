"""What keeps a serving gateway from being whole: the one rule every face of it reads.

A gateway whose store fails (a damaged file, a full disk: calls may go unrecorded) or whose log
file takes no lines (they go to stderr meanwhile) still serves, so it is not stopped; it is
degraded. `/health` says `degraded` for each `Degradation` here, and the window's header chip,
Overview's Gateway card, its status line and the tray say the same, from this list: none of
them shows green beside one (a full log disk once left Overview at "Working" while `/health`
and the header said degraded).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.engine.log_health import log_problem

__all__ = ["Degradation", "degradations", "degraded_sentence"]


@dataclass(frozen=True, slots=True)
class Degradation:
    """One part of a serving gateway that is not whole, and why."""

    part: str  # "store" or "log"
    reason: str

    @property
    def serious(self) -> bool:
        """Calls may go unrecorded (the store's): an error; a log that writes to stderr
        meanwhile is a warning."""
        return self.part == "store"

    @property
    def label(self) -> str:
        """Two words ahead of its reason, where a line is short (the tray's)."""
        return "Store degraded" if self.serious else "Log failing"

    @property
    def headline(self) -> str:
        """A few words, as a card's line says it."""
        return "The store has a problem" if self.serious else "The log file cannot be written"

    @property
    def detail(self) -> str:
        """What is wrong, in a sentence's words."""
        if self.serious:
            return f"the store has a problem: {self.reason}"
        return f"{self.reason} (its lines go to stderr until there is room)"


def degradations(store_problem: str | None) -> tuple[Degradation, ...]:
    """What degrades the gateway now, the store's first: its store's problem as given (None:
    none), and its log's as the log writer last said."""
    found = []
    if store_problem is not None:
        found.append(Degradation("store", store_problem))
    if (log := log_problem()) is not None:
        found.append(Degradation("log", log))
    return tuple(found)


def degraded_sentence(found: tuple[Degradation, ...]) -> str:
    """One sentence naming each of `found`, as a tooltip says it."""
    return "The gateway is degraded: " + "; ".join(d.detail for d in found) + "."
