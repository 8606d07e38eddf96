"""What the official SDKs send in their default settings, kept as fixtures (`capture_sdks.py`):
an SDK upgrade that changes a request's shape, its headers or its endpoint fails here with the
difference named; and the same call made twice sends the same bytes twice, which the response
cache's key relies on."""

from __future__ import annotations

import pytest

from tests.clients.capture import shape
from tests.clients.capture_sdks import CALLS, SdkCall, capture_sdk, load_sdk_fixture

RERECORD = "re-record with `python -m tests.clients.capture_sdks` and review the diff"


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.sdk}-{c.name}")
async def test_the_sdks_still_send_what_the_fixtures_say(call: SdkCall) -> None:
    first, second = await capture_sdk(call)
    assert first.pop("raw") == second.pop("raw"), f"{call.sdk} {call.name}: a repeat differs"
    (recorded,) = [r for r in load_sdk_fixture(call.sdk) if r["scenario"] == call.name]
    assert (first["method"], first["path"]) == (recorded["method"], recorded["path"]), RERECORD
    assert first["userAgent"] == recorded["userAgent"], RERECORD
    added = shape(first["body"]) - shape(recorded["body"])
    gone = shape(recorded["body"]) - shape(first["body"])
    assert not added and not gone, (
        f"{call.sdk} {call.name} changed shape: added {sorted(added)}, gone {sorted(gone)}; "
        + RERECORD
    )
    assert first["headers"] == recorded["headers"], RERECORD
