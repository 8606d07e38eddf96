from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.calls.routing import Resolved
from llmgw_desktop.engine.calls.token_savings import optimize_prompt, stable_prefix, ttl_warning
from llmgw_desktop.engine.providers.base import PromptParts, SessionChoice
from llmgw_desktop.engine.sessions import ProviderSessionInfo
from llmgw_desktop.engine.tokens.usage import Usage


def resumed(last_used: float) -> Resolved:
    known = ProviderSessionInfo("claude", "c1", "/w", True, Usage(), last_used)
    return Resolved(SessionChoice(resume_id="c1"), None, Path("/w"), known)


def test_ttl_warning_only_in_the_last_30_seconds() -> None:
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 280) is not None
    warning = ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 288)
    assert warning is not None and warning["code"] == "cache_ttl_expiring_soon"
    assert warning["ttlRemainingMs"] == 12000
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 100) is None
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 400) is None
    assert ttl_warning("codex", resumed(1000.0), ttl_s=300, now=1000.0 + 288) is None


def test_stable_prefix_is_hashed_only_for_prompt_parts() -> None:
    parts = PromptParts(task="t1", system="sys", context="ctx")
    first = stable_prefix(CallParams(prompt_parts=parts))
    again = stable_prefix(
        CallParams(prompt_parts=PromptParts(task="t2", system="sys", context="ctx"))
    )
    assert first == again and first[0] is not None and first[1] and first[1] > 0
    assert stable_prefix(CallParams(prompt="plain")) == (None, None)


def test_prompt_parts_keep_their_task_whole_and_tidy_the_rest() -> None:
    params, measured = optimize_prompt(
        CallParams(prompt_parts=PromptParts(task="do   it\n\n\n\n", context="a    b   \n\n\n\nc")),
        "claude",
    )
    assert params.prompt_parts == PromptParts(task="do   it\n\n\n\n", context="a b\n\nc")
    prompt = measured["prompt"]
    assert prompt["tokensSaved"] == prompt["tokensBefore"] - prompt["tokensAfter"] > 0
    assert prompt["tokenizer"] == "o200k_base (approximate for claude)"
    assert prompt["strategies"] == ["whitespace"]


def test_a_repetitive_transcript_saves_tokens() -> None:
    log = "\n".join(f"PASS tests/unit/test_{n}.py::test_case_{n}" for n in range(400))
    read = "\n".join(f"    {n}: config_value_{n} = load('section_{n}')" for n in range(30))
    transcript = (
        f"User: look at config.py\n\nTool result (Read):\n{read}\n\n"
        f"User: run the tests\n\nTool result (Bash):\n{log}\n\n"
        f"User: read config.py again\n\nTool result (Read):\n{read}\n\n"
        "Which setting makes test_17 fail?"
    )
    params, measured = optimize_prompt(CallParams(prompt=transcript), "codex")
    prompt = measured["prompt"]
    assert prompt["tokenizer"] == "o200k_base"
    assert prompt["tokensSaved"] > prompt["tokensBefore"] // 2
    assert set(prompt["strategies"]) == {"repeated_blocks", "long_output"}
    assert params.prompt is not None and params.prompt.endswith("Which setting makes test_17 fail?")


def test_an_already_tight_prompt_saves_zero_never_a_negative() -> None:
    tight = "Fix the failing test in tests/test_io.py.\n\n```\nassert  read()  ==  b''\n```"
    params, measured = optimize_prompt(CallParams(prompt=tight), "claude")
    assert params.prompt == tight
    assert measured["prompt"]["tokensSaved"] == 0 and measured["prompt"]["strategies"] == []
    # Whatever a rewrite would do, a prompt is never sent longer than it came.
    short = "ok\nok\nok\n\nWhy?"
    params, measured = optimize_prompt(CallParams(prompt=short), "claude")
    assert params.prompt == short and measured["prompt"]["tokensSaved"] == 0
