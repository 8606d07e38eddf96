"""The clouds' test credentials and names, for a gateway whose cloud providers point at fakes.

Each cloud is configured the way its own SDK is (environment variables), the fake standing in
for the cloud's endpoint; the gateway's other providers stay on the scripted upstream.
"""

from __future__ import annotations

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
