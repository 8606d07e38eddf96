"""An ACP agent as a provider, one turn at a time, against the stand-in agent
(`tests/fakes/fake_acp_agent.py`) for the paths no real agent takes on purpose: the answer,
permission requests, an agent that never answers initialize, one that crashes mid-turn, one
that floods updates, one that prints lines that are not JSON-RPC. The real agents are in
`tests/contract/test_acp_agents.py`."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from pathlib import Path

import pytest

from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers import process as process_module
from llmgw_desktop.engine.providers.acp.adapter import AcpSetup
from llmgw_desktop.engine.providers.acp.turn import PermissionAnswer, PermissionAsk
from llmgw_desktop.engine.providers.base import CliAdapter, ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.cli_adapters import adapter_for
from llmgw_desktop.engine.providers.invoke import invoke_once
from llmgw_desktop.engine.providers.process import RunLimits
from llmgw_desktop.engine.providers.process_tree import stop_tree

FAKE = Path(__file__).resolve().parents[2] / "fakes" / "fake_acp_agent.py"
LIMITS = RunLimits(timeout_s=30, idle_timeout_s=10, max_output_bytes=2_000_000, kill_grace_s=0.5)


def _setup(**kwargs: object) -> AcpSetup:
    return AcpSetup(**kwargs)  # type: ignore[arg-type]


def _agent(behaviour: str) -> CliAdapter:
    """The stand-in agent as an ACP agent `[providers.acp.scripted]` adds."""
    table = {"scripted": {"command": sys.executable, "args": [str(FAKE), behaviour]}}
    return adapter_for("scripted", ProviderCatalog.of(table))


async def _turn(
    tmp_path: Path,
    behaviour: str,
    *,
    prompt: str = "hello",
    confined: bool = False,
    limits: RunLimits = LIMITS,
    **kwargs: object,
) -> ProviderResult:
    """One turn of the stand-in agent behaving as `behaviour` (`kwargs`: its `AcpSetup`)."""
    request = ProviderRequest(prompt=prompt, working_dir=tmp_path, confined=confined)
    return await invoke_once(
        _agent(behaviour),
        request,
        sys.executable,
        limits,
        environment=dict(os.environ),
        acp=_setup(**kwargs),
    )


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


async def test_turn_answers_with_the_streamed_text_and_usage(tmp_path: Path) -> None:
    result = await _turn(tmp_path, "answer")
    assert result.text == "FAKE-ACP heard 'hello'"
    assert result.session_id == "fake-session-1"
    assert result.stop_reason == "end_turn"
    assert result.usage.input_tokens == 10
    assert result.usage.output_tokens == 4


async def test_permission_request_is_put_to_the_asker_and_allowed_once(tmp_path: Path) -> None:
    asked: list[PermissionAsk] = []

    async def approve(question: PermissionAsk) -> PermissionAnswer:
        asked.append(question)
        return PermissionAnswer(True)

    result = await _turn(tmp_path, "permission", permissions=approve)
    assert result.text == "allowed:yes"  # never "always"
    assert [q.title for q in asked] == ["rm -rf build"]
    assert asked[0].kind == "execute" and "rm -rf build" in asked[0].detail
    assert asked[0].raw_input == {"command": "rm -rf build"}


async def test_permission_denied_by_the_asker_rejects_once(tmp_path: Path) -> None:
    async def deny(_: PermissionAsk) -> PermissionAnswer:
        return PermissionAnswer(False, "not today")

    result = await _turn(tmp_path, "permission", permissions=deny)
    assert result.text == "rejected:no"
    assert "denied 'rm -rf build': not today" in result.warnings


async def test_permission_without_anyone_to_ask_is_denied(tmp_path: Path) -> None:
    result = await _turn(tmp_path, "permission")
    assert result.text == "rejected:no"
    assert any("nobody can answer" in w for w in result.warnings)


async def test_a_confined_run_of_an_agent_the_gateway_does_not_ship_is_refused_at_spawn(
    tmp_path: Path,
) -> None:
    # No row in the confinement table: the gateway cannot say how it holds its tools.
    with pytest.raises(InvalidRequest, match="does not ship") as caught:
        await _turn(tmp_path, "permission", prompt="x", confined=True)
    assert caught.value.code == ErrorCode.INVALID_PERMISSION


async def _failure_leaving_nothing(
    tmp_path: Path, behaviour: str, **kwargs: object
) -> ProviderFailure:
    """How a turn with the agent behaving as `behaviour` failed, once every process it started
    (the fake writes their ids to FAKE_ACP_PIDS) is seen gone."""
    pids = tmp_path / "pids"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAKE_ACP_PIDS", str(pids))
        with pytest.raises(ProviderFailure) as caught:
            await _turn(tmp_path, behaviour, **kwargs)
    for pid in map(int, pids.read_text().split()):
        assert _gone(pid), f"process {pid} outlived the turn"
    return caught.value


async def test_agent_that_never_answers_initialize_fails_clearly_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    failure = await _failure_leaving_nothing(tmp_path, "no-init", init_timeout_s=1.0)
    assert failure.code == ErrorCode.TIMEOUT
    assert "did not answer initialize" in failure.message


async def test_agent_crashing_mid_turn_is_a_clear_failure_and_its_children_die(
    tmp_path: Path,
) -> None:
    failure = await _failure_leaving_nothing(tmp_path, "crash")
    assert failure.code == ErrorCode.PROVIDER_ERROR
    assert "stopped mid-turn" in failure.message and "exit code 3" in failure.message


async def test_agent_flooding_updates_is_stopped_at_the_output_cap(tmp_path: Path) -> None:
    with pytest.raises(ProviderFailure) as caught:
        await _turn(tmp_path, "flood")
    assert caught.value.code == ErrorCode.OUTPUT_OVERFLOW


async def test_lines_that_are_not_json_rpc_are_skipped_and_said(tmp_path: Path) -> None:
    result = await _turn(tmp_path, "malformed")
    assert result.text == "FAKE-ACP heard 'hello'"
    assert any("2 line(s)" in w for w in result.warnings)


async def test_cancelling_the_call_kills_the_agent_and_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    talking = asyncio.Event()
    os.environ["FAKE_ACP_PIDS"] = str(pids)
    try:
        async with asyncio.TaskGroup() as group:
            task = group.create_task(
                invoke_once(
                    _agent("hang"),
                    ProviderRequest(prompt="x", working_dir=tmp_path),
                    sys.executable,
                    LIMITS,
                    environment=dict(os.environ),
                    acp=_setup(),
                    on_progress=lambda text, events, size: talking.set(),
                )
            )
            await asyncio.wait_for(talking.wait(), 20)  # the agent has answered initialize
            await asyncio.sleep(0.3)  # and is in its turn, which it never ends
            task.cancel()
    finally:
        del os.environ["FAKE_ACP_PIDS"]
    assert task.cancelled()
    for pid in map(int, pids.read_text().split()):
        assert _gone(pid), f"process {pid} outlived the cancel"


async def test_a_finished_turn_does_not_wait_out_the_kill_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent (and the child it left) are stopped at once when the turn ends: the stop used
    to wait until init reaped the dead child (its group counted as alive while a zombie was in
    it), 1.2-1.8 s a turn on this machine, up to the whole kill grace where init never reaps
    (a container without one). Only the stop is timed: the turn itself starts a Python, which
    a loaded machine can take a second over."""
    patient = dataclasses.replace(LIMITS, kill_grace_s=30.0)
    stops: list[float] = []

    async def timed_stop(*args: object) -> None:
        started = time.monotonic()
        try:
            await stop_tree(*args)  # type: ignore[arg-type]
        finally:
            stops.append(time.monotonic() - started)

    pids = tmp_path / "pids"
    os.environ["FAKE_ACP_PIDS"] = str(pids)
    try:
        await _turn(tmp_path, "answer")  # the ACP SDK loads at the first turn
        monkeypatch.setattr(process_module, "stop_tree", timed_stop)
        result = await _turn(tmp_path, "answer", prompt="hi", limits=patient)
    finally:
        del os.environ["FAKE_ACP_PIDS"]
    assert result.text == "FAKE-ACP heard 'hi'"
    assert len(stops) == 1 and stops[0] < 1.0, f"the stop took {stops} s"
    for pid in map(int, pids.read_text().split()):
        assert _gone(pid), f"process {pid} outlived the turn"
