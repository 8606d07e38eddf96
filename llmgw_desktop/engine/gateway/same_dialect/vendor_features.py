"""What a client's request asks of the vendor's own account, beyond a model's answer.

A same-dialect request goes upstream as it came (`passthrough.py`), so whatever it names is done
on the operator's key: a vendor's server tools (billed searches, code containers), MCP servers
the vendor connects to, state kept at the vendor (stored responses, conversations, files,
caches), beta features and faster, dearer service tiers. `vendor_features` names each such use
in one vocabulary for every dialect (the names an operator lists in
`gateway.remote_passthrough`), with where in the request it was found. It is a pure reading of
the body and headers; the policy is `remote_passthrough.py`.

Tool types are read against a list of client-side ones (functions, custom tools, the tools a
client runs itself such as Anthropic's `bash_*` or OpenAI's `local_shell`): any other type is
taken for a server tool, so a type the gateway does not know yet is not let through unnamed.
An OpenAI `namespace` tool groups tools under one name: the tools inside it are read the same
way (a namespace nested deeper than `_MAX_NAMESPACE_DEPTH` is named as a server tool itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field as gemini_field

__all__ = ["BETA_HEADERS", "FEATURES", "VendorFeature", "fetched_by_vendor", "vendor_features"]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_CONTAINERS = (list, dict)

# The names an operator may list, with what each lets through (README and SECURITY.md show them).
FEATURES: Mapping[str, str] = {
    "mcp_servers": "the vendor connects to MCP servers the request names (Anthropic "
    "`mcp_servers`, an OpenAI `mcp` tool)",
    "web_search": "billed web searches (Anthropic `web_search_*`, OpenAI `web_search*` tools "
    "and Chat `web_search_options`, Gemini `googleSearch`)",
    "web_fetch": "the vendor fetches URLs (Anthropic `web_fetch_*`, Gemini `urlContext` and "
    "`fileData` naming a web address, an image or document named by its address: OpenAI "
    "`image_url`, `input_image`, `input_file.file_url`, an Anthropic `url` source)",
    "code_execution": "code run in the vendor's containers (Anthropic `code_execution_*`, "
    "OpenAI `code_interpreter`, Gemini `codeExecution`)",
    "container": "reuse of a vendor code container by id (Anthropic `container`)",
    "file_search": "searches of the operator's vector stores (OpenAI `file_search`)",
    "image_generation": "billed image generation (OpenAI `image_generation` tool)",
    "file_id": "files in the operator's vendor Files API, by id (Gemini `fileData` naming a "
    "file or a bucket)",
    "item_reference": "items stored at the vendor, by id (OpenAI Responses `item_reference`)",
    "store": "the vendor keeps the exchange (OpenAI `store: true`; a Responses request "
    "without `store` is sent with `store: false`)",
    "background": "a Responses run the vendor finishes on its own (`background: true`)",
    "conversation": "a conversation stored at the vendor (Responses `conversation`)",
    "prompt": "a prompt template stored at the vendor (Responses `prompt`)",
    "cached_content": "a Gemini context cache by name (`cachedContent`)",
    "service_tier": "a dearer service tier (`service_tier` other than auto, default or flex)",
    "anthropic-beta": "every account-feature `anthropic-beta` value (or one: "
    "`anthropic-beta:NAME`)",
    "openai-beta": "every account-feature `openai-beta` value (or one: `openai-beta:NAME`)",
}
# Request headers that switch on vendor beta features, each value a comma-separated list.
BETA_HEADERS = ("anthropic-beta", "openai-beta")
# The beta values that open the vendor account's own features (MCP connections, containers,
# the Files API, skills, fetching). Other betas change how the model answers (thinking,
# context management, caching scope) and are sent by clients in their default set-up: Claude
# Code names eight on every request, new ones with each release, so refusing every beta would
# refuse Claude Code. The features those betas unlock are also named by the body (tools,
# `mcp_servers`, `container`, file ids) and refused there.
_ACCOUNT_BETAS = re.compile(
    r"^(mcp-client|code-execution|files-api|skills|web-fetch|container|assistants)", re.I
)

# Tool types a client runs itself: the vendor only asks the client to run them.
_ANTHROPIC_CLIENT_TOOLS = re.compile(r"^(custom|bash_\d+|text_editor_\d+|computer_\d+|memory_\d+)$")
_OPENAI_CLIENT_TOOLS = frozenset(
    {
        "function",
        "custom",
        "local_shell",
        "shell",
        "apply_patch",
        "computer",
        "computer_use",
        "computer_use_preview",
    }
)
# OpenAI tool types that run on either side, as their `execution` says: Codex declares
# `tool_search` with `execution: "client"` (it searches its own deferred tools and answers the
# call itself) in its default set-up; hosted execution stays a server tool.
_OPENAI_EITHER_SIDE_TOOLS = frozenset({"tool_search"})
# Server tool type (its version suffix taken off) -> the feature it is.
_SERVER_TOOL_NAMES = {
    "web_search": "web_search",
    "web_search_preview": "web_search",
    "web_fetch": "web_fetch",
    "code_execution": "code_execution",
    "code_interpreter": "code_execution",
    "mcp": "mcp_servers",
    "mcp_toolset": "mcp_servers",
    "file_search": "file_search",
    "image_generation": "image_generation",
}
_GEMINI_TOOLS = {
    "googleSearch": "web_search",
    "googleSearchRetrieval": "web_search",
    "enterpriseWebSearch": "web_search",
    "urlContext": "web_fetch",
    "codeExecution": "code_execution",
    "fileSearch": "file_search",
}
# A Gemini tool entry that only declares functions.
_GEMINI_CLIENT_TOOLS = ("functionDeclarations",)
# OpenAI's tool that holds other tools (`tools` inside it).
_NAMESPACE = "namespace"
# Namespaces inside namespaces read before the rest is taken for a server tool.
_MAX_NAMESPACE_DEPTH = 4
_VERSION = re.compile(r"(_\d{4}_?\d{2}_?\d{2}|_\d{8}|_\d+)$")
_CHEAP_TIERS = frozenset({"auto", "default", "flex", "standard_only"})


@dataclass(frozen=True)
class VendorFeature:
    """One use of the vendor's account: its name in the policy and where the request has it."""

    name: str
    where: str


