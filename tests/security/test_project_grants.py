"""A project's keys, logins and budgets are the operator's to hand out (issue 26, item 3).

Against a running gateway with its front door locked (static bearer, a trusted proxy header,
OAuth), project `shop` holds its own OpenAI and Anthropic keys in the vault and is granted to
`user:alice` in `[projects.grants]`. Another principal naming `shop` (body `project`,
`X-Project`, an MCP tool's `project` argument) is refused with 403 `forbidden` in its own
dialect, naming the project and the setting, before any upstream or CLI is asked; alice, the
operator's bearer and the local user are served with shop's key, and a call naming no project
is served for anyone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from tests.contract.conftest import VIBE_BIN
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.security._power_support import oauth_mcp
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    bearer,
    oauth_settings,
    provider_env,
    start,
)

SHOP_OPENAI_KEY = "sk-shop-project-openai-key-with-its-own-length"
SHOP_ANTHROPIC_KEY = "sk-ant-shop-project-key-with-a-length-of-its-own-0"
GRANTS = {"shop": ["user:alice"]}


@pytest.fixture
async def gateway(start: Start, provider_env: None, tmp_path: Path) -> AsyncIterator[Any]:  # noqa: F811
    runtime = await start(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "projects.grants": GRANTS,
            "providers.cli_path": [str(VIBE_BIN)],
            "workspaces.registry": {"web": str(tmp_path)},
        },
    )
    vault = runtime.engine.vault
    await vault.store_key(LOCAL_CALLER, "openai", SHOP_OPENAI_KEY, project="shop")
    await vault.store_key(LOCAL_CALLER, "anthropic", SHOP_ANTHROPIC_KEY, project="shop")
    yield runtime


def _as(name: str) -> dict[str, str]:
    return bearer(**{USER_HEADER: name})


def _openai(gateway: GatewayRuntime, headers: dict[str, str]) -> openai.AsyncOpenAI:
    token = headers.pop("Authorization", "Bearer none").removeprefix("Bearer ")
    return openai_client(gateway, token, headers=headers)


def _anthropic(gateway: GatewayRuntime, headers: dict[str, str]) -> anthropic.AsyncAnthropic:
    return claude_client(gateway, headers=headers)


def _gemini(gateway: GatewayRuntime, headers: dict[str, str]) -> genai.Client:
    return gemini_client(gateway, headers=headers)


def _forbidden(message: str) -> None:
    assert "'shop'" in message and "user:mallory" in message, message
    assert "projects.grants" in message, message


def _asked(upstream: ScriptedUpstream) -> list[str]:
    """What the upstream was asked, model lists aside (the gateway reads those itself)."""
    return [r.path for r in upstream.requests if r.endpoint != "models"]


def _key_lengths(upstream: ScriptedUpstream) -> list[int]:
    """The length of each LLM call's credential as the upstream saw it (the fake keeps only
    lengths, so the shop keys are told from the global ones by theirs)."""
    lengths = []
    for r in upstream.llm_requests:
        seen = r.headers.get("authorization") or r.headers.get("x-api-key", "")
        bearer_prefix = len("Bearer ") if "authorization" in r.headers else 0
        lengths.append(int(re.sub(r"\D", "", seen)) - bearer_prefix)
    return lengths


async def test_another_principal_naming_the_project_is_refused_in_every_dialect(
    gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    mallory = _as("mallory")
    with pytest.raises(openai.PermissionDeniedError) as chat:
        await _openai(gateway, mallory | {"X-Project": "shop"}).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    body = chat.value.body
    assert isinstance(body, dict) and body["code"] == "forbidden", body
    _forbidden(body["message"])
    with pytest.raises(openai.PermissionDeniedError) as responses:
        await _openai(gateway, dict(mallory)).responses.create(
            model="gpt-4o", input="hi", stream=True, extra_body={"project": "shop"}
        )
    body = responses.value.body
    assert isinstance(body, dict) and body["code"] == "forbidden", body
    _forbidden(body["message"])
    with pytest.raises(anthropic.PermissionDeniedError) as messages:
        await _anthropic(gateway, mallory | {"X-Project": "shop"}).messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    error = messages.value.body
    assert isinstance(error, dict) and error["error"]["type"] == "permission_error", error
    _forbidden(error["error"]["message"])
    with pytest.raises(genai_errors.ClientError) as gemini:
        await _gemini(gateway, mallory | {"X-Project": "shop"}).aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert gemini.value.code == 403
    _forbidden(gemini.value.message or "")
    # Counting tokens would use shop's key too.
    with pytest.raises(anthropic.PermissionDeniedError):
        await _anthropic(gateway, mallory | {"X-Project": "shop"}).messages.count_tokens(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
        )
    assert _asked(upstream) == []
    rows = await gateway.engine.recorder.recent("user:mallory")
    assert rows and all(r["error_code"] == "forbidden" for r in rows)


async def test_the_grantee_and_the_operator_are_served_with_the_projects_key(
    gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    local = {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token}
    for headers in (_as("alice"), bearer(), local):
        answer = await _openai(gateway, headers | {"X-Project": "shop"}).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content
        await _anthropic(gateway, headers | {"X-Project": "shop"}).messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert _key_lengths(upstream) == [len(SHOP_OPENAI_KEY), len(SHOP_ANTHROPIC_KEY)] * 3
    # Without a project, anyone may call (on the global keys).
    answer = await _openai(gateway, _as("mallory")).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content
    assert _key_lengths(upstream)[-1] != len(SHOP_OPENAI_KEY)


async def test_an_oauth_client_naming_the_project_over_mcp_is_refused_before_the_cli(
    gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    async with oauth_mcp(gateway) as client:
        result = await client.call_tool(
            "mistral_request", {"prompt": "hi", "project": "shop", "workspace": "web"}
        )
    assert result.is_error and result.structured_content is not None, result
    error = result.structured_content["error"]
    assert error["code"] == "forbidden", error
    assert "'shop'" in error["message"] and "oauth:laptop-editor" in error["message"]
    assert error["details"]["setting"] == "projects.grants.shop"
    assert _asked(upstream) == []
