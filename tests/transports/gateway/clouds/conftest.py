"""The clouds' test credentials and names, for a gateway whose cloud providers point at fakes,
and the check that a cloud's secret stays out of everything the gateway writes.

Each cloud is configured the way its own SDK is (environment variables), the fake standing in
for the cloud's endpoint; the gateway's other providers stay on the scripted upstream.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime

AZURE_KEY = "azure-test-key-0123456789abcdef"
AZURE_API_VERSION = "2024-10-21"


# AWS's documentation example key pair (no account has it), and a session token.
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_REGION = "us-west-2"
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

VERTEX_PROJECT = "gw-test-project"
VERTEX_LOCATION = "us-east5"
VERTEX_CLAUDE = "claude-sonnet-4-5@20250929"
VERTEX_GEMINI = "gemini-2.5-flash"


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record the test's gateway logs, down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


async def assert_secret_kept(
    secret: str,
    gateway: GatewayRuntime,
    refusal: object,
    log: str,
    files: Path,
    but: Path | None = None,
) -> bytes:
    """`secret` is in neither the `refusal` a client was given, the recorder's rows nor the
    `log`, nor, once the gateway has stopped, in any file under `files` (`but` aside): their
    bytes."""
    assert secret not in str(refusal)
    assert secret not in repr(await gateway.engine.recorder.recent(limit=5))
    assert secret not in log
    await gateway.stop()
    stored = b"".join(p.read_bytes() for p in files.rglob("*") if p.is_file() and p != but)
    assert secret.encode() not in stored
    return stored
