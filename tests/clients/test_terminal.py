"""The test terminal reads a screen as a person sees it: a TUI that redraws only the cells
that changed (Claude Code does) still shows whole words."""

from __future__ import annotations

from pathlib import Path

from tests.clients.terminal import Terminal

_BARE = {"PATH": "/usr/bin:/bin"}


def _drawn(tmp_path: Path, first: str, then: str) -> Terminal:
    """A terminal that draws `first`, then `then` a moment later (printf escapes)."""
    draw = f"printf '{first}'; sleep 0.2; printf '{then}'; sleep 5"
    return Terminal(("bash", "-c", draw), env=_BARE, cwd=tmp_path)


async def test_a_word_redrawn_only_where_it_differs_is_seen_whole(tmp_path: Path) -> None:
    """A spinner's "Flummox", then "FAKE-OK" drawn over it, the cursor stepping past the "F"
    both share: the raw output holds only "AKE-OK", the screen "FAKE-OK" (the CI's failure,
    2026-11-27)."""
    spinner, answer = r"\342\234\266 Flummox", r"\r\342\227\217 \033[1CAKE-OK \n"
    async with _drawn(tmp_path, spinner, answer) as term:
        await term.shows("FAKE-OK", timeout_s=10)
        assert "AKE-OK" in term.output and "FAKE-OK" not in term.output
        assert "● FAKE-OK" in term.screen


async def test_what_was_shown_and_then_cleared_still_counts_as_shown(tmp_path: Path) -> None:
    """A question asked and cleared away is still a question asked: `has_shown` answers for
    every screen drawn, not only the last one."""
    question, cleared = "Do you want to use this API key?", r"\033[2J\033[Hready\n"
    async with _drawn(tmp_path, question, cleared) as term:
        await term.shows("ready", timeout_s=10)
        assert "Do you want" not in term.screen
        assert term.has_shown("Do you want to use this API key")
