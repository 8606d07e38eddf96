"""A stand-in for Mistral Vibe's `vibe` CLI, which needs Python 3.12 and cannot install here.

It follows vibe's documented programmatic interface: `-p` (prompt from stdin when given no
text), `--output json` (the message list at the end), `--agent`, `--trust`, `--resume ID`,
`--continue`, `--enabled-tools`, the model from `VIBE_ACTIVE_MODEL`, and session logs with a
`meta.json` carrying cumulative token stats under `$VIBE_HOME/logs/session/`. The answer
comes from an OpenAI-compatible chat endpoint at `VIBE_TEST_BASE_URL` (the scripted upstream),
as Vibe's own Mistral backend would fetch it.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

parser = argparse.ArgumentParser(prog="vibe")
parser.add_argument("-v", "--version", action="version", version="vibe 2.14.1 (test stand-in)")
parser.add_argument("-p", "--prompt", nargs="?", const="")
parser.add_argument("--output", choices=["text", "json", "streaming"], default="text")
parser.add_argument("--agent")
parser.add_argument("--trust", action="store_true")
parser.add_argument("--enabled-tools", action="append")
group = parser.add_mutually_exclusive_group()
group.add_argument("-c", "--continue", action="store_true", dest="continue_session")
group.add_argument("--resume", nargs="?", const=True)
args = parser.parse_args()

home = Path(os.environ.get("VIBE_HOME", Path.home() / ".vibe"))
sessions = home / "logs" / "session"
prompt = args.prompt or sys.stdin.read()

history: list[dict[str, str]] = []
stats = {"session_prompt_tokens": 0, "session_completion_tokens": 0}
session_dir = None
if args.resume or args.continue_session:
    candidates = sorted(sessions.glob("session_*"), key=lambda p: p.stat().st_mtime)
    if isinstance(args.resume, str):
        candidates = [p for p in candidates if p.name.endswith(args.resume)]
    if not candidates:
        print(f"Error: session not found: {args.resume}", file=sys.stderr)
        sys.exit(1)
    session_dir = candidates[-1]
    history = json.loads((session_dir / "messages.json").read_text())
    stats = json.loads((session_dir / "meta.json").read_text())["stats"]
session_id = session_dir.name.split("_")[-1] if session_dir else uuid.uuid4().hex[:12]
session_dir = session_dir or sessions / f"session_{int(time.time())}_{session_id}"

history.append({"role": "user", "content": prompt})
body = {"model": os.environ.get("VIBE_ACTIVE_MODEL", "devstral-2"), "messages": history}
request = urllib.request.Request(
    os.environ["VIBE_TEST_BASE_URL"] + "/v1/chat/completions",
    data=json.dumps(body).encode(),
    headers={"content-type": "application/json", "authorization": "Bearer test"},
)
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
except urllib.error.HTTPError as exc:
    print(f"Error: API error {exc.code}: {exc.read().decode(errors='replace')}", file=sys.stderr)
    sys.exit(1)
history.append({"role": "assistant", "content": answer["choices"][0]["message"]["content"]})
stats["session_prompt_tokens"] += answer["usage"]["prompt_tokens"]
stats["session_completion_tokens"] += answer["usage"]["completion_tokens"]
if os.environ.get("VIBE_TEST_SESSION_COST"):  # the real vibe reports its spend this way
    stats["session_cost"] = float(os.environ["VIBE_TEST_SESSION_COST"])

session_dir.mkdir(parents=True, exist_ok=True)
(session_dir / "messages.json").write_text(json.dumps(history))
(session_dir / "meta.json").write_text(json.dumps({"session_id": session_id, "stats": stats}))
if args.output == "json":
    print(json.dumps(history, indent=2))
else:
    print(history[-1]["content"])
