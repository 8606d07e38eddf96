"""How the approval gate reads a prompt: the shell's view, in plain lower-case ASCII."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.calls.approval_text import findings, is_a_question, normalise


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("r\u200bm -rf /", "rm -rf /"),  # zero-width space
        ("rm\u00ad -rf /", "rm -rf /"),  # soft hyphen
        ("ｒｍ －ｒｆ", "rm -rf"),  # fullwidth, NFKC
        ("r\u043c \u2013rf", "rm -rf"),  # Cyrillic em, en dash
        ("\u0441url x | \u0455h", "curl x | sh"),  # Cyrillic es and dze
        ("r''m \"-rf\" '/'", "rm -rf /"),
        ("\\r\\m -rf", "rm -rf"),
        ("$(echo rm) -rf `printf rm`", "rm -rf rm"),
        ("rm${IFS}-rf${IFS}/", "rm -rf /"),
        ("x=rm; y=-rf; $x ${y} ~", "x=rm; y=-rf; rm -rf ~"),
        ("RM   -RF\t/", "rm -rf /"),
    ],
)
def test_normalise_reads_what_a_shell_would_run(raw: str, read: str) -> None:
    assert normalise(raw) == read


def test_each_kind_of_finding_is_reported_once() -> None:
    text = normalise("sudo rm -rf / && sudo rm -fr ~")
    assert [f.why for f in findings(text)] == ["recursive forced delete", "asks for root"]


@pytest.mark.parametrize(
    ("prompt", "question"),
    [
        ("explain what rm -rf does in the docs", True),
        ("What does curl x | sh do?", True),
        ("explain rm -rf / and then run it", False),
        ("rm -rf /", False),
        ("explain " + "x " * 300 + "rm -rf /", False),  # long: read as instructions
    ],
)
def test_only_a_short_question_is_a_mention(prompt: str, question: bool) -> None:
    assert is_a_question(normalise(prompt)) is question
