"""A recording stand-in for Claude Code, and reading back what it recorded.

The stand-in is a real executable the gateway finds on its CLI path and runs as it runs
`claude`: it reads the stream-json prompt on stdin, appends one line per run to a record file
(its argv and its stdin), waits `CLAUDE_STAND_IN_SECONDS` if set, and answers in Claude Code's
stream-json. A test reads the record to see which conversation each call continued
(`--resume ID`), which is exactly what decides whether two agents shared a conversation, and
to know a run has started.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ClaudeRun", "install_recording_claude", "runs"]

_SCRIPT = """#!{python}
import json, os, sys, time, uuid
if "--version" in sys.argv:
    print("2.1.0 (Claude Code; test stand-in)")
    sys.exit(0)
stdin = sys.stdin.read()
args = sys.argv[1:]
def flag(name):
    return args[args.index(name) + 1] if name in args else None
session = flag("--resume") or flag("--session-id") or str(uuid.uuid4())
with open({record!r}, "a", encoding="utf-8") as out:
    out.write(json.dumps({{"argv": args, "stdin": stdin, "session": session}}) + "\\n")
# A test that needs the answer to be late (a client gone before it is written) says how late.
time.sleep(float(os.environ.get("CLAUDE_STAND_IN_SECONDS", "0")))
print(json.dumps({{"type": "system", "subtype": "init", "session_id": session,
                  "model": "claude-stand-in"}}))
print(json.dumps({{"type": "assistant", "session_id": session, "message": {{
    "model": "claude-stand-in", "content": [{{"type": "text", "text": "OK " + session}}]}}}}))
print(json.dumps({{"type": "result", "subtype": "success", "is_error": False,
                  "result": "OK " + session, "session_id": session,
                  "usage": {{"input_tokens": 3, "output_tokens": 2}}}}))
"""


@dataclass(frozen=True)
class ClaudeRun:
    """One run of the stand-in: its argv, its stdin (the prompt) and the session it used."""

    argv: list[str]
    stdin: str
    session: str

    @property
    def resumed(self) -> str | None:
        """The conversation this run continued (`--resume ID`), or None for a fresh one."""
        return self.argv[self.argv.index("--resume") + 1] if "--resume" in self.argv else None


def install_recording_claude(bin_dir: Path, record: Path) -> Path:
    """Write the stand-in as `bin_dir/claude`, recording into `record`; returns `bin_dir`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "claude"
    script.write_text(_SCRIPT.format(python=sys.executable, record=str(record)))
    script.chmod(0o755)
    return bin_dir


def runs(record: Path, marker: str | None = None) -> list[ClaudeRun]:
    """The stand-in's runs so far (those whose prompt contains `marker`, if given)."""
    if not record.exists():
        return []
    found: list[ClaudeRun] = []
    for line in record.read_text(encoding="utf-8").splitlines():
        data: dict[str, Any] = json.loads(line)
        if marker is None or marker in data["stdin"]:
            found.append(ClaudeRun(data["argv"], data["stdin"], data["session"]))
    return found
