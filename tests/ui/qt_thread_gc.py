"""An autouse fixture for tests that build the whole desktop app: import it into the module.

The app's Qt objects refer to each other in cycles; left to the cycle collector they would be
destroyed on whichever thread it next runs in (the DB thread), which Qt does not allow. So each
such test frees them itself, on the Qt thread, as it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

__all__ = ["collect_on_the_qt_thread"]


@pytest.fixture(autouse=True)
def collect_on_the_qt_thread() -> Iterator[None]:
    yield
    gc.collect()
