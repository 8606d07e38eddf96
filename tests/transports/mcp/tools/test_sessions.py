"""The session tools in memory: create, list, get, set active, delete, clear."""

from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.engine import Engine
from tests.transports.mcp.tools.conftest import call, call_error, connect


async def test_session_lifecycle(engine: Engine, tmp_path: Path) -> None:
    async with connect(engine) as client:
        first = await call(
            client,
            "session_create",
            {"provider": "mistral", "title": "one", "workingDir": str(tmp_path)},
        )
        second = await call(
            client, "session_create", {"provider": "mistral", "title": "two", "setActive": False}
        )
        listed = await call(client, "session_list", {"provider": "mistral"})
        activated = await call(client, "session_set_active", {"sessionId": second["sessionId"]})
        got = await call(client, "session_get", {"sessionId": first["sessionId"]})
        deleted = await call(client, "session_delete", {"sessionId": first["sessionId"]})
        cleared = await call(client, "session_clear_all", {})
    assert {s["sessionId"] for s in listed["sessions"]} == {first["sessionId"], second["sessionId"]}
    assert activated["active"] is True
    assert got["active"] is False and got["workingDir"] == str(tmp_path)
    assert deleted["deleted"]["title"] == "one"
    assert cleared == {"deleted": 1}


async def test_session_get_carries_cache_state_once_it_made_calls(engine: Engine) -> None:
    async with connect(engine) as client:
        session = await call(client, "session_create", {"provider": "mistral"})
        await call(client, "mistral_request", {"prompt": "hi", "sessionId": session["sessionId"]})
        got = await call(client, "session_get", {"sessionId": session["sessionId"]})
    assert "cacheState" in got


async def test_session_create_refuses_unknown_providers(engine: Engine) -> None:
    async with connect(engine) as client:
        unknown = await call_error(client, "session_create", {"provider": "chatgpt"})
    assert unknown["code"] == "invalid_request" and unknown["details"]["param"] == "provider"


async def test_unknown_session_is_not_found(engine: Engine) -> None:
    async with connect(engine) as client:
        error = await call_error(client, "session_get", {"sessionId": "gw-missing"})
    assert error["code"] == "not_found"
