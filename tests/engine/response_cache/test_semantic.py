"""The semantic index: the closest kept request of a partition, bounded, expiring."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.response_cache import semantic
from llmgw_desktop.engine.response_cache.partition import Shape, partition_of
from llmgw_desktop.engine.response_cache.semantic import SemanticIndex, semantic_partition
from tests.clock import Clock


def test_the_closest_entry_of_the_same_partition_is_found() -> None:
    index = SemanticIndex(60.0)
    index.add(b"p", [1.0, 0.0, 0.0], b"d1")
    index.add(b"p", [0.0, 1.0, 0.0], b"d2")
    index.add(b"other", [0.9, 0.1, 0.0], b"d3")
    match = index.closest(b"p", [0.8, 0.2, 0.0])
    assert match is not None and match.digest == b"d1"
    assert match.similarity == pytest.approx(0.970, abs=1e-3)
    assert index.closest(b"nobody", [1.0, 0.0, 0.0]) is None
    assert index.closest(b"p", [1.0, 0.0]) is None  # another model's vectors


def test_entries_expire_and_are_forgotten() -> None:
    clock = Clock(100.0)
    index = SemanticIndex(10.0, clock=clock)
    index.add(b"p", [1.0, 0.0], b"d1")
    clock.now += 11
    assert index.closest(b"p", [1.0, 0.0]) is None
    index.add(b"p", [1.0, 0.0], b"d2")
    index.forget(b"p", b"d2")
    assert index.closest(b"p", [1.0, 0.0]) is None


def test_a_partition_keeps_its_newest_and_the_index_its_latest_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(semantic, "MAX_PER_PARTITION", 3)
    monkeypatch.setattr(semantic, "MAX_PARTITIONS", 2)
    index = SemanticIndex(60.0)
    for n in range(5):
        index.add(b"p", [1.0, float(n)], f"d{n}".encode())
    assert len(index) == 3
    index.add(b"q", [1.0], b"q")
    index.add(b"r", [1.0], b"r")  # "p" is the least recently used: it goes
    assert index.closest(b"p", [1.0, 4.0]) is None
    assert index.closest(b"r", [1.0]) is not None


def test_the_partition_is_the_exact_ones_with_the_request_without_its_conversation() -> None:
    shape = Shape("openai/gpt-4o", "openai-chat", "/v1/chat/completions")
    exact = partition_of(CallerInfo("key:a"), shape, shared=False)
    one = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    other = one | {"messages": [{"role": "user", "content": "hello there"}]}
    assert semantic_partition(exact, one) == semantic_partition(exact, other)
    assert semantic_partition(exact, one) != semantic_partition(exact, one | {"temperature": 0.5})
    bob = partition_of(CallerInfo("key:b"), shape, shared=False)
    assert semantic_partition(bob, one) != semantic_partition(exact, one)
