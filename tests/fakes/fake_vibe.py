"""A stand-in for Mistral Vibe's `vibe` CLI (3.0.3), for the tests that run many calls.

The real vibe runs in CI (`.ci/run`, `tests/contract/test_mistral_vibe.py`), but it takes
20 s a call on a loaded machine (its Python start and its own network look-ups), where this
takes a fraction of one: the security and tool suites that start vibe dozens of times use this.
It follows what the real one was seen doing headless: `-p` (the prompt from stdin when given
no text), `--output json` (the turn's entries, content as text blocks, each naming its
`sessionId`), `--output-dir DIR` (an `export.json` with this run's usage, cost, outcome and
error), `--agent` one of its builtins (another is "not found", exit 2), `--trust`, `--resume
ID` and `--continue` (refused when `[session_logging] enabled = false`), `--enabled-tools`, and
the model from `VIBE_ACTIVE_MODEL`. The answer comes from an OpenAI-compatible chat endpoint at
`VIBE_TEST_BASE_URL` (the scripted upstream).
"""

import argparse
import json
import os
import sys
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

AGENTS = ("ask", "accept-edits", "smart-approve", "auto-approve")
parser = argparse.ArgumentParser(prog="vibe")
parser.add_argument("-v", "--version", action="version", version="vibe 3.0.3 (test stand-in)")
parser.add_argument("-p", "--prompt", nargs="?", const="")
parser.add_argument("--output", choices=["text", "json", "streaming"], default="text")
parser.add_argument("--output-dir")
parser.add_argument("--agent", default="accept-edits")
parser.add_argument("--trust", action="store_true")
parser.add_argument("--enabled-tools", action="append")
group = parser.add_mutually_exclusive_group()
group.add_argument("-c", "--continue", action="store_true", dest="continue_session")
group.add_argument("--resume", nargs="?", const=True)
args = parser.parse_args()

if args.agent not in AGENTS:
    print(f"Error: Agent '{args.agent}' not found.", file=sys.stderr)
    sys.exit(2)
home = Path(os.environ.get("VIBE_HOME", Path.home() / ".vibe"))
try:
    config = tomllib.loads((home / "config.toml").read_text())
except OSError:
    config = {}
logging_on = (config.get("session_logging") or {}).get("enabled", True)
sessions = home / "logs" / "session" / "stand-in"
prompt = args.prompt or sys.stdin.read()


def export(**fields: object) -> None:
    if args.output_dir:
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.output_dir) / "export.json").write_text(json.dumps(fields))


history: list[dict[str, str]] = []
session_id = str(uuid.uuid4())
if args.resume or args.continue_session:
    if not logging_on:
        print(
            "Error: Session logging is disabled. Enable it in config to use --continue or --resume",
            file=sys.stderr,
        )
        sys.exit(1)
    candidates = sorted(sessions.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if isinstance(args.resume, str):
        candidates = [p for p in candidates if p.stem == args.resume]
    if not candidates:
        print(f"Error: Session not found: {args.resume}", file=sys.stderr)
        sys.exit(1)
    session_id = candidates[-1].stem
    history = json.loads(candidates[-1].read_text())

history.append({"role": "user", "content": prompt})
body = {"model": os.environ.get("VIBE_ACTIVE_MODEL", "devstral-2"), "messages": history}
request = urllib.request.Request(
    os.environ["VIBE_TEST_BASE_URL"] + "/v1/chat/completions",
    data=json.dumps(body).encode(),
    headers={"content-type": "application/json", "authorization": "Bearer test"},
)
NONE = {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0, "total_tokens": 0}
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
except urllib.error.HTTPError as exc:
    code = {401: "invalid_api_key", 429: "rate_limit"}.get(exc.code, "backend_error")
    message = f"Client error '{exc.code}' for url '{request.full_url}'"
    export(
        outcome="infrastructure_failure",
        error={"message": message, "code": code},
        session_id=session_id,
        usage=NONE,
    )
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1 if exc.code == 401 else 2)
text = answer["choices"][0]["message"]["content"]
history.append({"role": "assistant", "content": text})
if logging_on:
    sessions.mkdir(parents=True, exist_ok=True)
    (sessions / f"{session_id}.json").write_text(json.dumps(history))
usage = answer["usage"]
cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
cost = (
    float(os.environ["VIBE_TEST_SESSION_COST"]) if os.environ.get("VIBE_TEST_SESSION_COST") else 0.0
)
export(
    outcome="finished",
    error=None,
    session_id=session_id,
    cost_usd=cost,
    usage={
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "cached_input_tokens": cached,
        "total_tokens": usage["total_tokens"],
    },
)
entries = [
    {
        "sessionId": session_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "text", "text": prompt}],
    },
    {
        "sessionId": session_id,
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
    },
]
if args.output == "json":
    print(json.dumps(entries, indent=2))
else:
    print(text)
