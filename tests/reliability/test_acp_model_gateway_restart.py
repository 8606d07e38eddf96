"""The gateway restarted under an editor's live `llmgw-desktop acp --model` agent: the next turn
is answered, with the whole conversation, without the editor restarting its agent. Stopped
(SIGTERM) and started again, the gateway has a new instance token; killed (-9) and started on
another port, a new address too: the agent reads the running instance's `instance.json` again
when the gateway refuses its credential (401) or cannot be reached, and sends the turn there.
Before, every turn answered 401 "the instance token is wrong" until the editor restarted the
agent.

Real processes: the gateway (`python -m llmgw_desktop --headless`) before the scripted
upstream, and the agent started by the official Python ACP SDK's client as an editor starts it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import acp

from tests.ports import free_port
from tests.reliability._recfaults_support import ChildGateway, upstream_in_thread
from tests.transports.acp.python_editor import editor_of, open_session

# Generous for a loaded 2-core machine: a bound, never a wait for its own sake.
TURN_WITHIN_S = 60.0


async def test_an_acp_model_agent_answers_the_turn_after_its_gateway_restarted(
    tmp_path: Path,
) -> None:
    with upstream_in_thread() as upstream:
        gateway = ChildGateway(tmp_path / "home", upstream)
        await asyncio.to_thread(gateway.start)
        try:
            env = gateway.env()
            async with editor_of("--model", "gpt-4o", cwd=tmp_path, env=env) as (conn, editor):
                session = await open_session(conn, tmp_path)

                async def turn(words: str) -> str:
                    async with asyncio.timeout(TURN_WITHIN_S):
                        answer = await conn.prompt(
                            session_id=session, prompt=[acp.text_block(words)]
                        )
                    return str(answer.stop_reason)

                assert await turn("one") == "end_turn"
                # Stopped and started again: a new instance token, the same address.
                code, _, err = await asyncio.to_thread(gateway.stop)
                assert code == 0, err
                await asyncio.to_thread(gateway.start)
                assert await turn("two") == "end_turn"
                # Killed and started on another port: a new token and a new address.
                await asyncio.to_thread(gateway.kill)
                gateway.port = free_port()
                await asyncio.to_thread(gateway.start)
                assert await turn("three") == "end_turn"
            sent = [r.body["messages"] for r in upstream.llm_requests]
            # Each turn reached the model once, with the conversation before it.
            assert [[m["content"] for m in said if m["role"] == "user"] for said in sent] == [
                ["one"],
                ["one", "two"],
                ["one", "two", "three"],
            ]
            assert editor.texts(), "no answer reached the editor"
        finally:
            gateway.kill()
