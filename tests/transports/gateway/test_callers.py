"""The caller's name from its headers: remembered per pair of header values, and the same
name whether remembered or not (masked and filtered as the recorder keeps it)."""

from __future__ import annotations

from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.transports.gateway.callers import caller_name


def test_a_caller_is_named_the_same_remembered_or_not() -> None:
    cases = [
        ({"User-Agent": "claude-cli/2.1.3 (external, cli)"}, "claude-code"),
        ({"User-Agent": "OpenAI/Python 1.99.0"}, "openai-python"),
        ({"User-Agent": "my-tool/1.0 linux"}, "my-tool"),
        ({"X-Caller": "ci <script>", "User-Agent": "curl/8.0"}, "ci script"),
        ({}, ""),
    ]
    for headers, name in cases * 2:  # the second time from what was remembered
        assert caller_name(headers) == name


def test_a_secret_in_a_header_is_masked_in_the_name_each_time() -> None:
    headers = {"X-Caller": "key=sk-proj-abcdefghijklmnop1234"}
    first, again = caller_name(headers), caller_name(headers)
    assert first == again
    assert "abcdefghijklmnop1234" not in first


def test_an_overlong_pair_is_named_without_being_remembered() -> None:
    agent = "tool/1.0 " + "x" * 600
    assert caller_name({"User-Agent": agent}) == "tool"
    assert caller_name({"User-Agent": agent}) == "tool"


def test_a_name_remembered_before_the_process_knew_a_secret_is_masked_after() -> None:
    secret = "operator-bearer-0123456789abcdef"
    headers = {"X-Caller": f"tool {secret}"}
    assert secret in caller_name(headers)  # not a secret yet: no shape, not known
    known_secrets.add(secret)
    try:
        assert secret not in caller_name(headers)
    finally:
        known_secrets.clear()


def test_a_name_with_a_trailing_newline_is_refused_not_taken_as_another() -> None:
    # `^...$` with `match` let "shop\n" through as a project of its own, beside "shop" (and a
    # workspace, a model, a session id, a provider id, a PKCE verifier likewise): a look-alike
    # on every page. Each such check reads the whole string.
    import re

    import pytest

    from llmgw_desktop.engine.auth.oauth_rules import _VERIFIER
    from llmgw_desktop.engine.errors import InvalidRequest
    from llmgw_desktop.transports.gateway.callers import checked_project

    assert checked_project("shop", "project") == "shop"
    with pytest.raises(InvalidRequest):
        checked_project("shop\n", "project")
    assert not _VERIFIER.fullmatch("a" * 43 + "\n") and _VERIFIER.fullmatch("a" * 43)
    assert re.compile("^a$").match("a\n")  # why `fullmatch`: `$` matches before a last newline


def test_openrouters_attribution_names_the_app_after_x_caller_and_before_the_agent() -> None:
    openai_sdk = {"User-Agent": "OpenAI/Python 1.99.0"}
    cases = [
        ({**openai_sdk, "X-Title": "Aider", "HTTP-Referer": "https://aider.chat"}, "Aider"),
        ({**openai_sdk, "X-OpenRouter-Title": "Continue"}, "Continue"),
        ({**openai_sdk, "HTTP-Referer": "https://www.continue.dev/"}, "continue.dev"),
        ({**openai_sdk, "HTTP-Referer": "my-notebook.local"}, "my-notebook.local"),
        ({**openai_sdk, "X-Caller": "ci", "X-Title": "Aider"}, "ci"),
        ({**openai_sdk, "X-Title": "  "}, "openai-python"),
        (
            {**openai_sdk, "X-Title": "<b>Tool</b> sk-proj-abcdefghijklmnop1234"},
            "bTool/b sk-proj-REDACTED",
        ),
    ]
    for headers, name in cases * 2:
        assert caller_name(headers) == name, headers


def test_caller_info_puts_each_header_in_its_own_field() -> None:
    # `caller_info` builds its `CallerInfo` positionally (`engine/values.py` says why): each
    # value distinct here, so one in another's place shows.
    from types import SimpleNamespace

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from llmgw_desktop.engine.api import CallerInfo, Principal, forwardable_headers
    from llmgw_desktop.transports.app_keys import ENGINE
    from llmgw_desktop.transports.auth_edge import PRINCIPAL_KEY
    from llmgw_desktop.transports.gateway.exchange import caller_info

    app = web.Application()
    app[ENGINE] = SimpleNamespace(auth=SimpleNamespace(trusted_header=""))  # type: ignore[misc]
    headers = {
        "X-Caller": "ci",
        "X-Project": "shop",
        "X-Workspace": "/work/shop",
        "X-Session-Id": "gw-1",
        "X-Claude-Code-Session-Id": "cc-2",
        "Cache-Control": "no-store",
    }
    request = make_mocked_request("POST", "/v1/messages?beta=true", headers=headers, app=app)
    principal = Principal("key:ci", "key")
    request[PRINCIPAL_KEY] = principal
    info = caller_info(request, {}, "/v1/messages")
    assert info == CallerInfo(
        principal="key:ci",
        caller="ci",
        project="shop",
        endpoint="/v1/messages",
        transport="http",
        passthrough_headers=info.passthrough_headers,
        passthrough_query="beta=true",
        workspace="/work/shop",
        session_id="gw-1",
        client_session="cc-2",
        cache_control="no-store",
        proven=principal,
    )
    assert info.passthrough_headers == forwardable_headers(request.headers.items())
