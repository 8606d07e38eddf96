"""Parsers on output captured from the real CLIs (tests/fixtures/cli), fed in small chunks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.engine.providers.base import OutputParser
from llmgw_desktop.engine.providers.cli.claude import ClaudeParser
from llmgw_desktop.engine.providers.cli.codex import CodexParser
from llmgw_desktop.engine.providers.cli.copilot import CopilotParser
from llmgw_desktop.engine.providers.cli.gemini import GeminiParser, PlainTextParser
from llmgw_desktop.engine.providers.cli.grok import GrokParser
from llmgw_desktop.engine.providers.cli.mistral import VibeParser
from llmgw_desktop.engine.providers.cli.opencode import OpenCodeParser
from llmgw_desktop.engine.providers.discovery import _parse_model_listing
from llmgw_desktop.engine.providers.process import ProcessOutcome
from llmgw_desktop.engine.tokens.pricing import Price
from tests.engine.providers.replay import FIXTURES, captured, replay


def failure(parser: OutputParser, cli: str, case: str) -> ProviderFailure:
    with pytest.raises(ProviderFailure) as caught:
        replay(parser, captured(cli, case))
    return caught.value


# -- claude --------------------------------------------------------------------------------


def test_claude_answer_usage_cost_and_session() -> None:
    result = replay(ClaudeParser(), captured("claude", "plain_stream_json"))
    assert result.text.startswith("FAKE-OK anthropic")
    assert result.session_id == "338d4b88-14e4-4c73-b3ab-36a1c007effa"
    assert result.model == "claude-opus-4-8"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 7)
    assert (result.usage.cache_read_tokens, result.usage.cache_write_tokens) == (200, 100)
    assert result.cost_usd == pytest.approx(0.00096) and result.cost_source == "cli"


def test_claude_partial_text_grows_while_streaming() -> None:
    parser = ClaudeParser()
    outcome = captured("claude", "plain_stream_json")
    lines = outcome.stdout.splitlines(keepends=True)
    parser.feed(lines[0])
    assert parser.partial_text == ""
    parser.feed(lines[1])
    assert parser.partial_text.startswith("FAKE-OK")


def test_a_claude_error_result_says_what_the_failed_run_cost() -> None:
    # The row of a failed run is counted at the CLI's own figure (`calls/cli_spend.py`).
    error = failure(ClaudeParser(), "claude", "err_e500_noretry_stream_json")
    assert error.details["cost_usd"] == 0.0
    # A run killed before its result line says nothing of its cost.
    assert "cost_usd" not in failure(ClaudeParser(), "claude", "resume_bad_id").details


# -- codex ---------------------------------------------------------------------------------


def test_codex_answer_and_usage_as_reported() -> None:
    result = replay(CodexParser("gpt-5.5"), captured("codex", "plain_json"))
    assert result.text.startswith("FAKE-OK responses")
    assert result.session_id == "01a1fede-ed96-72c0-b76c-f35d9f149af8"
    usage = result.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (112, 200, 9)
    assert usage.reasoning_tokens == 2 and usage.total_input_tokens == 312
    assert result.usage_is_cumulative


def test_codex_offline_fails_where_it_would_wait_for_the_network_with_no_end() -> None:
    """Captured from the real Codex 0.169 with no network (2026-11-28): five reconnects and a
    fall back to HTTPS in about ten seconds, then "waiting for network" every 8, 13, ... s for
    ever, as output, so no idle limit stopped it: a call hung until its 30-minute limit."""
    error = failure(CodexParser("gpt-5.5"), "codex", "offline_waiting_for_network_json")
    assert error.code == ErrorCode.PROVIDER_ERROR
    assert str(error).startswith("Codex cannot reach its service")
    assert "Connection failed" in str(error)
    assert error.details["session_id"] == "01a221dc-3eed-7ea0-b614-605d5a8d8b98"


def test_codex_resume_reports_thread_totals() -> None:
    result = replay(CodexParser(None), captured("codex", "resume_json"))
    assert result.usage.total_input_tokens == 624 and result.usage_is_cumulative


def test_codex_fork_is_a_new_thread_reporting_its_parents_totals_too() -> None:
    # `codex exec fork ID` (0.169.0): a new thread id; the totals count the parent's turn.
    result = replay(CodexParser("gpt-5.5", forking=True), captured("codex", "fork_json"))
    assert result.session_id == "01a21850-d6ad-7050-bca6-3a6949d94f84"
    assert "msgs=6" in result.text
    assert result.usage.total_input_tokens == 624 and result.usage_is_cumulative


def test_codex_without_a_headless_fork_says_which_version_has_one() -> None:
    # What a codex whose `exec` had no `fork` (0.147.0) prints: "fork" taken as the prompt.
    outcome = ProcessOutcome(
        exit_code=2,
        stdout=b"",
        stderr_tail=b"error: unexpected argument 't-1' found\n\nUsage: codex exec [OPTIONS]",
        duration_s=0.1,
        ended_by="exit",
        pid=1,
    )
    with pytest.raises(ProviderFailure) as caught:
        CodexParser(None, forking=True).finish(outcome)
    assert caught.value.code == "fork_unsupported" and "0.169.0" in caught.value.message


def test_codex_model_listing() -> None:
    text = (FIXTURES / "codex" / "models_list.stdout").read_text()
    assert _parse_model_listing(text)[:2] == ["gpt-6-astra", "gpt-6.1-sol"]


# -- gemini --------------------------------------------------------------------------------


def test_gemini_answer_and_usage() -> None:
    result = replay(GeminiParser("gemini-2.5-flash"), captured("gemini", "plain_stream_json"))
    assert result.text == 'FAKE-OK gemini req#1 msgs=1 last_user="Say hello"'
    assert result.session_id == "f9bd66ec-ce80-4a8b-bd44-d7b9d116a4ef"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (112, 200)
    assert result.usage.output_tokens == 7


def test_gemini_status_comes_back_from_the_exit_code() -> None:
    outcome = ProcessOutcome(
        244,
        b'{"type":"result","status":"error","error":{"message":"[API Error: boom]"}}\n',
        b"",
        0.1,
        "exit",
        1,
    )
    with pytest.raises(ProviderFailure) as caught:
        replay(GeminiParser(None), outcome)
    assert caught.value.details["upstream_status"] == 500 and caught.value.retryable


def test_agy_plain_text() -> None:
    outcome = ProcessOutcome(0, b"The answer.\n", b"", 0.1, "exit", 1)
    result = replay(PlainTextParser("gemini", None), outcome)
    assert result.text == "The answer." and result.warnings


# -- grok ----------------------------------------------------------------------------------


def test_grok_answer_session_and_usage() -> None:
    result = replay(GrokParser(None), captured("grok", "plain_streaming_json"))
    assert result.text.startswith("FAKE-OK msgs=3") and "-- say hello" in result.text
    assert result.session_id == "01a21855-19c7-7ed0-8b0b-38b74bb16345"
    assert result.model == "grok-fake"  # the model its JSON names, when none was asked for
    usage = result.usage
    # Grok reports input without the cached part, as the gateway counts it.
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (112, 200, 9)
    assert usage.reasoning_tokens == 2 and not result.usage_is_cumulative
    assert result.stop_reason == "end_turn" and result.cost_usd is None


def test_grok_resume_and_fork_report_this_turn() -> None:
    resumed = replay(GrokParser(None), captured("grok", "resume_streaming_json"))
    forked = replay(GrokParser(None), captured("grok", "fork_streaming_json"))
    assert resumed.session_id == "01a21855-19c7-7ed0-8b0b-38b74bb16345"
    assert forked.session_id not in (None, resumed.session_id)
    assert "msgs=5" in resumed.text and "msgs=7" in forked.text
    assert resumed.usage.input_tokens == forked.usage.input_tokens == 112


def test_grok_whole_cost_is_taken_and_a_partial_one_is_not() -> None:
    end = {"type": "end", "stopReason": "EndTurn", "sessionId": "s", "usage": {}}
    whole = ProcessOutcome(
        0, json.dumps(end | {"total_cost_usd": 0.0127}).encode(), b"", 1, "exit", 1
    )
    partial = ProcessOutcome(
        0, json.dumps(end | {"cost_is_partial": True}).encode(), b"", 1, "exit", 1
    )
    assert replay(GrokParser(None), whole).cost_usd == 0.0127
    result = replay(GrokParser(None), partial)
    assert result.cost_usd is None and "estimated" in result.warnings[0]


def test_grok_turn_ended_by_a_tool_it_may_not_run_is_named() -> None:
    # Headless, a tool call that would ask ends the turn: `end` with stopReason Cancelled.
    with pytest.raises(ProviderFailure) as caught:
        replay(GrokParser(None), captured("grok", "approval_cancelled"))
    assert caught.value.code == "approval_denied" and "permission mode" in caught.value.message


# -- copilot -------------------------------------------------------------------------------


def test_copilot_answer_session_and_usage_file(tmp_path: Path) -> None:
    usage = tmp_path / "usage.json"
    usage.write_bytes((FIXTURES / "copilot" / "usage_file.json").read_bytes())
    result = replay(CopilotParser(None, usage), captured("copilot", "plain_json"))
    assert result.text.startswith("FAKE-OK chat")
    assert result.session_id == "a1c6ff4c-c4c0-431e-8b8a-8cbdf87abbe3"
    assert result.model == "gpt-5.4"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (112, 200)
    assert (result.usage.output_tokens, result.usage.reasoning_tokens) == (9, 2)
    assert not usage.exists()  # the side file is cleaned up


# -- opencode ------------------------------------------------------------------------------


def test_opencode_answer_usage_and_cost() -> None:
    result = replay(OpenCodeParser(None), captured("opencode", "plain_json_stdin"))
    assert result.text.startswith("FAKE-OK anthropic")
    assert result.session_id == "ses_e0119bdf3ffeO3oAdiUVCCCfrw"
    usage = result.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (12, 200, 100)
    assert result.cost_usd == pytest.approx(0.000576)


def test_opencode_steps_count_at_no_less_than_the_gateways_price() -> None:
    """A step OpenCode prices below the gateway (at $0: a model its list lacks, or one a
    project's config prices so) counts toward a hard budget's stop at the gateway's price; the
    result still says what OpenCode said."""
    outcome = captured("opencode", "plain_json_stdin")
    own = OpenCodeParser(None)
    replay(own, outcome)
    assert own.spent_usd == pytest.approx(0.000576)  # OpenCode's own count, no price given
    dear = Price(input=100.0, output=100.0, cache_read=100.0, cache_write=100.0)
    held = OpenCodeParser(None, dear)
    result = replay(held, outcome)
    assert held.spent_usd == pytest.approx(319 * 100.0 / 1_000_000)  # every token at $100/M
    assert held.dearest_step_usd == held.spent_usd
    assert result.cost_usd == pytest.approx(0.000576)
    cheap = OpenCodeParser(None, Price(input=0.0, output=0.0, cache_read=0.0, cache_write=0.0))
    replay(cheap, outcome)
    assert cheap.spent_usd == pytest.approx(0.000576)  # never below what OpenCode said


def test_opencode_model_listing() -> None:
    text = (FIXTURES / "opencode" / "models_list.stdout").read_text()
    assert "anthropic/claude-haiku-4-5" in _parse_model_listing(text)


# -- every CLI's captured failures ---------------------------------------------------------

# Each CLI's parser for a run that named no model (Copilot's reads a usage file, absent here).
PARSERS: dict[str, Callable[[Path], OutputParser]] = {
    "claude": lambda _: ClaudeParser(),
    "codex": lambda _: CodexParser(None),
    "gemini": lambda _: GeminiParser(None),
    "grok": lambda _: GrokParser(None),
    "copilot": lambda tmp: CopilotParser(None, tmp / "none.json"),
    "opencode": lambda _: OpenCodeParser(None),
}
FAILURES = [
    ("claude", "err_e401_noretry_stream_json", "auth_required", False),
    ("claude", "err_e429_noretry_stream_json", "rate_limited", True),
    ("claude", "err_e500_noretry_stream_json", "provider_error", True),
    ("claude", "err_e529_noretry_stream_json", "provider_error", True),
    ("claude", "err_cut_noretry_stream_json", "provider_error", True),
    ("claude", "err_malformed_noretry_stream_json", "provider_error", True),
    ("claude", "resume_bad_id", "session_not_found", False),
    ("claude", "session_id_reuse_json", "session_conflict", False),
    ("codex", "err_e401_noretry_json", "auth_required", False),
    ("codex", "err_e429_noretry_json", "rate_limited", True),
    ("codex", "err_e500_noretry_json", "provider_error", True),
    ("codex", "err_e503_noretry_json", "provider_error", True),
    ("codex", "err_cut_noretry_json", "provider_error", True),
    ("codex", "err_malformed_noretry_json", "provider_error", True),
    ("codex", "resume_bad_id", "session_not_found", False),
    ("codex", "fork_bad_id", "session_not_found", False),
    ("gemini", "err_e429_noretry_stream_json", "rate_limited", True),
    ("gemini", "err_cut_noretry_stream_json", "provider_error", True),
    ("gemini", "resume_bad_id", "session_not_found", False),
    ("gemini", "probe_no_settings", "auth_required", False),
    ("grok", "err_e401", "auth_required", False),
    ("grok", "err_e429", "rate_limited", True),
    ("grok", "err_e500", "provider_error", True),
    ("grok", "err_e503", "provider_error", True),
    ("grok", "err_cut", "provider_error", True),
    ("grok", "err_malformed", "provider_error", False),
    ("grok", "err_no_login", "auth_required", False),
    ("grok", "resume_bad_id", "session_not_found", False),
    ("grok", "session_id_reuse", "session_conflict", False),
    ("grok", "community_cli", "not_installed", False),
    ("copilot", "err_e401_json", "auth_required", False),
    ("copilot", "err_e429_json", "rate_limited", True),
    ("copilot", "err_e500_json", "provider_error", True),
    ("copilot", "err_cut_json", "provider_error", True),
    ("copilot", "resume_bad_id", "session_not_found", False),
    ("opencode", "err_e401_json", "auth_required", False),
    ("opencode", "err_e429_json", "rate_limited", True),
    ("opencode", "err_e500_json", "provider_error", True),
    ("opencode", "err_cut_json", "provider_error", True),
    ("opencode", "err_malformed_json", "provider_error", False),
    ("opencode", "resume_bad_id", "session_not_found", False),
]


@pytest.mark.parametrize(
    ("cli", "case", "code", "retryable"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in FAILURES],
)
def test_a_captured_failure_has_its_code_and_retryability(
    cli: str, case: str, code: str, retryable: bool, tmp_path: Path
) -> None:
    error = failure(PARSERS[cli](tmp_path), cli, case)
    assert (error.code, error.retryable) == (code, retryable)
    assert "sk-" not in error.message


# -- vibe (Mistral Vibe 3.0.3, captured against the scripted upstream) ------------------------


def vibe(case: str, tmp_path: Path, model: str | None = None) -> tuple[VibeParser, Path]:
    """A parser whose `--output-dir` holds the `export.json` vibe wrote in that run."""
    out = tmp_path / "vibe-out"
    export = FIXTURES / "mistral" / f"{case}.export.json"
    if export.exists():
        out.mkdir()
        (out / "export.json").write_bytes(export.read_bytes())
    return VibeParser(model, out), out


def test_vibe_reads_its_entries_and_this_runs_export(tmp_path: Path) -> None:
    parser, out = vibe("plain_json", tmp_path, "scripted")
    result = replay(parser, captured("mistral", "plain_json"))
    assert result.text.startswith("FAKE-OK msgs=2") and "-- say hello" in result.text
    assert result.session_id == "6ec54503-bdfd-f622-599f-5768b7aab208"
    # Vibe counts the cached input inside input_tokens; the gateway does not.
    usage = result.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (112, 200, 9)
    assert result.cost_usd == pytest.approx(0.0001428) and not result.usage_is_cumulative
    assert not out.exists()  # the run's output directory is removed once read


@pytest.mark.parametrize("case", ["resume_json", "continue_json"])
def test_vibe_resumed_turns_report_their_own_usage(case: str, tmp_path: Path) -> None:
    parser, _ = vibe(case, tmp_path)
    result = replay(parser, captured("mistral", case))
    assert result.session_id == "6ec54503-bdfd-f622-599f-5768b7aab208"
    assert result.usage.input_tokens == 112 and result.usage.output_tokens == 9


@pytest.mark.parametrize(
    ("case", "code", "retryable"),
    [
        ("err_e401", "auth_required", False),
        ("err_e429", "rate_limited", True),
        ("err_e500", "provider_error", True),
        ("err_cut", "provider_error", True),
        ("resume_bad_id", "session_not_found", False),
        ("logging_off_continue", "session_unsupported", False),
    ],
)
def test_vibe_failures_have_their_code(
    case: str, code: str, retryable: bool, tmp_path: Path
) -> None:
    parser, _ = vibe(case, tmp_path)
    with pytest.raises(ProviderFailure) as caught:
        replay(parser, captured("mistral", case))
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    if case == "logging_off_continue":
        assert "[session_logging] enabled = true" in caught.value.message


def test_truncated_output_is_a_retryable_failure_not_a_crash() -> None:
    whole = captured("claude", "plain_stream_json")
    cut = ProcessOutcome(0, whole.stdout[: len(whole.stdout) // 2], b"", 0.1, "exit", 1)
    with pytest.raises(ProviderFailure) as caught:
        replay(ClaudeParser(), cut)
    assert caught.value.retryable
    garbage = ProcessOutcome(0, b'not json at all\n{"type": "turn.started"', b"", 0.1, "exit", 1)
    with pytest.raises(ProviderFailure):
        replay(CodexParser(None), garbage)
