"""`llm`, DSPy and aider as clients of the gateway, each unmodified from its own venv: left as
they are they land under their HTTP library's name (`openai-python`, `lm15`), and with the name
docs/connect/sdks.md gives them (`X-Caller`, set in each tool's own configuration) they land as
themselves. What each sends matches its recorded fixture (`tests/fixtures/clients/tools/`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.capture import shape
from tests.clients.python_tools import TOOLS, PythonTool, load_tool_fixture, run_tool
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract
RERECORD = "re-record with `python -m tests.clients.python_tools` and review the diff"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
async def test_a_python_tool_is_named_as_docs_say_and_sends_what_its_fixture_says(
    tool: PythonTool, gateway: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    upstream.script(*[Reply.ok("Hello there", verbatim=True)] * 4)
    callers = []
    for named in (False, True):
        run = await run_tool(tool, gateway.base_url, named=named, home=tmp_path / str(named))
        assert run.returncode == 0, run.explain()
        assert "Hello there" in run.stdout, run.explain()
        await gateway.engine.recorder.flush()
        (row,) = await gateway.engine.recorder.recent(limit=1)
        assert row["state"] == "completed" and row["provider"] == "openai", row
        callers.append(row["caller"])
    assert callers == [tool.unnamed, tool.name]
    recorded = load_tool_fixture(tool)
    for sent, fixture in zip(upstream.llm_requests, recorded, strict=True):
        assert sent.headers.get("user-agent", "").split(" ")[0] == fixture["userAgent"], RERECORD
        assert shape(sent.body) == shape(fixture["body"]), RERECORD