def vendor_features(
    dialect: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> list[VendorFeature]:
    """Every vendor feature a request of `dialect` asks for, in the order found (never raises:
    a malformed part is the upstream's to refuse, and asks for nothing here)."""
    return _features(dialect, body, headers, stored=True)


def _features(
    dialect: str, body: Mapping[str, Any], headers: Mapping[str, str], *, stored: bool
) -> list[VendorFeature]:
    """`vendor_features`; without `stored`, leaving out the walk for what is stored at the
    vendor (`_stored_parts`: file ids and stored items, never `web_fetch`)."""
    found = _account_betas(headers)
    if dialect == DIALECT_GEMINI:
        found += _gemini(body)
        return found
    tools = body.get("tools")
    if tools is not None:  # most requests name none: no generator made to find nothing
        found += _tools(dialect, tools)
    tier = body.get("service_tier")
    if tier is not None and tier not in _CHEAP_TIERS:
        found.append(VendorFeature("service_tier", f"service_tier {tier!r}"))
    if dialect == DIALECT_ANTHROPIC:
        found += _anthropic(body)
    elif dialect == DIALECT_OPENAI_CHAT:
        found += _openai_chat(body)
    elif dialect == DIALECT_OPENAI_RESPONSES:
        found += _openai_responses(body)
    else:
        return found
    # Anthropic and OpenAI Chat carry their parts in `messages`, Responses in `input`.
    where = "input" if dialect == DIALECT_OPENAI_RESPONSES else "messages"
    items = body.get(where)
    if _plain_items(items):
        return found
    if stored:
        found += _stored_parts(items, where)
    found += _fetched(items, where, depth=0)
    return found


# Every member of a message (or Responses item) that `_stored_parts` or `_fetched` reads, but
# `content`: a message with none of them, and text for its content, names nothing either finds.
_READ_IN_A_MESSAGE = frozenset(
    {"type", "source", "file", "file_id", "image_url", "file_url", "output"}
)


def _plain_items(items: Any) -> bool:
    """Whether neither walk (`_stored_parts`, `_fetched`) can find anything in `items`: no
    list, or one of messages of text (a chat's usual body), which both walks would read member
    by member to find nothing (about 17 k instructions for one message, callgrind)."""
    if items is None:
        return True
    if not isinstance(items, list):
        return False
    for item in items:
        if isinstance(item, dict):
            if not _READ_IN_A_MESSAGE.isdisjoint(item) or isinstance(item.get("content"), list):
                return False
        elif isinstance(item, list):
            return False
    return True


def _account_betas(headers: Mapping[str, str]) -> list[VendorFeature]:
    """The beta headers' values that switch on a feature of the vendor's account."""
    found: list[VendorFeature] = []
    for header in BETA_HEADERS:
        listed = headers.get(header)
        if not listed:
            continue  # most requests name no beta: nothing to split or match
        for value in listed.split(","):
            if _ACCOUNT_BETAS.match(value.strip()):
                found.append(VendorFeature(f"{header}:{value.strip()}", f"header {header}"))
    return found


def _anthropic(body: Mapping[str, Any]) -> list[VendorFeature]:
    """An Anthropic request's own members that use the account: MCP servers, a container."""
    return [VendorFeature(name, name) for name in ("mcp_servers", "container") if body.get(name)]


def _openai_chat(body: Mapping[str, Any]) -> list[VendorFeature]:
    """An OpenAI Chat request's own members that use the account: web search, storing."""
    found: list[VendorFeature] = []
    if body.get("web_search_options") is not None:
        found.append(VendorFeature("web_search", "web_search_options"))
    if body.get("store") is True:
        found.append(VendorFeature("store", "store"))
    return found


def _openai_responses(body: Mapping[str, Any]) -> list[VendorFeature]:
    """A Responses request's own members that use the account: background runs, storing, a
    stored conversation or prompt."""
    found = [
        VendorFeature(name, name) for name in ("background", "store") if body.get(name) is True
    ]
    found += [VendorFeature(name, name) for name in ("conversation", "prompt") if body.get(name)]
    return found


def fetched_by_vendor(dialect: str, body: Mapping[str, Any]) -> list[VendorFeature]:
    """What in a request makes the vendor fetch a web address (`web_fetch`): checked on a
    translated request too, where the neutral form carries an image or document's address to
    the target vendor as it came."""
    return [f for f in _features(dialect, body, {}, stored=False) if f.name == "web_fetch"]


# Deep enough for an image in a tool's result inside a message (or a Responses tool output).
_MAX_FETCH_DEPTH = 6


def _address(value: Any) -> bool:
    """A web address the vendor would fetch (an inline `data:` URI is the content itself)."""
    return isinstance(value, str) and value.lstrip()[:5].lower() != "data:"


def _fetched(items: Any, where: str, *, depth: int) -> list[VendorFeature]:
    """Images and documents named by their web address, anywhere in a message list: OpenAI
    Chat `image_url`, Responses `input_image` and `input_file.file_url`, Anthropic `url`
    sources (a tool's result holds blocks of its own)."""
    found: list[VendorFeature] = []
    _find_fetched(items, where, depth, found)
    return found


def _find_fetched(items: Any, place: _Place, depth: int, found: list[VendorFeature]) -> None:
    if depth > _MAX_FETCH_DEPTH:
        return
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, _CONTAINERS):  # nothing else names an address
                _find_fetched(item, (place, index), depth + 1, found)
        return
    if not isinstance(items, dict):
        return
    kind = items.get("type")
    image = items.get("image_url")
    if kind == "image_url" and _address(image.get("url") if isinstance(image, dict) else image):
        found.append(VendorFeature("web_fetch", f"{_where(place)}.image_url"))
        return
    if kind == "input_image" and _address(image):
        found.append(VendorFeature("web_fetch", f"{_where(place)}.image_url"))
        return
    if kind == "input_file" and _address(items.get("file_url")):
        found.append(VendorFeature("web_fetch", f"{_where(place)}.file_url"))
        return
    source = items.get("source")
    if isinstance(source, dict) and source.get("type") == "url":
        found.append(VendorFeature("web_fetch", f"{_where(place)}.source"))
        return
    for name in ("content", "output"):
        inner = items.get(name)
        if isinstance(inner, list):
            _find_fetched(inner, (place, f".{name}"), depth + 1, found)


