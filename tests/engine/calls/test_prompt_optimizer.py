"""Each optimizePrompt strategy shrinks the prompt and keeps what it asks: code blocks and the
question byte for byte, the first copy of anything repeated, the head and tail of long output."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.calls.prompt_optimizer import (
    KEEP_HEAD_LINES,
    KEEP_TAIL_LINES,
    LONG_OUTPUT,
    REPEATED_BLOCKS,
    REPEATED_LINES,
    WHITESPACE,
    PromptOptimiser,
)

CODE = "```python\ndef  add(a,   b):\n\n\n\n    return a + b   \n```"
QUESTION = "Why  does   the build fail?  "
PARAGRAPH = (
    "The build reads its configuration from build.toml and resolves every dependency against "
    "the lock file; when the lock file is stale it stops, lists the packages that changed and "
    "exits with status 3 (see docs/build.md)."
)


def rewrite(text: str) -> tuple[str, tuple[str, ...]]:
    optimiser = PromptOptimiser()
    return optimiser.rewrite(text), optimiser.strategies


def test_whitespace_goes_outside_code_and_the_question() -> None:
    text, fired = rewrite(f"Context   here.   \n\n\n\n\n{CODE}\n\n\n{QUESTION}")
    assert fired == (WHITESPACE,)
    assert text.startswith("Context here.\n\n```")
    assert CODE in text and text.endswith(QUESTION)


def test_repeated_lines_fold_into_one_line_and_a_count() -> None:
    line = "WARN connection reset by peer, retrying in 5 s"
    text, fired = rewrite("Server log:\n" + f"{line}\n" * 30 + f"done\n\n{QUESTION}")
    assert fired == (REPEATED_LINES,)
    assert text.count(line) == 1 and "[the line above repeats 29 more times]" in text
    assert text.endswith(QUESTION)


def test_short_repeats_stay_where_a_marker_would_be_longer() -> None:
    prompt = f"ok\nok\nok\n\n{QUESTION}"
    assert rewrite(prompt) == (prompt, ())


def test_a_repeated_paragraph_becomes_a_pointer_to_its_first_copy() -> None:
    text, fired = rewrite(f"{PARAGRAPH}\n\n{CODE}\n\n{PARAGRAPH}\n\n{QUESTION}")
    assert fired == (REPEATED_BLOCKS,)
    assert text.count(PARAGRAPH) == 1 and text.index(PARAGRAPH) == 0
    assert '[repeated: the same text as the paragraph above that begins "The build' in text
    assert CODE in text and text.endswith(QUESTION)


def test_repeated_code_blocks_and_a_repeated_question_are_kept() -> None:
    question = PARAGRAPH + " Which package broke it?"
    prompt = f"{question}\n\n{CODE}\n\n{CODE}\n\n{question}"
    assert rewrite(prompt) == (prompt, ())


def test_long_output_keeps_its_head_and_tail_and_says_what_was_cut() -> None:
    lines = [f"test_{n} PASSED" for n in range(500)]
    text, fired = rewrite("Test run:\n" + "\n".join(lines) + f"\n\n{QUESTION}")
    assert fired == (LONG_OUTPUT,)
    kept = text.splitlines()
    assert kept[1:KEEP_HEAD_LINES] == lines[: KEEP_HEAD_LINES - 1]
    assert kept[-KEEP_TAIL_LINES - 2 : -2] == lines[-KEEP_TAIL_LINES:]
    assert "lines (" in text and "cut here by the gateway's prompt optimisation" in text
    assert "test_250 PASSED" not in text and text.endswith(QUESTION)


def test_long_code_blocks_are_never_cut() -> None:
    code = "```\n" + "\n".join(f"row {n}" for n in range(1000)) + "\n```"
    prompt = f"{code}\n\n{QUESTION}"
    assert rewrite(prompt) == (prompt, ())


def test_a_tight_prompt_is_returned_unchanged() -> None:
    prompt = f"{PARAGRAPH}\n\n{CODE}\n\nWhich package broke it?"
    assert rewrite(prompt) == (prompt, ())


# Code a naive fence toggle mistook for prose, with whitespace that carries meaning.
TRICKY_CODE = {
    "markdown about markdown": "````markdown\n```\nx  =  'a    b'\n```\ny  =  2   \n````",
    "a ~~~ inside backticks": "```\n~~~\ns  =  '  '\n~~~\nt  =  1\n```",
    "a ``` inside tildes": "~~~\n```\nu  =  1\n~~~",
    "an info string on a would-be close": "```\nv  =  1\n``` not a close\nw  =  2\n```",
    "in a blockquote": "> ```\n> a   =   1\n> ```",
    "a longer close": "```\nz  =  1\n`````",
}


@pytest.mark.parametrize("code", TRICKY_CODE.values(), ids=TRICKY_CODE.keys())
def test_code_a_naive_fence_toggle_would_miss_goes_byte_for_byte(code: str) -> None:
    text, _fired = rewrite(f"Context   here.\n\n{code}\n\nContext   again.\n\n{QUESTION}")
    assert code in text, text
    assert text.startswith("Context here.") and "Context again." in text


def test_a_run_of_tabs_is_an_empty_column_and_stays() -> None:
    table = "name\t\tage\nbob\t\t3"
    text, _fired = rewrite(f"The  table:\n{table}\n\n{QUESTION}")
    assert text == f"The table:\n{table}\n\n{QUESTION}"
