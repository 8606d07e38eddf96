"""Reading an API provider's model list the way its API offers it.

- OpenAI and compatible servers (Groq, OpenRouter, Mistral, xAI, your own): `GET
  {base_url}/models` with `Authorization: Bearer`, one page.
- Anthropic: `GET {root}/v1/models` with `x-api-key` and `anthropic-version`, paged by
  `has_more`/`last_id` -> `after_id`.
- Gemini: `GET {root}/v1beta/models` with `x-goog-api-key`, paged by `nextPageToken` ->
  `pageToken`; names are `models/<id>`, and only models that can `generateContent` count.

Every read is bounded in pages and in time, so a provider that pages forever or trickles
cannot hold the refresh that called it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlencode

from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC, DIALECT_GEMINI, DIALECT_OPENAI_CHAT
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.http_client.upstream import StatusError

__all__ = [
    "LIST_TIMEOUT_S",
    "MAX_PAGES",
    "JsonGetter",
    "ModelListError",
    "is_listed",
    "read_model_list",
]

# One page may be slow (OpenRouter's list is large); the whole list must still end.
PAGE_TIMEOUT_S = 15.0
LIST_TIMEOUT_S = 45.0
# Both paged APIs allow 1000 a page, so this is far more models than any provider has.
MAX_PAGES = 20
PAGE_SIZE = 1000
# A snapshot id under an alias: "claude-sonnet-4-5" is listed as "claude-sonnet-4-5-20250929".
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})")

# get_json(url, headers=..., timeout_s=...) as `UpstreamClient.get_json` does it.
JsonGetter = Callable[..., Any]


class ModelListError(Exception):
    """The provider's model list could not be read; the message says why (never a key),
    `status` is the error status it answered, if it answered one, and `unreached` whether its
    host could not be reached at all (no connection made, or no answer in time)."""

    def __init__(self, message: str, status: int | None = None, *, unreached: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.unreached = unreached


async def read_model_list(
    get_json: JsonGetter,
    dialect: str,
    base_url: str,
    api_key: str,
    *,
    page_timeout_s: float = PAGE_TIMEOUT_S,
    list_timeout_s: float = LIST_TIMEOUT_S,
) -> tuple[str, ...]:
    """The model ids the API at `base_url` lists now, in its order, without repeats.

    Raises:
        ModelListError: no answer, an error status, an answer of the wrong shape, or more
            than `MAX_PAGES` pages or `list_timeout_s` seconds.
    """
    pages = _Pages(get_json, page_timeout_s)
    if dialect == DIALECT_ANTHROPIC:
        read = _anthropic(pages, base_url, api_key)
    elif dialect == DIALECT_GEMINI:
        read = _gemini(pages, base_url, api_key)
    else:
        read = _openai(pages, base_url, api_key)
    try:
        async with asyncio.timeout(list_timeout_s):
            ids = await read
    except TimeoutError:
        raise ModelListError(f"no whole answer within {list_timeout_s:g} s") from None
    return tuple(dict.fromkeys(ids))


def is_listed(model: str, listed: Collection[str]) -> bool:
    """Whether `model` is among `listed`, counting an alias whose dated snapshot is listed
    (Anthropic lists `claude-sonnet-4-5-20250929` and serves `claude-sonnet-4-5` too)."""
    if model in listed:
        return True
    prefix = model + "-"
    return any(
        item.startswith(prefix) and _SNAPSHOT_SUFFIX.fullmatch(item, len(model)) for item in listed
    )


class _Pages:
    """GETs one page at a time, each bounded, with errors said the same way for every API."""

    def __init__(self, get_json: JsonGetter, timeout_s: float) -> None:
        self._get_json = get_json
        self._timeout_s = timeout_s

    async def get(self, url: str, headers: Mapping[str, str]) -> Any:
        try:
            return await self._get_json(url, headers=headers, timeout_s=self._timeout_s)
        except TimeoutError:
            raise ModelListError(
                f"no answer within {self._timeout_s:g} s", unreached=True
            ) from None
        except OSError as exc:
            raise ModelListError(f"cannot connect: {exc.strerror or exc}", unreached=True) from None
        except StatusError as exc:
            raise ModelListError(str(exc), exc.status) from None
        except ValueError as exc:  # an error status, or a body that is not JSON
            raise ModelListError(str(exc)) from None


async def _openai(pages: _Pages, base_url: str, api_key: str) -> list[str]:
    chat = DIALECTS[DIALECT_OPENAI_CHAT]
    body = await pages.get(chat.api_root(base_url) + "/models", dict(chat.credential(api_key)))
    # A few compatible servers answer with the bare array.
    data = body.get("data") if isinstance(body, dict) else body
    return _ids(data, "id")


async def _anthropic(pages: _Pages, base_url: str, api_key: str) -> list[str]:
    anthropic = DIALECTS[DIALECT_ANTHROPIC]
    root = anthropic.api_root(base_url)
    headers = dict(anthropic.default_headers + anthropic.credential(api_key))
    ids: list[str] = []
    query: dict[str, str] = {"limit": str(PAGE_SIZE)}
    for _ in range(MAX_PAGES):
        body = await pages.get(f"{root}/models?{urlencode(query)}", headers)
        if not isinstance(body, dict):
            raise ModelListError("the answer is not a model list")
        ids += _ids(body.get("data"), "id")
        last = body.get("last_id")
        if not body.get("has_more") or not isinstance(last, str) or not last:
            return ids
        query["after_id"] = last
    raise ModelListError(f"more than {MAX_PAGES} pages")


async def _gemini(pages: _Pages, base_url: str, api_key: str) -> list[str]:
    gemini = DIALECTS[DIALECT_GEMINI]
    root = gemini.api_root(base_url)
    headers = dict(gemini.credential(api_key))
    ids: list[str] = []
    query: dict[str, str] = {"pageSize": str(PAGE_SIZE)}
    for _ in range(MAX_PAGES):
        body = await pages.get(f"{root}/models?{urlencode(query)}", headers)
        if not isinstance(body, dict):
            raise ModelListError("the answer is not a model list")
        models = body.get("models", [])  # an empty last page may leave it out
        if not isinstance(models, list):
            raise ModelListError("the answer is not a model list")
        chat = [
            m
            for m in models
            if isinstance(m, dict)
            and "generateContent" in (m.get("supportedGenerationMethods") or ())
        ]
        ids += [name.removeprefix("models/") for name in _ids(chat, "name")]
        token = body.get("nextPageToken")
        if not isinstance(token, str) or not token:
            return ids
        query["pageToken"] = token
    raise ModelListError(f"more than {MAX_PAGES} pages")


def _ids(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        raise ModelListError("the answer is not a model list")
    return [str(m[key]) for m in items if isinstance(m, dict) and m.get(key)]
