"""A gateway whose cloud providers point at fakes on loopback, and the clients to ask it with.

Each cloud is configured the way its own SDK is (environment variables), the fake standing in
for the cloud's endpoint; the gateway's other providers stay on the scripted upstream.
"""

from __future__ import annotations

import anthropic
import openai
from google import genai
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime

AZURE_KEY = "azure-test-key-0123456789abcdef"
AZURE_API_VERSION = "2024-10-21"


def openai_client(gateway: GatewayRuntime) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="unused", max_retries=0)


def claude_client(gateway: GatewayRuntime) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.base_url, api_key="unused", max_retries=0)


def gemini_client(gateway: GatewayRuntime) -> genai.Client:
    return genai.Client(
        api_key="unused",
        http_options=types.HttpOptions(base_url=gateway.base_url, retry_options=None),
    )


# AWS's documentation example key pair (no account has it), and a session token.
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_REGION = "us-west-2"
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

VERTEX_PROJECT = "gw-test-project"
VERTEX_LOCATION = "us-east5"
VERTEX_CLAUDE = "claude-sonnet-4-5@20250929"
VERTEX_GEMINI = "gemini-2.5-flash"
