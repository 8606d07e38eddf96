"""A stand-in for Claude Code that starts in a fraction of a second: it blocks on a prompt
holding HOLD (until the gateway stops it) and answers any other at once, in Claude Code's
stream-json shape, which is all the gateway reads of it."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["install_claude_stand_in"]

_PROGRAM = """#!{python}
import json, sys, time, uuid
if "--version" in sys.argv:
    print("2.1.0 (Claude Code; test stand-in)")
    sys.exit(0)
prompt = sys.stdin.read()
if "HOLD" in prompt:
    time.sleep(600)
session = str(uuid.uuid4())
print(json.dumps({{"type": "system", "subtype": "init", "session_id": session}}))
print(json.dumps({{"type": "result", "subtype": "success", "is_error": False,
                  "result": "ANSWERED", "session_id": session,
                  "usage": {{"input_tokens": 3, "output_tokens": 2}}}}))
"""


def install_claude_stand_in(bin_dir: Path) -> Path:
    """Write the stand-in as `bin_dir/claude` (made if missing), executable; its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    claude = bin_dir / "claude"
    claude.write_text(_PROGRAM.format(python=sys.executable))
    claude.chmod(0o755)
    return claude
