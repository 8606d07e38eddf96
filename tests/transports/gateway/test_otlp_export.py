"""OpenTelemetry export over OTLP/HTTP, from the official SDK's exporter to a receiver here.

The receiver is a small aiohttp server decoding the official protobuf messages of
`opentelemetry-proto` (`ExportTraceServiceRequest`, `ExportMetricsServiceRequest`): an
OpenTelemetry Collector binary is not installable on this machine (no Debian package, and
downloading release binaries is not allowed here), so the test takes the wire format itself as
the contract. What the gateway sends is the SDK exporter's own protobuf, unmodified.
"""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_python_ok
from tests.fakes.upstream import (
    ANTHROPIC_OUTPUT_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    ScriptedUpstream,
)
from tests.ports import free_port
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
CLIENT_TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
SERVER, CLIENT = 2, 3  # the protobuf's SPAN_KIND_SERVER and SPAN_KIND_CLIENT
SECRET = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class Receiver:
    url: str
    spans: list[Span] = field(default_factory=list)
    metric_names: set[str] = field(default_factory=set)

    def named(self, name: str, kind: int | None = None) -> list[Span]:
        return [s for s in self.spans if s.name == name and kind in (None, s.kind)]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def receiver_app(found: Receiver) -> web.Application:
    """A receiver of OTLP/HTTP traces and metrics, keeping what it decodes in `found`."""

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        for resource_spans in message.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    found.spans.append(
                        Span(
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.kind,
                            {a.key: _value(a.value) for a in span.attributes},
                            resource,
                        )
                    )
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def metrics(request: web.Request) -> web.Response:
        message = ExportMetricsServiceRequest()
        message.ParseFromString(await request.read())
        for resource_metrics in message.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                found.metric_names.update(m.name for m in scope.metrics)
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/metrics", metrics)
    return app


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver("")
    runner = web.AppRunner(receiver_app(found))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}"
    try:
        yield found
    finally:
        await runner.cleanup()


async def traced_gateway(
    start_gateway: GatewayFactory, receiver: Receiver, overrides: Mapping[str, Any] | None = None
) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway(
        {
            "otel.enabled": True,
            "otel.endpoint": receiver.url,
            "otel.resource_attributes": {"deployment.environment": "test"},
            **(overrides or {}),
        },
    )
    return runtime


def client(gateway: GatewayRuntime) -> openai.AsyncOpenAI:
    return openai_client(gateway, headers={"X-Caller": "tracing-agent"})


async def test_spans_continue_the_clients_trace_and_carry_it_upstream(
    receiver: Receiver, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await traced_gateway(start_gateway, receiver)
    raw = await client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": f"What is the capital of France? {SECRET}"}],
        extra_headers={"traceparent": CLIENT_TRACEPARENT},
    )
    reply = raw.parse()
    assert raw.headers.get("x-gateway-trace-id") == TRACE_ID, dict(raw.headers)
    request_id = raw.headers["x-gateway-request-id"]
    await gateway.engine.telemetry.flush()

    (server,) = receiver.named("chat gpt-4o", SERVER)
    assert server.trace_id == TRACE_ID and server.parent_id == PARENT_ID
    assert server.attributes["gen_ai.request.model"] == "gpt-4o"
    assert server.attributes["llmgw.request_id"] == request_id
    assert server.resource["service.name"] == "llmgw-desktop"
    assert server.resource["deployment.environment"] == "test"
    (attempt,) = [s for s in receiver.spans if s.kind == CLIENT]
    assert attempt.trace_id == TRACE_ID and attempt.parent_id == server.span_id
    attributes = attempt.attributes
    assert attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o"
    assert attributes["gen_ai.usage.input_tokens"] == OPENAI_PROMPT_TOKENS
    assert attributes["gen_ai.usage.output_tokens"] == OPENAI_OUTPUT_TOKENS
    assert reply.usage is not None and reply.usage.completion_tokens == OPENAI_OUTPUT_TOKENS
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["llmgw.request_id"] == request_id
    assert server.attributes["gen_ai.usage.output_tokens"] == OPENAI_OUTPUT_TOKENS

    # The upstream was asked in the same trace, as a child of the attempt's span.
    (seen,) = upstream.llm_requests
    assert seen.headers["traceparent"] == f"00-{TRACE_ID}-{attempt.span_id}-01"

    # The recorder row names the trace; no span holds the prompt (capture is off).
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["id"] == request_id
    assert row["route"]["traceId"] == TRACE_ID
    assert not any("capital of France" in str(s.attributes) for s in receiver.spans)
    assert not any(SECRET in str(s.attributes) for s in receiver.spans)


