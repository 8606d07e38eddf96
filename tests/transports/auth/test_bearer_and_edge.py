"""The front door's locks over a real loopback socket: bearer token, trusted proxy header,
rate limits, CORS, Host/Origin, body size, and the operator-only vault. Each finding class is
knocked on through MCP (`POST /mcp`) and a `/v1` route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.auth import service
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.transports.auth.conftest import (
    CLIENT_ID,
    INITIALIZE,
    TOKEN,
    USER_HEADER,
    Answer,
    Start,
    bearer,
    call_tool,
    mcp_post,
    oauth_access_token,
    oauth_settings,
    send,
    start_proxied_with_a_project,
    structured,
)

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
FOREIGN_ORIGIN = "https://attacker.example"


def openai_error(answer: Answer) -> dict[str, Any]:
    """The OpenAI error envelope, checked for shape."""
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    return dict(error)


async def test_missing_token_is_refused(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN, **oauth_settings()})
    base = gateway.base_url
    mcp = await mcp_post(gateway, {})
    assert mcp.status == 401
    challenge = mcp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert openai_error(mcp)["type"] == "authentication_error"

    for method, path, body in (("GET", "/v1/models", None), ("POST", "/v1/chat/completions", CHAT)):
        answer = await send(gateway, method, path, json=body)
        assert answer.status == 401, path
        assert (
            f'resource_metadata="{base}/.well-known/oauth-protected-resource"'
            in (answer.headers["WWW-Authenticate"])
        )
        assert openai_error(answer)["code"] == "unauthorized"
        # The message names every kind of key a caller may present (a newcomer with a
        # gateway key read only "LLM_GATEWAY_AUTH_TOKEN" and "OAuth" in it).
        assert "gateway key" in openai_error(answer)["message"]
    # Each dialect's clients get the refusal in the envelope they parse, with the stable code.
    anthropic = await send(gateway, "POST", "/v1/messages", json={"messages": []})
    assert anthropic.status == 401
    assert anthropic.json()["error"]["type"] == "authentication_error"
    assert anthropic.json()["error"]["code"] == "unauthorized"
    gemini = await send(gateway, "POST", "/v1beta/models/gemini-2.5-flash:generateContent")
    assert gemini.status == 401
    assert gemini.json()["error"]["status"] == "UNAUTHENTICATED"
    (info,) = gemini.json()["error"]["details"]
    assert info["@type"].endswith("google.rpc.ErrorInfo") and info["reason"] == "unauthorized"
    # The challenge points at a document that exists and names this resource.
    metadata = await send(gateway, "GET", "/.well-known/oauth-protected-resource/mcp")
    assert metadata.json()["resource"] == gateway.mcp_url


async def test_missing_token_without_oauth_points_at_no_oauth_metadata(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    for answer in (await mcp_post(gateway, {}), await send(gateway, "GET", "/v1/models")):
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
        # No OAuth server runs: sending clients to its metadata would only lead to a 404.
        assert "resource_metadata" not in answer.headers["WWW-Authenticate"]
    assert (await send(gateway, "GET", "/.well-known/oauth-protected-resource/mcp")).status == 404


async def test_challenge_uses_the_public_url_not_the_host_header(start: Start) -> None:
    public = "https://gw.example.com"
    gateway = await start({"http.auth_token": TOKEN, "http.public_url": public, **oauth_settings()})
    answer = await mcp_post(gateway, {"Host": "gw.example.com"})
    assert answer.status == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert f'resource_metadata="{public}/.well-known/oauth-protected-resource/mcp"' in challenge
    metadata = await send(gateway, "GET", "/.well-known/oauth-protected-resource/mcp")
    assert metadata.json()["resource"] == f"{public}/mcp"


async def test_wrong_token_is_refused(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN, **oauth_settings()})
    for token in ("not-the-token", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
        mcp = await mcp_post(gateway, bearer(token))
        assert mcp.status == 401, token
        assert 'error="invalid_token"' in mcp.headers["WWW-Authenticate"]
        models = await send(gateway, "GET", "/v1/models", headers=bearer(token))
        assert models.status == 401, token
        assert openai_error(models)["code"] == "unauthorized"
        chat = await send(gateway, "POST", "/v1/chat/completions", json=CHAT, headers=bearer(token))
        assert chat.status == 401, token
    # Another scheme carrying the right value is not a bearer token either.
    basic = await send(gateway, "GET", "/v1/models", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status == 401


async def test_guessing_tokens_is_throttled_per_address(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    statuses = [
        (await send(gateway, "GET", "/v1/models", headers=bearer(f"guess-{n}"))).status
        for n in range(service.FAILED_BURST + 1)
    ]
    assert statuses[:-1] == [401] * service.FAILED_BURST
    assert statuses[-1] == 429
    # Throttling never refuses a valid credential: the right token from the same address is
    # checked first and gets in (tests/security/test_lockout.py covers this in depth).
    right = await send(gateway, "GET", "/v1/models", headers=bearer())
    assert right.status == 200
    local = await send(
        gateway,
        "GET",
        "/v1/models",
        headers={"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token},
    )
    assert local.status == 200
    # Further guesses stay throttled.
    again = await send(gateway, "GET", "/v1/models", headers=bearer("guess-again"))
    assert again.status == 429 and int(again.headers["Retry-After"]) >= 1


async def test_right_token_is_accepted(start: Start, provider_env: None) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    result = await call_tool(gateway, bearer(), "llm_process_health", {})
    assert not result.is_error, result
    assert structured(result)["engine"]["status"] == "ok"
    models = await send(gateway, "GET", "/v1/models", headers=bearer())
    assert models.status == 200, models.text
    assert models.json()["data"]
    chat = await send(gateway, "POST", "/v1/chat/completions", json=CHAT, headers=bearer())
    assert chat.status == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"].startswith(DEFAULT_ANSWER)
    # The call is recorded against the bearer's principal, not the local user.
    rows = await gateway.engine.recorder.recent(limit=5)
    assert {r["owner_principal"] for r in rows} == {"gateway-bearer"}


async def test_a_clients_probe_of_the_base_url_is_answered_and_not_counted_as_refused(
    start: Start,
) -> None:
    """Claude Code sends `HEAD /` to its base URL before its first call: on a locked gateway
    that was a 401 counted in /health's refusals, which made a person suspect their key."""
    gateway = await start({"http.auth_token": TOKEN})
    for method in ("HEAD", "GET"):
        answer = await send(gateway, method, "/")
        assert answer.status == 200, method
    root = await send(gateway, "GET", "/")
    assert root.json() == {"name": "llmgw-desktop", "health": "/health", "api": "/v1"}
    health = (await send(gateway, "GET", "/health")).json()
    assert health["refused"]["total"] == 0, health["refused"]
    # Only "/" itself: any other path still needs the key.
    assert (await send(gateway, "GET", "/v1/models")).status == 401