def _tools(
    dialect: str, tools: Any, where: str = "tools", depth: int = 0
) -> Iterator[VendorFeature]:
    if not isinstance(tools, list):
        return
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        place = f"{where}[{index}]"
        if dialect == DIALECT_ANTHROPIC:
            if kind is None or (isinstance(kind, str) and _ANTHROPIC_CLIENT_TOOLS.fullmatch(kind)):
                continue
        elif kind in _OPENAI_CLIENT_TOOLS or _client_executed(kind, tool):
            continue
        elif kind == _NAMESPACE and depth < _MAX_NAMESPACE_DEPTH:
            # Its tools are offered to the model like top-level ones.
            yield from _tools(dialect, tool.get("tools"), f"{place}.tools", depth + 1)
            continue
        base = _VERSION.sub("", kind) if isinstance(kind, str) else str(kind)
        yield VendorFeature(_SERVER_TOOL_NAMES.get(base, base), f"{place} type {kind!r}")


def _client_executed(kind: Any, tool: Mapping[str, Any]) -> bool:
    """A tool of a type that runs on either side, declared to run on the client's."""
    return kind in _OPENAI_EITHER_SIDE_TOOLS and tool.get("execution") == "client"


def _stored_parts(items: Any, where: str) -> list[VendorFeature]:
    """Content that names what is stored at the vendor: files by id, stored items."""
    found: list[VendorFeature] = []
    if not isinstance(items, list):
        return found
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "item_reference":
            found.append(VendorFeature("item_reference", f"{where}[{index}]"))
            continue
        _find_file_ids(item, (where, index), 0, found)
    return found


