"""Capture real agent transcripts from the real CLIs, offline, for the token benchmark.

Usage: python scripts/capture_transcripts.py [claude] [codex]

Each CLI (from .clis/, pointed at the scripted upstream on loopback as
/work/shared/reference/vendor-clis.md describes) is asked to inspect a copy of this package's
`engine/calls` source; the scripted model makes it read a file, grep the directory (a long tool
output) and read the same file again (repeated context), then answers. The CLI's last request
to the model, the whole transcript as the CLI sent it (system prompt, tool definitions, every
message and tool result), is kept in tests/fixtures/transcripts/<cli>-inspect.json.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.clients.harness import run_cli  # noqa: E402
from tests.contract.offline import find_cli, prepare_offline_home  # noqa: E402
from tests.fakes.upstream import Reply, ScriptedUpstream  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "transcripts"
SOURCE = ROOT / "llmgw_desktop" / "engine" / "calls"
PROMPT = (
    "Read compression.py, then list every def and class in this directory with grep, then read "
    "compression.py again and tell me what compress_text does and which functions call it."
)
GREP = "grep -rn -E 'def |class |import ' ."
TIMEOUT_S = 240.0


def _replies(cli: str, workdir: Path) -> tuple[str, list[Reply]]:
    """The shell/read tool the CLI offers, and the scripted model's turns."""
    target = str(workdir / "compression.py")
    if cli == "claude":
        read = {"file_path": target}
        return "Bash", [
            Reply.tool_call("Read", read, call_id="toolu_read_1"),
            Reply.tool_call("Bash", {"command": GREP, "description": "list"}, call_id="toolu_g"),
            Reply.tool_call("Read", read, call_id="toolu_read_2"),
            Reply.ok("compress_text folds repeated lines; provider_calls calls it.", verbatim=True),
        ]
    return "exec_command", [
        Reply.tool_call("exec_command", {"cmd": "cat compression.py"}, call_id="call_read_1"),
        Reply.tool_call("exec_command", {"cmd": GREP}, call_id="call_grep"),
        Reply.tool_call("exec_command", {"cmd": "cat compression.py"}, call_id="call_read_2"),
        Reply.ok("compress_text folds repeated lines; provider_calls calls it.", verbatim=True),
    ]


def _args(cli: str) -> tuple[str, ...]:
    if cli == "claude":
        return ("-p", PROMPT, "--allowed-tools", "Bash", "Read", "--model", "claude-sonnet-4-5")
    return ("exec", "--skip-git-repo-check", PROMPT)


async def capture(cli: str, version: str) -> Path:
    """Run `cli` through the scenario; the path of the transcript it wrote."""
    with tempfile.TemporaryDirectory(prefix=f"capture-{cli}-") as scratch:
        home, work = Path(scratch) / "home", Path(scratch) / "work"
        shutil.copytree(SOURCE, work, ignore=shutil.ignore_patterns("__pycache__"))
        async with ScriptedUpstream(default=Reply.ok("(side call)", verbatim=True)) as upstream:
            env = prepare_offline_home(home, upstream.base_url)
            tool, replies = _replies(cli, work)
            upstream.script_when_offered(tool, *replies)
            run = await run_cli(cli, *_args(cli), env=env, cwd=work, timeout_s=TIMEOUT_S)
            if run.returncode != 0:
                raise RuntimeError(run.explain())
            turns = [r for r in upstream.llm_requests if r.body.get("tools")]
        last = turns[-1]
        record: dict[str, Any] = {
            "cli": cli,
            "version": version,
            "scenario": "inspect",
            "prompt": PROMPT,
            "path": last.path,
            "agentTurns": len(turns),
            # The scratch directory's name differs per run: a stable placeholder instead.
            "body": json.loads(json.dumps(last.body).replace(str(work), "/work/project")),
        }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{cli}-inspect.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    for cli in argv or ["claude", "codex"]:
        version = subprocess.run(
            [find_cli(cli), "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
        path = asyncio.run(capture(cli, version))
        print(f"{cli}: {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
