"""A stand-in for every agent the gateway starts, recording how it was started.

Installed under each vendor binary's name (`claude`, `gemini`, `qwen`, `claude-agent-acp`, ...)
by the confinement matrix (`tests/security/test_confinement_matrix.py`), whose shim under each
name sets `RECORDING_AGENT_NAME` and `RECORDING_AGENT_LOG`. It appends one JSON line there: which
binary, its argv, the variables confinement and the gateway's callback set, and, when it runs
as an ACP agent, the `_meta` of `session/new` and how each request of a fixed battery of
permission requests was answered (a read inside its folder, one outside it, an edit inside, a
command). As a CLI it prints nothing a parser takes: the gateway fails the call, after the spawn
this records.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Which binaries speak ACP, and (for those shared with a CLI) the argument that says so.
ALWAYS_ACP = {"qwen", "claude-agent-acp", "codex-acp"}
ACP_ARGS = {"gemini": "--acp", "opencode": "acp"}
WATCHED_PREFIXES = ("OPENCODE_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_GEMINI_")


def battery(cwd: str) -> list[dict[str, object]]:
    """The permission requests the stand-in asks, by title."""
    return [
        {"title": "read-inside", "kind": "read", "locations": [{"path": f"{cwd}/notes.md"}]},
        {"title": "read-outside", "kind": "read", "rawInput": {"file_path": "/etc/hostname"}},
        {"title": "edit-inside", "kind": "edit", "rawInput": {"file_path": f"{cwd}/new.txt"}},
        {"title": "execute", "kind": "execute", "rawInput": {"command": "ls"}},
    ]


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def ask(number: int, session: str, call: dict[str, object]) -> str:
    options = [
        {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
        {"optionId": "no", "name": "Reject", "kind": "reject_once"},
    ]
    send(
        {
            "jsonrpc": "2.0",
            "id": f"perm-{number}",
            "method": "session/request_permission",
            "params": {
                "sessionId": session,
                "toolCall": {"toolCallId": f"c{number}", **call},
                "options": options,
            },
        }
    )
    outcome = json.loads(sys.stdin.readline())["result"]["outcome"]
    return "allowed" if outcome.get("optionId") == "yes" else "rejected"


def speak_acp(record: dict[str, object]) -> None:
    """Answer one ACP turn, asking the battery, then write the record."""
    session, cwd = "stand-in-session", "."
    for line in sys.stdin:
        message = json.loads(line)
        method, ident = message.get("method"), message.get("id")
        if method == "initialize":
            result: dict[str, object] = {"protocolVersion": 1, "authMethods": []}
        elif method == "session/new":
            params = message["params"]
            cwd, record["meta"] = params["cwd"], params.get("_meta") or {}
            result = {"sessionId": session}
        elif method == "session/prompt":
            asked = {str(c["title"]): ask(n, session, c) for n, c in enumerate(battery(cwd))}
            record["asked"] = asked
            write(record)
            result = {"stopReason": "end_turn"}
        else:
            continue
        send({"jsonrpc": "2.0", "id": ident, "result": result})
        if method == "session/prompt":
            return


def write(record: dict[str, object]) -> None:
    with open(os.environ["RECORDING_AGENT_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def main() -> None:
    binary = os.environ.get("RECORDING_AGENT_NAME") or Path(sys.argv[0]).name
    argv = sys.argv[1:]
    if argv in (["--version"], ["-v"]):
        print("0.0.0-stand-in")
        return
    # The gateway asks whether it is logged in (`providers/cli_login.py`): it is.
    if argv[:2] == ["auth", "status"]:
        print(json.dumps({"loggedIn": True, "authMethod": "stand-in"}))
        return
    if argv == ["models"]:  # Grok's answer
        print("You are using XAI_API_KEY.")
        return
    env = {k: v for k, v in os.environ.items() if k.startswith(WATCHED_PREFIXES)}
    record: dict[str, object] = {"bin": binary, "argv": argv, "env": env}
    if binary in ALWAYS_ACP or ACP_ARGS.get(binary) in argv:
        record["acp"] = True
        speak_acp(record)
    else:
        write(record)


if __name__ == "__main__":
    main()