# Deep enough for a tool result's blocks inside a message's content.
_MAX_CONTENT_DEPTH = 4


def _find_file_ids(
    block: Mapping[str, Any], place: _Place, depth: int, found: list[VendorFeature]
) -> None:
    source = block.get("source")
    file = block.get("file")
    if (
        isinstance(block.get("file_id"), str)
        or block.get("type") == "container_upload"
        or (isinstance(source, dict) and (source.get("type") == "file" or "file_id" in source))
        or (isinstance(file, dict) and isinstance(file.get("file_id"), str))
    ):
        found.append(VendorFeature("file_id", _where(place)))
        return
    content = block.get("content")
    if depth < _MAX_CONTENT_DEPTH and isinstance(content, list):
        for index, part in enumerate(content):
            if isinstance(part, dict):
                _find_file_ids(part, ((place, ".content"), index), depth + 1, found)


# Where in the request a walk is, put in words only when a feature is found there (building
# the words at every message and block was most of a long request's walk): the name it
# starts at, or (the place it is inside, an index into it or a ".member" of it).
_Place = str | tuple["_Place", int | str]


def _where(place: _Place) -> str:
    """`place` as a feature's `where` says it: `messages[3].content[0]`."""
    steps: list[str] = []
    while isinstance(place, tuple):
        place, step = place
        steps.append(f"[{step}]" if isinstance(step, int) else step)
    steps.append(place)
    return "".join(reversed(steps))


def _gemini(body: Mapping[str, Any]) -> list[VendorFeature]:
    found: list[VendorFeature] = []
    tools = body.get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else ()):
        if not isinstance(tool, dict):
            continue
        for key in tool:
            camel = _camel(key)
            if camel in _GEMINI_CLIENT_TOOLS:
                continue
            found.append(VendorFeature(_GEMINI_TOOLS.get(camel, camel), f"tools[{index}].{key}"))
    if gemini_field(body, "cachedContent"):
        found.append(VendorFeature("cached_content", "cachedContent"))
    contents = body.get("contents")
    for index, content in enumerate(contents if isinstance(contents, list) else ()):
        if isinstance(content, dict):
            found += _gemini_parts(content.get("parts"), f"contents[{index}].parts", depth=0)
    system = gemini_field(body, "systemInstruction")
    if isinstance(system, dict):
        found += _gemini_parts(system.get("parts"), "systemInstruction.parts", depth=0)
    return found


def _gemini_parts(parts: Any, where: str, *, depth: int) -> Iterator[VendorFeature]:
    """`fileData` parts: a file of the operator's Files API (or a bucket) by its URI, or a web
    address the vendor fetches; a function's response may hold parts of its own."""
    for index, part in enumerate(parts if isinstance(parts, list) else ()):
        if not isinstance(part, dict):
            continue
        place = f"{where}[{index}]"
        data = gemini_field(part, "fileData")
        if isinstance(data, dict):
            uri = gemini_field(data, "fileUri")
            yield VendorFeature(_gemini_file(uri), f"{place}.fileData")
        response = gemini_field(part, "functionResponse")
        if isinstance(response, dict) and depth < _MAX_CONTENT_DEPTH:
            yield from _gemini_parts(
                response.get("parts"), f"{place}.functionResponse.parts", depth=depth + 1
            )


def _gemini_file(uri: Any) -> str:
    """`web_fetch` for a web address outside Google's APIs, else `file_id`: the Files API's
    own URIs (`https://generativelanguage.googleapis.com/.../files/ID`, `files/ID`), a bucket
    (`gs://`) and whatever else cannot be told apart from them."""
    if not isinstance(uri, str):
        return "file_id"
    scheme, _, rest = uri.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()
    if scheme.lower() in ("http", "https") and host and not host.endswith("googleapis.com"):
        return "web_fetch"
    return "file_id"


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)
