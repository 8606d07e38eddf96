"""Both response caches take their partition from one function (issue 62, item 2; SECURITY 97).

SECURITY 92 keyed the exact cache on every header sent on with a request, so under
`cache.shared` one key's header that shapes the answer upstream (`X-Shape`, a beta header, or
anything another gateway routes by) could not plant the answer other keys are served. The
semantic cache kept a partition of its own that left the headers out: key A asked with the
header, key B asked the same words without it, the exact cache missed, and the semantic cache
served A's header-shaped answer as `semantic-hit` at similarity 1.0. Now the semantic cache's
partition is the exact lookup's own (`response_cache/partition.py`): B is asked upstream. The
legitimate path beside it: a cache shared on purpose still answers another key, exactly and by
meaning, when nothing that shapes the answer differs. Real clients (the official OpenAI SDK),
a real local embedding model (`tests/fakes/minilm.py`), the scripted upstream.
"""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.transports.gateway.test_semantic_cache import (
    FRANCE,
    PARAPHRASE,
    Rig,
    semantic_rig,
)

SHARED = {"cache.shared": True}


async def _keys(rig: Rig, *names: str) -> list[str]:
    keys = rig.gateway.engine.keys
    return [(await keys.create(OPERATOR, KeySpec(name=name))).secret for name in names]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Shape", "answer as a pirate"),
        ("anthropic-beta", "output-128k-2025-02-19"),
        # A beta the operator opened to remote callers (SECURITY 17 refuses it otherwise).
        ("OpenAI-Beta", "assistants=v2"),
    ],
)
async def test_a_header_shaped_answer_is_not_served_to_another_key_by_meaning(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    header: str,
    value: str,
) -> None:
    allowed = {"gateway.remote_passthrough.allow": [f"{header.lower()}:{value}"]}
    async with semantic_rig(start_gateway, upstream, SHARED | allowed) as rig:
        planter, victim = await _keys(rig, "planter", "victim")
        _, cache = await rig.ask(FRANCE, planter, extra_headers={header: value})
        assert cache == "miss"
        assert upstream.llm_requests[-1].headers.get(header.lower()) == value
        _, cache = await rig.ask(FRANCE, victim)
        assert cache == "miss"  # asked upstream, not served the planted answer by meaning
        assert len(upstream.llm_requests) == 2
        assert header.lower() not in upstream.llm_requests[-1].headers
        # Its own header, the planter is served its own answer again.
        _, cache = await rig.ask(PARAPHRASE, planter, extra_headers={header: value})
        assert cache == "semantic-hit"
        assert len(upstream.llm_requests) == 2


async def test_a_cache_shared_on_purpose_still_answers_another_key(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    async with semantic_rig(start_gateway, upstream, SHARED) as rig:
        alice, bob, carol = await _keys(rig, "alice", "bob", "carol")
        first, cache = await rig.ask(FRANCE, alice, extra_headers={"X-Shape": "terse"})
        assert cache == "miss"
        # The same words and the same header from another key: the exact entry.
        again, cache = await rig.ask(FRANCE, bob, extra_headers={"X-Shape": "terse"})
        assert (again, cache) == (first, "hit")
        # The same meaning and the same header: the semantic cache's entry, across keys.
        again, cache = await rig.ask(PARAPHRASE, carol, extra_headers={"X-Shape": "terse"})
        assert (again, cache) == (first, "semantic-hit")
        assert len(upstream.llm_requests) == 1
