"""The official SDKs' clients pointed straight at the scripted upstream (no gateway between),
for the fakes' own tests: each call bounded, no retries."""

from __future__ import annotations

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from tests.fakes.upstream import ScriptedUpstream

__all__ = [
    "CLIENT_TIMEOUT_S",
    "FAKE_KEY",
    "GENAI_SESSION_WARNING",
    "claude",
    "gemini_client",
    "gpt",
]

# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; not our concern.
GENAI_SESSION_WARNING = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)

# Every SDK call is bounded: a fake that stops answering must fail the test, not hang it.
CLIENT_TIMEOUT_S = 5.0
FAKE_KEY = "sk-fake-key-0123456789"


def claude(up: ScriptedUpstream, max_retries: int = 0) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=up.base_url, api_key=FAKE_KEY, max_retries=max_retries, timeout=CLIENT_TIMEOUT_S
    )


def gpt(up: ScriptedUpstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{up.base_url}/v1", api_key=FAKE_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S
    )


def gemini_client(up: ScriptedUpstream) -> genai.Client:
    options = genai_types.HttpOptions(
        base_url=up.base_url, api_version="v1beta", timeout=int(CLIENT_TIMEOUT_S * 1000)
    )
    return genai.Client(api_key=FAKE_KEY, http_options=options)
