"""Three smaller leaks (SECURITY finding 92).

- A shared response cache (`cache.shared`) is keyed on every header the gateway sends on: one
  caller's header that an upstream answers by (another gateway routing by header) cannot plant
  the answer the next caller is served, while identical requests still share their entry.
- A SigV4 signature (and the access key id) Bedrock echoes in a signature error is taken out of
  what the caller gets, as the secret key already was.
- Every file the gateway writes in its data directory is the operator's alone (0600, folders
  0700), the response cache's database included.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import anthropic
import pytest
from aiohttp import web

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.clouds.conftest import AWS_KEY_ID, AWS_SECRET, BEDROCK_MODEL
from tests.transports.gateway.clouds.test_bedrock import aws_env  # noqa: F401 - fixture
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    gateway,
    provider_env,
    start_gateway,
)

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
TOKEN = "operator-token-0123456789-abcdefghijkl"


async def test_a_shared_cache_is_keyed_on_every_forwarded_header(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    runtime: GatewayRuntime = await start_gateway(
        {"cache.enabled": True, "cache.shared": True, "http.auth_token": TOKEN}
    )
    planter, victim, twin = [
        openai_client(runtime, (await runtime.engine.keys.create(OPERATOR, spec)).secret)
        for spec in (KeySpec(name="planter"), KeySpec(name="victim"), KeySpec(name="twin"))
    ]
    # The header reaches the upstream, which may answer by it: the planted answer is keyed so.
    planted = await planter.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0, extra_headers={"X-Route-To": "evil"}
    )
    assert planted.headers["x-gateway-cache"] == "miss"
    assert upstream.llm_requests[-1].headers.get("x-route-to") == "evil"
    served = await victim.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0
    )
    assert served.headers["x-gateway-cache"] == "miss"  # asked again, not the planted answer
    # A cache shared on purpose: the same request with the same headers is one entry.
    again = await twin.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0
    )
    assert again.headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 2


def _echoing_signature(request: web.Request, body: bytes) -> str:
    """A signature error as AWS words it: the signature and key id the caller sent, echoed."""
    given = request.headers.get("Authorization", "")
    signature = re.search(r"Signature=([0-9a-f]+)", given)
    assert signature is not None, given
    return (
        "The request signature we calculated does not match the signature you provided. "
        f"SignatureProvided: {signature.group(1)} AWSAccessKeyId: {AWS_KEY_ID}"
    )


async def test_a_signature_bedrock_echoes_is_scrubbed(
    aws_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
    gateway: GatewayRuntime,  # noqa: F811
) -> None:
    upstream.verify = _echoing_signature
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude_client(gateway).messages.create(
            model=f"bedrock/{BEDROCK_MODEL}", max_tokens=20, messages=QUESTION
        )
    said = str(caught.value.body) + caught.value.message
    assert "signature we calculated" in said and "[REDACTED]" in said
    assert not re.search(r"[0-9a-f]{64}", said), said
    assert AWS_KEY_ID not in said and AWS_SECRET not in said


async def test_every_file_in_the_data_directory_is_the_operators_alone(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    runtime: GatewayRuntime = await start_gateway({"cache.enabled": True})
    client = openai_client(runtime)
    for _ in range(2):  # the second is a cache hit: both cache files exist
        await client.chat.completions.create(model="gpt-4o", messages=QUESTION, temperature=0)
    await runtime.engine.recorder.flush()
    data = runtime.settings.data_path
    assert (data / "response-cache.sqlite3").exists()
    wider = []
    for root, dirs, files in os.walk(data):
        for name in dirs:
            mode = stat.S_IMODE((Path(root) / name).stat().st_mode)
            if mode & 0o077:
                wider.append(f"{Path(root, name).relative_to(data)}/ {oct(mode)}")
        for name in files:
            path = Path(root) / name
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not path.is_symlink():
                wider.append(f"{path.relative_to(data)} {oct(mode)}")
    assert wider == [], wider
