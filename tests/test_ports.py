"""The tests' one port allocator (`tests/ports.py`): workers never share a port, none is given
twice, and a used-up slice says so instead of going round to ports their holders still own."""

from __future__ import annotations

import pytest

from tests import ports


def given(monkeypatch: pytest.MonkeyPatch, worker: str, workers: int, count: int) -> list[int]:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setattr(ports, "_next_in_slice", [])
    return [ports.free_port() for _ in range(count)]


def test_each_worker_is_given_its_own_ports_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = given(monkeypatch, "gw0", 3, 20)
    second = given(monkeypatch, "gw1", 3, 20)
    third = given(monkeypatch, "gw2", 3, 20)
    every = first + second + third
    assert len(set(every)) == len(every)
    assert all(ports.BAND.start <= port < 32_768 for port in every)


def test_a_slice_used_up_is_an_error_not_a_port_given_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The band's first ports are this run's own (gw0's slice), often held by another test as
    # this one runs: the OS is not asked here.
    monkeypatch.setattr(ports, "_bindable", lambda port: True)
    monkeypatch.setattr(ports, "BAND", range(20_000, 20_004))
    assert len(set(given(monkeypatch, "gw1", 2, 2))) == 2
    with pytest.raises(ports.PortsExhausted, match="20002-20003"):
        ports.free_port()


def test_a_port_held_outside_the_run_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_bindable", lambda port: port != 20_001)
    monkeypatch.setattr(ports, "BAND", range(20_000, 20_004))
    assert given(monkeypatch, "gw0", 1, 3) == [20_000, 20_002, 20_003]
