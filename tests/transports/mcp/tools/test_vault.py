"""The vault tools in memory: keys and auth files stored, listed masked, and deleted."""

from __future__ import annotations

import json

from llmgw_desktop.engine.engine import Engine
from tests.transports.mcp.tools.conftest import call, call_error, connect


async def test_vault_round_trip_never_returns_a_secret(engine: Engine) -> None:
    secret, content = "sk-ant-api03-in-memory-secret", '{"token": "oc-in-memory-secret"}'
    async with connect(engine) as client:
        stored = await call(client, "vault_store", {"provider": "anthropic", "apiKey": secret})
        scoped = await call(
            client,
            "vault_store",
            {"provider": "openai", "apiKey": "sk-proj-123456789", "project": "my-app"},
        )
        listed = await call(client, "vault_list", {"project": "other"})
        file = await call(
            client,
            "vault_store_file",
            {"provider": "opencode", "fileName": "auth.json", "content": content},
        )
        files = await call(client, "vault_list_files", {})
        bad = await call_error(
            client, "vault_store_file", {"provider": "opencode", "fileName": "../x", "content": "x"}
        )
        gone = await call(client, "vault_delete", {"id": stored["id"]})
        again = await call_error(client, "vault_delete", {"id": stored["id"]})
        file_gone = await call(client, "vault_delete_file", {"id": file["id"]})
    assert scoped["project"] == "my-app"
    assert [c["provider"] for c in listed["credentials"]] == ["anthropic"]
    assert secret not in json.dumps(listed) and "oc-in-memory-secret" not in json.dumps(files)
    assert files["files"][0]["fileName"] == "auth.json"
    assert bad["code"] == "invalid_request"
    assert gone == {"ok": True, "id": stored["id"]} and file_gone["ok"] is True
    assert again["code"] == "not_found"
    assert await engine.vault.resolve_keys("openai", "my-app") == ["sk-proj-123456789"]
