"""The semantic cache's index: which kept answers a request's meaning is close to.

The exact cache finds an answer by the digest of the request as it would be sent. The semantic
cache finds one by what the request says: the embedding of its conversation's text (made
through the gateway's own embeddings route, `gateway/semantic_cache.py`), compared by cosine
similarity with those of the requests whose answers were kept under the same *partition*: the
exact cache's own (`partition.py`: the principal unless `cache.shared`, the project, the target,
the client's dialect, endpoint and streaming, every header sent on) with the request's settings
and tools (its body without its conversation). An entry points at the exact cache's key of the
answer it stands for inside that partition, so the answer itself is read and replayed as an
exact hit is (a stream as a stream), only ever by a request of its partition, and an entry whose
answer has gone (evicted, expired) is a miss, dropped.

In memory, per process (a restart forgets the index; the answers stay in the file), bounded:
`MAX_PER_PARTITION` newest entries per partition, `MAX_PARTITIONS` partitions, the least
recently used going first. numpy does the comparison (a partition's vectors in one matrix) and
is imported only when the semantic cache is on.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.response_cache.partition import Partition

__all__ = [
    "CONVERSATION_FIELDS",
    "MAX_PARTITIONS",
    "MAX_PER_PARTITION",
    "SemanticIndex",
    "SemanticMatch",
    "semantic_partition",
]

# Newest entries kept per partition, and partitions kept: a partition is one principal's
# requests of one shape to one target, so these bound memory whatever callers send.
MAX_PER_PARTITION = 256
MAX_PARTITIONS = 4096
# The body fields that hold a request's conversation, by dialect (what is embedded); the rest of
# the body is part of the partition.
CONVERSATION_FIELDS = frozenset(
    {"messages", "system", "input", "instructions", "contents", "systemInstruction"}
    | {"system_instruction"}
)


@dataclass(frozen=True)
class SemanticMatch:
    """The closest kept answer: its exact-cache key inside the partition (`Lookup.within`) and
    how similar (cosine, -1 to 1)."""

    digest: bytes
    similarity: float


@dataclass
class _Partition:
    digests: list[bytes] = field(default_factory=list)
    expiries: list[float] = field(default_factory=list)
    vectors: list[Sequence[float]] = field(default_factory=list)
    matrix: Any = None  # the rows of `vectors`, unit length (numpy), made at the first search


class SemanticIndex:
    """Embeddings of kept requests by partition; the closest to a new request's."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._partitions: OrderedDict[bytes, _Partition] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(p.digests) for p in self._partitions.values())

    def add(self, partition: bytes, vector: Sequence[float], digest: bytes) -> None:
        """Remember that the answer kept under `digest` answered a request of `vector`."""
        if not vector or not any(vector):
            return
        found = self._partitions.pop(partition, None) or _Partition()
        self._partitions[partition] = found  # the most recently used last
        if digest in found.digests:  # the same request again: its entry is renewed
            index = found.digests.index(digest)
            for column in (found.digests, found.expiries, found.vectors):
                del column[index]
        found.digests.append(digest)
        found.expiries.append(self._clock() + self._ttl_s)
        found.vectors.append(_unit(vector))
        if len(found.digests) > MAX_PER_PARTITION:
            for column in (found.digests, found.expiries, found.vectors):
                del column[0]
        found.matrix = None
        while len(self._partitions) > MAX_PARTITIONS:
            self._partitions.popitem(last=False)

    def closest(self, partition: bytes, vector: Sequence[float]) -> SemanticMatch | None:
        """The live entry of `partition` most similar to `vector`, or None."""
        found = self._partitions.get(partition)
        if found is None or not found.digests or not any(vector):
            return None
        self._partitions.move_to_end(partition)
        self._drop_expired(found)
        if not found.digests:
            return None
        import numpy

        if found.matrix is None:
            found.matrix = numpy.asarray(found.vectors, dtype=numpy.float32)
        query = numpy.asarray(_unit(vector), dtype=numpy.float32)
        if query.shape[0] != found.matrix.shape[1]:
            return None  # another embedding model's vectors: not comparable
        scores = found.matrix @ query
        best = int(scores.argmax())
        return SemanticMatch(found.digests[best], float(scores[best]))

    def forget(self, partition: bytes, digest: bytes) -> None:
        """Drop the entry of an answer that is no longer kept."""
        found = self._partitions.get(partition)
        if found is None or digest not in found.digests:
            return
        index = found.digests.index(digest)
        for column in (found.digests, found.expiries, found.vectors):
            del column[index]
        found.matrix = None

    def _drop_expired(self, found: _Partition) -> None:
        now = self._clock()
        if all(expires > now for expires in found.expiries):
            return
        keep = [i for i, expires in enumerate(found.expiries) if expires > now]
        found.digests = [found.digests[i] for i in keep]
        found.expiries = [found.expiries[i] for i in keep]
        found.vectors = [found.vectors[i] for i in keep]
        found.matrix = None


def semantic_partition(partition: Partition, body: Mapping[str, Any]) -> bytes:
    """The digest of the exact cache's `partition` of a request and of its `body` without its
    conversation: what must be the same for one answer to serve another request that means
    the same."""
    digest = hashlib.sha256(partition.digest + b"\0")
    rest = {k: v for k, v in body.items() if k not in CONVERSATION_FIELDS and k != "model"}
    try:
        digest.update(jsonio.dumps_sorted(rest))
    except TypeError:  # nested deeper than the writer goes
        digest.update(repr(sorted(rest.items())).encode())
    return digest.digest()


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
