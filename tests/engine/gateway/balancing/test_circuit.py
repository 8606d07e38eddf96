"""A target's cool-down after a 429 and its circuit after failures in a row."""

from __future__ import annotations

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit, CircuitState

STEPS = Backoff(5.0, 60.0)


def test_a_429_cools_the_target_down_for_its_retry_after_within_the_longest() -> None:
    circuit = Circuit()
    assert circuit.failed("429", 0.0, STEPS, 3, retry_after_s=12.0)
    assert circuit.state(1.0) is CircuitState.COOLING
    assert circuit.goes_last(1.0) == 11.0
    assert circuit.state(12.5) is CircuitState.CLOSED
    circuit = Circuit()
    circuit.failed("429", 0.0, STEPS, 3, retry_after_s=3600.0)
    assert circuit.goes_last(0.0) == 60.0


def test_failures_in_a_row_open_the_circuit_and_each_failure_after_a_rest_doubles_it() -> None:
    circuit = Circuit()
    assert not circuit.failed("503", 0.0, STEPS, 3)
    assert not circuit.failed("connect", 0.0, STEPS, 3)
    assert circuit.state(0.0) is CircuitState.CLOSED
    assert circuit.failed("503", 0.0, STEPS, 3)
    assert circuit.state(1.0) is CircuitState.OPEN and circuit.goes_last(1.0) == 4.0
    assert circuit.state(5.0) is CircuitState.HALF_OPEN
    assert circuit.goes_last(5.0) is None  # one request may try it
    circuit.trial = True
    assert circuit.goes_last(5.0) == 0.0  # the others wait for its verdict
    assert circuit.failed("503", 5.0, STEPS, 3)
    assert circuit.goes_last(5.0) == 10.0
    for _ in range(5):
        circuit.failed("503", 100.0, STEPS, 3)
    assert circuit.goes_last(100.0) == 60.0
    circuit.answered()
    assert circuit.state(100.0) is CircuitState.CLOSED and circuit.failures == 0
