"""The Vertex wire alone: its URLs for both publishers, the Claude body's two differences, what
Vertex's errors mean, and clear refusals when google-auth, a project or credentials are
missing."""

from __future__ import annotations

import json
import sys

import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.gateway.clouds import CloudCall, CloudNotReady
from llmgw_desktop.engine.gateway.clouds.vertex import VertexWire, _vertex_anthropic_body
from tests.fixtures.clouds import vertex_answers as vertex

SPEC = next(s for s in API_PROVIDERS if s.id == "vertex")


def test_the_publishers_urls_and_the_global_endpoint() -> None:
    wire = VertexWire(SPEC, {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "europe-west1"})
    claude = CloudCall("", "claude-sonnet-4-5@20250929", "anthropic", None, stream=True)
    assert wire.url(claude, "p") == (
        "https://europe-west1-aiplatform.googleapis.com/v1/projects/p/locations/europe-west1/"
        "publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    )
    gemini = CloudCall("", "gemini-2.5-pro", "gemini", None, stream=False)
    assert VertexWire(SPEC, {}).url(gemini, "p") == (
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/"
        "publishers/google/models/gemini-2.5-pro:generateContent"
    )


def test_the_claude_body_loses_its_model_and_gains_the_vertex_version() -> None:
    body = json.loads(_vertex_anthropic_body(b'{"model":"claude-x","max_tokens":5,"messages":[]}'))
    assert body == {"max_tokens": 5, "messages": [], "anthropic_version": "vertex-2023-10-16"}


def test_without_a_project_or_credentials_the_problem_names_the_variable() -> None:
    problem = VertexWire(SPEC, {"CLOUDSDK_CONFIG": "/nonexistent"}).problem()
    assert problem is not None and "GOOGLE_CLOUD_PROJECT" in problem
    assert VertexWire(SPEC, {"CLOUDSDK_CONFIG": "/nonexistent"}).problem(keyed=True) is None
    bad = VertexWire(SPEC, {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "evil.com/x"})
    assert "no Google Cloud location" in (bad.problem() or "")


async def test_without_google_auth_the_refusal_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)
    wire = VertexWire(SPEC, {"GOOGLE_CLOUD_PROJECT": "p"})
    with pytest.raises(CloudNotReady) as caught:
        await wire.prepare(CloudCall("", "gemini-2.5-pro", "gemini", None, False), b"{}", {})
    assert "google-auth" in caught.value.message and "llmgw-desktop[clouds]" in caught.value.message


async def test_a_stored_key_that_is_no_service_account_is_refused_without_its_text() -> None:
    wire = VertexWire(SPEC, {"GOOGLE_CLOUD_PROJECT": "p"})
    with pytest.raises(CloudNotReady) as caught:
        await wire.prepare(
            CloudCall("", "gemini-2.5-pro", "gemini", "secret-text-1234", False), b"{}", {}
        )
    assert "secret-text-1234" not in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (429, vertex.BUSY, None),
        (429, vertex.QUOTA, ErrorCode.QUOTA_EXCEEDED),
        (404, vertex.NOT_FOUND, ErrorCode.MODEL_NOT_ENABLED),
        (
            401,
            {"error": {"code": 401, "message": "x", "status": "UNAUTHENTICATED"}},
            ErrorCode.AUTH_REQUIRED,
        ),
    ],
)
def test_vertex_errors_mean_our_codes(status: int, body: object, code: ErrorCode | None) -> None:
    assert VertexWire(SPEC, {}).error(status, {}, json.dumps(body).encode()).code == code
