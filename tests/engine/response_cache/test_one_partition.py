"""Every cache of answers keys by the one partition (`response_cache/partition.py`).

The matrix: each cache (`CACHES`: the exact cache, the embedding form of it, the semantic
cache) against each property that shapes an answer (`SHAPING`: who asks, unless shared, and
every field of `Shape`). Two requests that differ in one property only must never share a key
in any cache, and two that differ in none must (so a cache shared on purpose still hits). A
property added to `Shape` without a row here fails. Then the code itself: every function in
the package that makes a partition, a `Lookup` (what the store is read by) or a semantic
partition, or reads another request's answer (`Lookup.read_beside`), is walked from the source;
one that no row of `CACHES` names, a third cache, fails until it is in the matrix.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import llmgw_desktop
from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.semantic_cache import SemanticCache, SemanticProbe
from llmgw_desktop.engine.response_cache import ResponseCache, Shape

PACKAGE = Path(llmgw_desktop.__file__).parent


@dataclass(frozen=True)
class Request:
    """One request as the matrix varies it."""

    principal: str = "key:alice"
    project: str | None = None
    target: str = "openai/gpt-4o"
    form: str = "openai-chat"
    endpoint: str = "/v1/chat/completions"
    streamed: bool = False
    stream_usage: bool = False
    headers: tuple[tuple[str, str], ...] = ()


# Each property that shapes an answer, and another value of it.
SHAPING: dict[str, Any] = {
    "principal": "key:bob",
    "project": "team",
    "target": "openrouter/openai/gpt-4o",
    "form": "anthropic",
    "endpoint": "/v1/messages",
    "streamed": True,
    "stream_usage": True,
    "headers": (("x-shape", "answer as a pirate"),),
}
# Valid in both dialects the matrix uses, at temperature 0, of text alone (the semantic cache's
# requests); the same bytes are sent whatever varies.
BODY = {
    "model": "gpt-4o",
    "max_tokens": 64,
    "temperature": 0,
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
}
SENT = b'{"model":"gpt-4o","messages":[{"role":"user","content":"What is the capital of France?"}]}'


def _incoming(request: Request) -> ClientRequest:
    incoming = ClientRequest(request.form, dict(BODY), stream=request.streamed)
    incoming.facts = dataclasses.replace(incoming.facts, stream_usage=request.stream_usage)
    return incoming


def _caller(request: Request) -> CallerInfo:
    return CallerInfo(request.principal, project=request.project, endpoint=request.endpoint)


def _route() -> RouteReport:
    return RouteReport(request_id="r", requested_model="gpt-4o")


def _exact(cache: ResponseCache, request: Request) -> bytes:
    lookup = cache.lookup_for(
        _incoming(request),
        _caller(request),
        _route(),
        SENT,
        request.target,
        dict(request.headers),
    )
    assert lookup is not None and lookup.read
    return lookup.digest


def _embedding(cache: ResponseCache, request: Request) -> bytes:
    lookup = cache.embedding_lookup(_caller(request), _route(), SENT, request.target)
    assert lookup is not None and lookup.read
    return lookup.digest


def _probe(cache: ResponseCache, request: Request) -> SemanticProbe:
    semantic = SemanticCache(cache, _no_embedding, cache.settings)
    incoming = _incoming(request)
    lookup = cache.lookup_for(
        incoming, _caller(request), _route(), SENT, request.target, dict(request.headers)
    )
    assert lookup is not None
    probe = semantic.probe(incoming, lookup)
    assert probe is not None
    return probe


def _semantic(cache: ResponseCache, request: Request) -> bytes:
    """The semantic index's partition of the request."""
    return _probe(cache, request).partition


def _semantic_read(cache: ResponseCache, request: Request) -> bytes:
    """What the semantic cache reads a key it found under (whatever its index held)."""
    return _probe(cache, request).lookup.read_beside(b"k" * 32).digest


async def _no_embedding(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the matrix embeds nothing")


@dataclass(frozen=True)
class Cache:
    """A cache in the matrix: its key for a request, the properties its requests can differ
    in (an embedding is given to any front door, sent with no client header: its vectors are
    the model's function of its input), and the functions of the package it is made of."""

    key: Callable[[ResponseCache, Request], bytes]
    varies: frozenset[str]
    functions: frozenset[str]


EVERY_PROPERTY = frozenset(SHAPING)
CACHES = {
    "exact": Cache(
        _exact,
        EVERY_PROPERTY,
        frozenset({"engine/response_cache/cache.py:ResponseCache.lookup_for"}),
    ),
    "embedding": Cache(
        _embedding,
        frozenset({"principal", "project", "target"}),
        frozenset({"engine/response_cache/cache.py:ResponseCache.embedding_lookup"}),
    ),
    "semantic": Cache(
        _semantic,
        EVERY_PROPERTY,
        frozenset({"engine/gateway/semantic_cache.py:SemanticCache.probe"}),
    ),
    "semantic read": Cache(
        _semantic_read,
        EVERY_PROPERTY,
        frozenset({"engine/gateway/semantic_cache.py:SemanticCache.find"}),
    ),
}
# The rule itself.
RULE = frozenset({"engine/response_cache/partition.py:partition_of"})


def test_every_property_of_the_shape_is_in_the_matrix() -> None:
    fields = {f.name for f in dataclasses.fields(Shape)}
    assert fields | {"principal", "project"} == set(SHAPING)
    assert fields | {"principal", "project"} == {f.name for f in dataclasses.fields(Request)}


@pytest.mark.parametrize("shared", [False, True], ids=["own", "shared"])
@pytest.mark.parametrize("cache_name", sorted(CACHES))
@pytest.mark.parametrize("prop", sorted(SHAPING))
def test_a_request_that_differs_in_what_shapes_its_answer_never_shares_a_key(
    tmp_path: Path, cache_name: str, prop: str, shared: bool
) -> None:
    settings = ResponseCacheSettings(enabled=True, shared=shared, semantic_model="local/minilm")
    cache = ResponseCache(settings, tmp_path)
    try:
        row = CACHES[cache_name]
        one = Request()
        assert row.key(cache, one) == row.key(cache, Request())  # the same request: one key
        if prop not in row.varies:
            return
        other = dataclasses.replace(one, **{prop: SHAPING[prop]})
        if shared and prop == "principal":
            # A cache shared on purpose: another key asking the same is the same entry.
            assert row.key(cache, other) == row.key(cache, one)
        else:
            assert row.key(cache, other) != row.key(cache, one)
    finally:
        cache.store.close()


# What marks a function as a cache's key maker.
_MAKERS = frozenset({"Lookup", "Partition", "partition_of", "semantic_partition", "read_beside"})


def _key_makers() -> Iterator[str]:
    """Every function of the package that makes or reads by a cache's key, as `path:qualname`."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        where = path.relative_to(PACKAGE).as_posix()
        yield from (f"{where}:{name}" for name in _making(tree))


def _making(tree: ast.AST, prefix: str = "") -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield from _making(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _called(call) in _MAKERS for call in ast.walk(node) if isinstance(call, ast.Call)
        ):
            yield f"{prefix}{node.name}"


def _called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def test_every_cache_in_the_package_is_in_the_matrix() -> None:
    named = RULE.union(*(row.functions for row in CACHES.values()))
    found = set(_key_makers())
    assert found == named, (
        "a function makes or reads by a cache's key without a row in CACHES (a new cache must "
        f"key by partition_of and be in this matrix): {sorted(found - named)}; rows naming "
        f"nothing: {sorted(named - found)}"
    )
