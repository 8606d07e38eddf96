"""The response cache's partition: what, besides a request's own words, must be the same for
one request's kept answer to answer another; the one place every cache takes it from.

A partition is the digest of who asks (the principal, unless `cache.shared`; the project, whose
credentials the call goes out on), where (the target after routing), how the answer is given
(the client's dialect or the embedding form, its endpoint, whether it streams and with usage)
and every header sent on with the request (`keyed_headers`: any of them may shape the answer
upstream, a beta's behaviour, an API version, or, behind a gateway that routes by header,
anything at all). `partition_of` is the only maker of a `Partition`, and a `Lookup` (what the
store is read and written by) holds one: its digest is the partition's with the request's own
key inside it (`within`), so an answer is found only by a request of its own partition,
however a cache came by the key. The exact cache's key inside is the request as sent; the
semantic cache's index is kept per the lookup's partition (with the request's settings), so
it can serve by meaning only what the exact rule would let through by the words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from llmgw_desktop.engine.gateway.results import CallerInfo

__all__ = [
    "UNKEYED",
    "Lookup",
    "Partition",
    "Shape",
    "keyed_headers",
    "partition_of",
]

# Request headers that say which SDK and how it was called (`x-stainless-raw-response` differs
# between `create` and `with_raw_response.create`), never what to answer: left out of the key,
# and so not sent with a request the cache reads or keeps (`keyed_headers`).
UNKEYED = ("x-stainless-", "user-agent")


@dataclass(frozen=True, slots=True)
class Shape:
    """What shapes a request's answer besides its words and who asks."""

    target: str  # `provider/model`, after routing
    form: str  # the client's dialect, or the embedding form (any front door's)
    endpoint: str = ""
    streamed: bool = False
    # The gateway asks an OpenAI Chat stream for its usage either way and drops the chunk for a
    # client that did not ask: the same bytes go up, another stream back.
    stream_usage: bool = False
    headers: Mapping[str, str] | None = None  # sent on with the request


@dataclass(frozen=True, slots=True)
class Partition:
    """A partition's digest; made by `partition_of` only."""

    digest: bytes


def partition_of(caller: CallerInfo, shape: Shape, *, shared: bool) -> Partition:
    """The partition of a request `caller` sends in `shape` (`shared`: `cache.shared`, one
    partition for every principal)."""
    digest = hashlib.sha256()
    for part in (
        "" if shared else caller.principal,
        # A project's requests go out on its own credentials: another account at the vendor
        # (its own fine-tunes, files, data settings) that may answer otherwise.
        caller.project or "",
        shape.target,
        shape.form,
        shape.endpoint,
        "stream" if shape.streamed else "whole",
        "usage" if shape.stream_usage else "",
        _forwarded_headers(shape.headers),
    ):
        digest.update(part.encode() + b"\0")
    return Partition(digest.digest())


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the cache does for one request at one target: read it (`read`), keep its answer
    (`keep`), under `digest`: its `partition`'s with its own key inside it (`within`, a digest
    of the request as sent)."""

    partition: Partition
    within: bytes
    read: bool
    keep: bool
    # The client's dialect: which shape an answer that can be kept has.
    dialect: str = ""
    # Sent with an output limit the client did not ask for (a hard budget's): kept only when
    # the answer ended by itself, so the limit did not shape it.
    limited: bool = False
    digest: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.partition.digest + b"\0" + self.within).digest()
        object.__setattr__(self, "digest", digest)

    def read_beside(self, within: bytes) -> Lookup:
        """The answer kept beside this one's in its partition for another request (`within`:
        its own key), to be read and not kept: how the semantic cache reads what it found."""
        return replace(self, within=within, read=True, keep=False, limited=False)


def keyed_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client's headers a request the cache reads or keeps is sent with: all but the SDKs'
    own telemetry (`UNKEYED`), which the key leaves out so that one client's call styles share
    an entry, and which is therefore not sent at all: no upstream can answer by it."""
    return {name: value for name, value in headers.items() if not name.lower().startswith(UNKEYED)}


def _forwarded_headers(headers: Mapping[str, str] | None) -> str:
    """Every request header sent on with the request (`keyed_headers`), in one order, each a
    set of values (`a, b` and `b,a` ask the same). Keyed on fewer, one caller of a shared cache
    could plant the answer others are served by a header the key ignores."""
    return "\n".join(
        f"{name.lower()}: {_listed(value)}"
        for name, value in sorted(
            keyed_headers(headers or {}).items(), key=lambda item: item[0].lower()
        )
    )


def _listed(value: str) -> str:
    return ",".join(sorted({part.strip() for part in value.split(",") if part.strip()}))