async def test_health_stays_public_and_says_nothing_sensitive(start: Start, tmp_path: Path) -> None:
    gateway = await start(
        {"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER, **oauth_settings()}
    )
    anonymous = await send(gateway, "GET", "/health")
    assert anonymous.status == 200
    assert anonymous.json()["status"] == "ok"
    with_user = await send(gateway, "GET", "/health", headers=bearer(**{USER_HEADER: "alice"}))
    for answer in (anonymous, with_user):
        text = answer.text
        assert TOKEN not in text and gateway.engine.auth.instance_token not in text
        assert str(tmp_path) not in text and str(Path.home()) not in text
        assert "/" not in "".join(str(v) for v in answer.json().values())  # no paths
        for word in ("principal", "alice", "gateway-bearer", "local", CLIENT_ID, "token"):
            assert word not in text.lower(), word


async def test_timing_safe_comparison_in_use(start: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = service.constant_time_equal

    def spy(presented: str, expected: str) -> bool:
        compared.append((presented, expected))
        return real(presented, expected)

    monkeypatch.setattr(service, "constant_time_equal", spy)
    gateway = await start({"http.auth_token": TOKEN})
    wrong = "a-wrong-token-of-the-same-length-as-the-real-one!"
    assert (await mcp_post(gateway, bearer(wrong))).status == 401
    assert (wrong, TOKEN) in compared
    compared.clear()
    assert (await send(gateway, "GET", "/v1/models", headers=bearer())).status == 200
    assert (TOKEN, TOKEN) in compared


async def test_trusted_header_without_bearer_is_refused_or_ignored(start: Start) -> None:
    gateway = await start(
        {"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER, **oauth_settings()}
    )
    for headers in ({USER_HEADER: "alice"}, bearer("wrong-token") | {USER_HEADER: "alice"}):
        assert (await mcp_post(gateway, headers)).status == 401
        assert (await send(gateway, "GET", "/v1/models", headers=headers)).status == 401
        chat = await send(gateway, "POST", "/v1/chat/completions", json=CHAT, headers=headers)
        assert chat.status == 401
    # With an OAuth token instead of the static bearer, the header names nobody.
    access = await oauth_access_token(gateway)
    verdict = await gateway.engine.auth.authenticate(
        {"Authorization": f"Bearer {access}", USER_HEADER: "alice"}
    )
    assert verdict.principal is not None and verdict.principal.id == f"oauth:{CLIENT_ID}"
    result = await call_tool(gateway, bearer(access, **{USER_HEADER: "alice"}), "session_list", {})
    assert not result.is_error, result


@pytest.mark.parametrize(
    "name",
    [
        "alice bob",
        "alice;drop",
        "../../etc",
        "alice/bob",
        "<script>",
        "alice,bob",
        "-alice",
        "a" * 65,
        "",
        "alice\tbob",
    ],
)
async def test_trusted_header_with_bad_characters_is_refused(start: Start, name: str) -> None:
    gateway = await start({"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER})
    headers = bearer(**{USER_HEADER: name})
    mcp = await mcp_post(gateway, headers)
    assert mcp.status in (400, 401), mcp.text
    assert mcp.json()["error"]["message"].startswith(f"the {USER_HEADER} header")
    models = await send(gateway, "GET", "/v1/models", headers=headers)
    assert models.status in (400, 401)
    assert openai_error(models)["message"].startswith(f"the {USER_HEADER} header")


async def test_trusted_header_names_the_principal(start: Start, tmp_path: Path) -> None:
    gateway = await start_proxied_with_a_project(start, tmp_path / "project")
    alice, bob = bearer(**{USER_HEADER: "alice"}), bearer(**{USER_HEADER: "bob@example.com"})
    made = await call_tool(
        gateway, alice, "session_create", {"provider": "claude", "workspace": "project"}
    )
    assert not made.is_error, made
    session_id = structured(made)["sessionId"]

    mine = structured(await call_tool(gateway, alice, "session_list", {}))
    assert [s["sessionId"] for s in mine["sessions"]] == [session_id]
    theirs = structured(await call_tool(gateway, bob, "session_list", {}))
    assert theirs["sessions"] == []
    peek = await call_tool(gateway, bob, "session_get", {"sessionId": session_id})
    assert peek.is_error and structured(peek)["error"]["code"] == "not_found"
    shared = structured(await call_tool(gateway, bearer(), "session_list", {}))
    assert shared["sessions"] == []  # the bare bearer is yet another principal
    owners = await gateway.engine.sessions.list_sessions("user:alice", None)
    assert [s.id for s in owners] == [session_id]


async def test_rate_limit_answers_429_with_retry_after(start: Start) -> None:
    gateway = await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "http.rate_limit_per_minute": 1,
            "http.rate_limit_burst": 2,
        },
    )
    assert (await send(gateway, "GET", "/v1/models", headers=bearer())).status == 200
    assert (await mcp_post(gateway, bearer())).status == 200
    models = await send(gateway, "GET", "/v1/models", headers=bearer())
    assert models.status == 429
    assert openai_error(models)["code"] == "rate_limited"
    assert 1 <= int(models.headers["Retry-After"]) <= 60
    mcp = await mcp_post(gateway, bearer())
    assert mcp.status == 429 and int(mcp.headers["Retry-After"]) >= 1
    chat = await send(gateway, "POST", "/v1/messages", json={"messages": []}, headers=bearer())
    assert chat.status == 429 and chat.json()["error"]["type"] == "rate_limit_error"
    # Limits are per principal: another user behind the same token still gets in,
    # and so does the local user with the instance token.
    other = bearer(**{USER_HEADER: "carol"})
    assert (await send(gateway, "GET", "/v1/models", headers=other)).status == 200
    local = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    for _ in range(4):
        assert (await send(gateway, "GET", "/v1/models", headers=local)).status == 200


async def test_cors_is_closed_by_default(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    for origin in (FOREIGN_ORIGIN, "http://localhost:5173"):
        for path in (gateway.settings.http.path, "/v1/chat/completions", "/v1/models"):
            preflight = await send(
                gateway,
                "OPTIONS",
                path,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert preflight.status in (403, 405), (origin, path, preflight.status)
            assert "Access-Control-Allow-Origin" not in preflight.headers
            assert "Access-Control-Allow-Headers" not in preflight.headers
    # A loopback page's plain request is served, but the browser gets no CORS grant to read it.
    plain = await send(gateway, "GET", "/v1/models", headers=bearer(Origin="http://localhost:5173"))
    assert plain.status == 200
    assert "Access-Control-Allow-Origin" not in plain.headers


async def test_foreign_host_is_refused(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    for host in ("attacker.example", "attacker.example:3333", "127.0.0.1.attacker.example"):
        headers = bearer(Host=host)  # even the right token does not help a rebound name
        mcp = await mcp_post(gateway, headers)
        assert mcp.status == 421, host
        assert openai_error(mcp)["code"] == "host_not_allowed"
        models = await send(gateway, "GET", "/v1/models", headers=headers)
        assert models.status == 421
        health = await send(gateway, "GET", "/health", headers={"Host": host})
        assert health.status == 421
    assert (await mcp_post(gateway, bearer(Host="localhost"))).status == 200


async def test_foreign_origin_is_refused(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    for origin in (FOREIGN_ORIGIN, "null", "http://127.0.0.1.attacker.example"):
        headers = bearer(Origin=origin)
        mcp = await mcp_post(gateway, headers)
        assert mcp.status == 403, origin
        assert openai_error(mcp)["code"] == "origin_not_allowed"
        chat = await send(gateway, "POST", "/v1/chat/completions", json=CHAT, headers=headers)
        assert chat.status == 403
        assert "Access-Control-Allow-Origin" not in chat.headers
    assert (await mcp_post(gateway, bearer(Origin="http://localhost:8080"))).status == 200


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


async def test_body_size_limit(start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN, "http.max_body_bytes": 2048})
    big = json.dumps(INITIALIZE | {"pad": "x" * 8192}).encode()
    json_type = {"Content-Type": "application/json"}
    mcp = await mcp_post(gateway, bearer(**json_type), json=None, data=big)
    assert mcp.status == 413
    assert openai_error(mcp)["code"] == "body_too_large"
    chat = await send(
        gateway, "POST", "/v1/chat/completions", data=big, headers=bearer(**json_type)
    )
    assert chat.status == 413
    # The limit holds before authentication, so strangers cannot make it buffer either.
    assert (await mcp_post(gateway, json_type, json=None, data=big)).status == 413
    # And without a Content-Length to refuse up front (chunked), reading stops at the limit.
    chunked_mcp = await mcp_post(gateway, bearer(**json_type), json=None, data=_chunked(big))
    assert chunked_mcp.status == 413, chunked_mcp.text
    chunked_chat = await send(
        gateway, "POST", "/v1/chat/completions", data=_chunked(big), headers=bearer(**json_type)
    )
    assert chunked_chat.status == 413, chunked_chat.text


async def test_vault_is_operator_only(start: Start) -> None:
    gateway = await start(
        {"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER, **oauth_settings()}
    )
    operator = bearer()
    stored = await send(
        gateway,
        "POST",
        "/v1/credentials",
        json={"provider": "anthropic", "apiKey": "sk-ant-api03-operator-secret"},
        headers=operator,
    )
    assert stored.status == 201, stored.text
    record_id = stored.json()["id"]
    listed = await send(gateway, "GET", "/v1/credentials", headers=operator)
    assert [c["id"] for c in listed.json()["credentials"]] == [record_id]
    tool = await call_tool(gateway, operator, "vault_list", {})
    assert [c["id"] for c in structured(tool)["credentials"]] == [record_id]

    access = await oauth_access_token(gateway)
    outsiders = {"trusted-header user": bearer(**{USER_HEADER: "alice"}), "oauth": bearer(access)}
    for who, headers in outsiders.items():
        for method, path, body in (
            ("GET", "/v1/credentials", None),
            ("POST", "/v1/credentials", {"provider": "openai", "apiKey": "sk-proj-stolen"}),
            ("DELETE", f"/v1/credentials/{record_id}", None),
            ("GET", "/v1/files", None),
        ):
            answer = await send(gateway, method, path, json=body, headers=headers)
            assert answer.status == 403, (who, method, path, answer.status)
            assert openai_error(answer)["code"] == "operator_only", (who, method, path)
            assert "sk-ant" not in answer.text
        for name, arguments in (
            ("vault_list", {}),
            ("vault_store", {"provider": "openai", "apiKey": "sk-proj-stolen"}),
            ("vault_delete", {"id": record_id}),
            ("vault_list_files", {}),
        ):
            result = await call_tool(gateway, headers, name, arguments)
            assert result.is_error, (who, name)
            assert structured(result)["error"]["code"] == "operator_only", (who, name)
    # Nothing the outsiders tried changed the vault.
    after = await send(gateway, "GET", "/v1/credentials", headers=operator)
    assert [c["id"] for c in after.json()["credentials"]] == [record_id]
