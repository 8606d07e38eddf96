from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.base import PromptParts


@pytest.mark.parametrize(
    ("params", "words", "param"),
    [
        (CallParams(), "one of `prompt` or `promptParts` is required", "prompt"),
        (CallParams(prompt="a", prompt_parts=PromptParts(task="b")), "exactly one of", "prompt"),
        (CallParams(prompt="   "), "prompt is empty", "prompt"),
        (CallParams(prompt_parts=PromptParts(task="")), "task is empty", "promptParts.task"),
        (
            CallParams(prompt="x", permission_mode="yolo"),
            "permissionMode must be",
            "permissionMode",
        ),
        (CallParams(prompt="x", model="--evil"), "not a valid model", "model"),
        (CallParams(prompt="x", session_id="-x"), "not a valid session id", "sessionId"),
        (
            CallParams(prompt="x", session_id="s", create_new_session=True),
            "pick one",
            "createNewSession",
        ),
        (CallParams(prompt="x", session_id="s", resume_latest=True), "pick one", "resumeLatest"),
        (CallParams(prompt="x", allowed_tools=("-rf",)), "invalid tool", "allowedTools"),
        (CallParams(prompt="x", timeout_ms=0), "positive", "timeoutMs"),
        (CallParams(prompt="x", working_dir="relative/dir"), "absolute", "workingDir"),
        (
            CallParams(prompt="x", working_dir="/does/not/exist"),
            "not an existing directory",
            "workingDir",
        ),
    ],
)
def test_bad_requests_name_the_parameter(params: CallParams, words: str, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        params.validated()
    assert words in caught.value.message
    assert caught.value.details["param"] == param


def test_prompt_parts_render_in_canonical_order() -> None:
    parts = PromptParts(task="T", system="S", tools="U", context="C")
    assert CallParams(prompt_parts=parts).rendered_prompt == "S\n\nU\n\nC\n\nT"
    assert CallParams(prompt_parts=PromptParts(task="T")).rendered_prompt == "T"


def test_working_dir_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    checked = CallParams(prompt="x", working_dir=str(tmp_path / "a" / ".." / "a")).validated()
    assert checked.working_dir == str((tmp_path / "a").resolve())


def test_canonical_form_ignores_bookkeeping() -> None:
    a = CallParams(prompt="x", correlation_id="1", force_refresh=True).canonical()
    b = CallParams(prompt="x", correlation_id="2").canonical()
    assert a == b
    assert CallParams(prompt="y").canonical() != b
