"""Reading providers' model lists the way each API offers them, against the fake upstream on
loopback: OpenAI's one page, Anthropic's and Gemini's pages, and every way a read can fail."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
)
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.model_lists import (
    MAX_PAGES,
    ModelListError,
    is_listed,
    read_model_list,
)
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port

KEY = "sk-test-list-key-0123"
CLAUDES = ["claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-x", "c-5"]


def _lists(up: ScriptedUpstream) -> list[Any]:
    return [r for r in up.requests if r.endpoint == "models"]


async def test_an_openai_style_list_is_one_get_with_a_bearer_key(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.model_ids["chat"] = ["gpt-5.5", "gpt-4o", "gpt-5.5", "sora-2"]
    ids = await read_model_list(client.get_json, DIALECT_OPENAI_CHAT, up.base_url + "/v1/", KEY)
    assert ids == ("gpt-5.5", "gpt-4o", "sora-2")  # in its order, without repeats
    (seen,) = _lists(up)
    assert (seen.method, seen.path, seen.dialect) == ("GET", "/v1/models", "chat")
    assert seen.headers["authorization"] == f"<redacted {len('Bearer ' + KEY)} chars>"


async def test_an_anthropic_list_follows_last_id_through_every_page(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.model_ids["anthropic"] = CLAUDES
    up.models_page_size = 2
    ids = await read_model_list(client.get_json, DIALECT_ANTHROPIC, up.base_url, KEY)
    assert list(ids) == CLAUDES
    pages = _lists(up)
    assert [p.path for p in pages] == ["/v1/models"] * 3
    assert [p.query.get("after_id") for p in pages] == [None, CLAUDES[1], CLAUDES[3]]
    assert {p.query["limit"] for p in pages} == {"1000"}
    assert pages[0].headers["anthropic-version"] == "2023-06-01"
    assert pages[0].headers["x-api-key"] == f"<redacted {len(KEY)} chars>"
    assert "authorization" not in pages[0].headers


async def test_a_gemini_list_follows_page_tokens_and_keeps_only_chat_models(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.model_ids["gemini"] = ["gemini-3-pro", "text-embedding", "gemini-2.5-flash", "gemma-3"]
    up.models_page_size = 3
    ids = await read_model_list(client.get_json, DIALECT_GEMINI, up.base_url, KEY)
    assert ids == ("gemini-3-pro", "gemini-2.5-flash", "gemma-3")  # no "models/" prefix
    pages = _lists(up)
    assert [p.path for p in pages] == ["/v1beta/models"] * 2
    assert [p.query.get("pageToken") for p in pages] == [None, "3"]
    assert pages[0].query["pageSize"] == "1000"
    assert pages[0].headers["x-goog-api-key"] == f"<redacted {len(KEY)} chars>"


async def test_a_list_that_pages_forever_is_cut_off(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.model_ids["anthropic"] = [f"claude-{n}" for n in range(MAX_PAGES + 5)]
    up.models_page_size = 1
    with pytest.raises(ModelListError, match=f"more than {MAX_PAGES} pages"):
        await read_model_list(client.get_json, DIALECT_ANTHROPIC, up.base_url, KEY)
    assert len(_lists(up)) == MAX_PAGES


async def test_a_list_that_does_not_come_is_given_up_in_time(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    up.models_gate = asyncio.Event()  # never opened
    with pytest.raises(ModelListError, match=r"no answer within 0\.2 s"):
        await read_model_list(
            client.get_json, DIALECT_OPENAI_CHAT, up.base_url + "/v1", KEY, page_timeout_s=0.2
        )
    with pytest.raises(ModelListError, match=r"no whole answer within 0\.2 s"):
        await read_model_list(client.get_json, DIALECT_GEMINI, up.base_url, KEY, list_timeout_s=0.2)


async def test_nothing_listening_or_an_error_status_is_a_model_list_error(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    with pytest.raises(ModelListError, match="cannot connect"):
        await read_model_list(
            client.get_json, DIALECT_OPENAI_CHAT, f"http://127.0.0.1:{free_port()}/v1", KEY
        )
    # The fake upstream has no /v2/models: a 404, said with the URL (never the key).
    with pytest.raises(ModelListError, match="answered 404") as caught:
        await read_model_list(client.get_json, DIALECT_OPENAI_CHAT, up.base_url + "/v2", KEY)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        (DIALECT_OPENAI_CHAT, {"data": "nope"}),
        (DIALECT_OPENAI_CHAT, "a string"),
        (DIALECT_ANTHROPIC, ["not", "an", "object"]),
        (DIALECT_GEMINI, {"models": {"name": "models/x"}}),
    ],
)
async def test_an_answer_of_the_wrong_shape_is_a_model_list_error(dialect: str, body: Any) -> None:
    async def get_json(url: str, **_: Any) -> Any:
        return body

    with pytest.raises(ModelListError, match="not a model list"):
        await read_model_list(get_json, dialect, "https://api.example", KEY)


@pytest.mark.parametrize(
    ("model", "listed"),
    [
        ("claude-sonnet-4-5", True),  # its dated snapshot is listed
        ("claude-opus-4-6", True),
        ("claude-sonnet-4", False),  # a prefix of another id is not a snapshot of it
        ("gpt-4o", True),
        ("gpt-4o-mini", False),
    ],
)
def test_an_alias_counts_as_listed_when_its_dated_snapshot_is(model: str, listed: bool) -> None:
    ids = {"claude-opus-4-6", "claude-sonnet-4-5-20250929", "gpt-4o", "gpt-4o-2024-08-06"}
    assert is_listed(model, ids) is listed
