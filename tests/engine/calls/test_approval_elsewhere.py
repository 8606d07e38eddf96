"""`ApprovalGate.ask_desk_or`: a permission request put to an editor and the desk at once; the
first answer counts and ends the other's question; no answer in time denies."""

from __future__ import annotations

import asyncio

from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest, PendingApproval

REQUEST = ApprovalRequest(
    "claude-acp", "rm -rf build", "default", False, (), "mcp_managed", "local"
)


def _gate(timeout_s: float = 5.0) -> tuple[ApprovalGate, list[PendingApproval]]:
    gate = ApprovalGate(
        allow_bypass=False, threshold=50, ask_at_desk=True, desk_timeout_s=timeout_s
    )
    shown: list[PendingApproval] = []
    gate.attach_desk(shown.append)
    return gate, shown


async def test_the_editor_answers_first_and_the_desks_question_ends() -> None:
    gate, shown = _gate()
    editor: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    asking = asyncio.create_task(gate.ask_desk_or(REQUEST, "asks", editor))
    await asyncio.sleep(0)
    assert len(shown) == 1 and not shown[0].answer.done()
    editor.set_result(True)
    assert await asking == (True, "editor")
    assert shown[0].answer.done() and gate.pending == {}


async def test_the_desk_answers_first_and_the_editors_question_is_dropped() -> None:
    gate, shown = _gate()
    editor: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    asking = asyncio.create_task(gate.ask_desk_or(REQUEST, "asks", editor))
    await asyncio.sleep(0)
    assert gate.answer(shown[0].id, False)
    assert await asking == (False, "desk")
    assert editor.cancelled()


async def test_no_answer_in_time_denies_and_an_editor_that_left_denies() -> None:
    gate, _ = _gate(timeout_s=0.05)
    never: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    assert await gate.ask_desk_or(REQUEST, "asks", never) == (False, "timeout")

    async def gone() -> bool:
        raise ConnectionError("the editor closed the socket")

    lone = ApprovalGate(allow_bypass=False, threshold=50, ask_at_desk=True, desk_timeout_s=5)
    allowed, _by = await lone.ask_desk_or(REQUEST, "asks", gone())
    assert allowed is False
