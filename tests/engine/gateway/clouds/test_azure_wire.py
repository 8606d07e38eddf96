"""The Azure wire alone: its URLs, its credential headers, what its errors mean, and the clear
refusal when something is missing (never a traceback)."""

from __future__ import annotations

import json
import sys

import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.gateway.clouds import CloudCall, CloudNotReady
from llmgw_desktop.engine.gateway.clouds.azure import AzureWire
from tests.fixtures.clouds import azure_answers as azure

SPEC = next(s for s in API_PROVIDERS if s.id == "azure")
ENDPOINT = "https://res.openai.azure.com"


def call(
    dialect: str = "openai-chat", key: str | None = "k" * 20, base: str = ENDPOINT
) -> CloudCall:
    return CloudCall(base, "prod 4o", dialect, key, stream=False)


async def test_a_dated_version_uses_the_deployment_urls_and_the_api_key_header() -> None:
    wire = AzureWire(SPEC, {"AZURE_OPENAI_ENDPOINT": ENDPOINT, "OPENAI_API_VERSION": "2024-10-21"})
    chat = await wire.prepare(call(), b"{}", {})
    assert (
        chat.url
        == f"{ENDPOINT}/openai/deployments/prod%204o/chat/completions?api-version=2024-10-21"
    )
    assert chat.headers["api-key"] == "k" * 20 and "authorization" not in chat.headers
    responses = await wire.prepare(call("openai-responses"), b"{}", {})
    assert responses.url == f"{ENDPOINT}/openai/responses?api-version=2024-10-21"


async def test_without_a_version_the_v1_api_is_used_with_a_bearer_credential() -> None:
    wire = AzureWire(SPEC, {"AZURE_OPENAI_ENDPOINT": ENDPOINT})
    chat = await wire.prepare(call(), b"{}", {})
    assert chat.url == f"{ENDPOINT}/openai/v1/chat/completions"
    assert chat.headers["authorization"] == "Bearer " + "k" * 20
    # An endpoint given with /openai/v1 already is the same API.
    again = await wire.prepare(call(base=ENDPOINT + "/openai/v1/"), b"{}", {})
    assert again.url == chat.url


def test_without_an_endpoint_the_problem_names_the_variable() -> None:
    problem = AzureWire(SPEC, {}).problem()
    assert problem is not None and "AZURE_OPENAI_ENDPOINT" in problem


async def test_without_azure_identity_the_refusal_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # as if not installed
    wire = AzureWire(SPEC, {"AZURE_OPENAI_ENDPOINT": ENDPOINT})
    with pytest.raises(CloudNotReady) as caught:
        await wire.prepare(call(key=None), b"{}", {})
    assert "AZURE_OPENAI_API_KEY" in caught.value.message
    assert "llmgw-desktop[clouds]" in caught.value.message
    assert caught.value.http_status == 400  # someone must install it: never retried


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, azure.CONTENT_FILTER_ERROR, ErrorCode.CONTENT_FILTERED),
        (404, azure.DEPLOYMENT_NOT_FOUND, ErrorCode.MODEL_NOT_ENABLED),
        (401, {"error": {"code": "401", "message": "Access denied"}}, ErrorCode.AUTH_REQUIRED),
        (429, azure.RATE_LIMIT_ERROR, None),
    ],
)
def test_azure_errors_mean_our_codes(status: int, body: object, code: ErrorCode | None) -> None:
    meaning = AzureWire(SPEC, {}).error(status, {}, json.dumps(body).encode())
    assert meaning.code == code