async def test_a_translated_request_gets_a_translate_span_and_genai_usage(
    receiver: Receiver, start_gateway: GatewayFactory
) -> None:
    gateway = await traced_gateway(start_gateway, receiver)
    await client(gateway).chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
    )
    await gateway.engine.telemetry.flush()
    (server,) = receiver.named("chat claude-sonnet-4-6", SERVER)
    (translate,) = receiver.named("translate")
    assert translate.parent_id == server.span_id
    assert translate.attributes["llmgw.to_dialect"] == "anthropic"
    (attempt,) = [s for s in receiver.spans if s.kind == CLIENT]
    assert attempt.attributes["gen_ai.system"] == "anthropic"
    assert attempt.attributes["gen_ai.usage.output_tokens"] == ANTHROPIC_OUTPUT_TOKENS
    assert attempt.attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    # A trace of its own: the client sent no traceparent.
    assert server.parent_id == "" and attempt.trace_id == server.trace_id
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= (
        receiver.metric_names
    )


async def test_content_is_exported_only_when_asked_and_then_redacted(
    receiver: Receiver, start_gateway: GatewayFactory
) -> None:
    gateway = await traced_gateway(start_gateway, receiver, {"otel.capture_content": True})
    await client(gateway).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"capital of France? {SECRET}"}]
    )
    await gateway.engine.telemetry.flush()
    (server,) = receiver.named("chat gpt-4o", SERVER)
    prompt = server.attributes["gen_ai.input.messages"]
    assert "capital of France" in prompt
    assert SECRET not in prompt
    assert "gen_ai.output.messages" in server.attributes


def test_export_off_imports_no_opentelemetry_or_prometheus_client(tmp_path: Path) -> None:
    """A fresh interpreter builds and starts the headless gateway as `llmgw-desktop` would,
    with default settings, and serves a request: neither library may be loaded. (The MCP SDK,
    loaded later and off this path, imports `opentelemetry-api` itself; not the SDK.)"""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from llmgw_desktop.shell.instance import InstanceLock
        from llmgw_desktop.shell.runtime import GatewayRuntime
        from llmgw_desktop.config.settings import load_settings

        async def main():
            loaded = load_settings()
            lock = InstanceLock(loaded.settings.data_path)
            assert lock.acquire()
            runtime = GatewayRuntime(loaded, mode="headless", lock=lock, on_activate=lambda: "")
            await runtime.start()
            try:
                assert runtime.engine.telemetry.enabled is False
            finally:
                await runtime.stop()
                lock.release()

        asyncio.run(main())
        loaded = sorted(
            m for m in sys.modules if m.startswith(("opentelemetry", "prometheus_client"))
        )
        print(",".join(loaded))
        """
    )
    env = {
        **os.environ,
        "LLM_GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "LLM_GATEWAY_LOG_DIR": str(tmp_path / "logs"),
        "LLM_GATEWAY_HTTP_PORT": "0",
    }
    out = run_python_ok("-c", script, env=env)
    assert out.strip() == "", out


async def test_an_absent_collector_is_said_when_it_starts_failing_and_when_it_works_again(
    start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on the endpoint: each flush's export is refused and retried by the SDK
    # (about 3 s a signal), which logged every retry and every failed batch (issue 38, item 4).
    port = free_port()
    absent = Receiver(f"http://127.0.0.1:{port}")
    gateway = await traced_gateway(start_gateway, absent)
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        await client(gateway).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        await gateway.engine.telemetry.flush()
    runner = web.AppRunner(receiver_app(absent))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()  # the collector comes up
        await client(gateway).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        await gateway.engine.telemetry.flush()
        assert absent.named("chat gpt-4o", SERVER)  # exported once it was there
    finally:
        await runner.cleanup()
    sdk = [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")]
    assert sdk == [], sdk
    said = [r.getMessage() for r in caplog.records if "OpenTelemetry export of" in r.getMessage()]
    failing = [m for m in said if "is failing" in m]
    again = [m for m in said if "works again" in m]
    assert len(failing) == 2 and len(again) == 2 and len(said) == 4, said
    assert all(absent.url in m for m in said)
    # Two flushes failed (the SDK's own schedule may have added one more of its own).
    counts = [int(m.split("(after ")[1].split(" ")[0]) for m in again]
    assert all(n >= 2 for n in counts), again
