"""optimizePrompt end to end: the CLI gets the optimised prompt, and the call's flight-recorder
row and job result carry the tokens before and after, the tokenizer and the strategies."""

from __future__ import annotations

from pathlib import Path

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine

CAPTURED = (
    Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "claude" / "plain_stream_json.stdout"
)
LOG = "\n".join(f"PASS tests/test_{n}.py::test_case_{n}" for n in range(300))
PROMPT = f"Test output:\n{LOG}\n\nWhich test is slowest?"


async def call(loaded: LoadedSettings, tmp_path: Path, meta: RequestMeta) -> tuple[dict, str]:
    """One claude call through the engine (a stand-in CLI that keeps its stdin and answers
    with captured output); its recorder row and the prompt the CLI was given."""
    received = tmp_path / "stdin.txt"
    stand_in = tmp_path / "bin" / "claude"
    stand_in.parent.mkdir()
    stand_in.write_text(f"#!/bin/sh\ncat > '{received}'\ncat '{CAPTURED}'\n")
    stand_in.chmod(0o755)
    engine = Engine(loaded.settings.with_values({"providers.cli_path": [str(stand_in.parent)]}))
    await engine.start()
    try:
        submitted = await engine.calls.submit("claude", CallParams(prompt=PROMPT), "local", meta)
        view = await engine.jobs.wait(submitted.job_id, "local", 60)
        (row,) = await engine.recorder.recent("local")
    finally:
        await engine.stop()
    assert view.state.value == "completed"
    assert view.result is not None
    assert view.result.get("optimization") == (row["optimization"] or None)
    return row, received.read_text()


async def test_an_optimised_call_records_tokens_before_and_after(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    meta = RequestMeta(transport="test", tool="claude_request", optimize_prompt=True)
    row, sent = await call(loaded, tmp_path, meta)
    prompt = row["optimization"]["prompt"]
    assert prompt["tokenizer"] == "o200k_base (approximate for claude)"
    assert prompt["strategies"] == ["long_output"]
    assert prompt["tokensBefore"] > 2 * prompt["tokensAfter"] > 0
    assert prompt["tokensSaved"] == prompt["tokensBefore"] - prompt["tokensAfter"]
    assert "Which test is slowest?" in sent and "test_case_150" not in sent


async def test_optimisation_is_opt_in(loaded: LoadedSettings, tmp_path: Path) -> None:
    row, sent = await call(loaded, tmp_path, RequestMeta(transport="test", tool="claude_request"))
    assert row["optimization"] is None
    assert "test_case_150" in sent
