"""A stand-in ACP agent for the failure paths no real agent takes on purpose.

Run as `python fake_acp_agent.py BEHAVIOUR`; it speaks newline-delimited JSON-RPC on stdio
(written by hand, so it can misbehave). Behaviours:
  answer      a well-behaved agent: initialize, session/new, a prompt answered in two chunks
              (the prompt's text quoted, then each image it was given: `image:TYPE:LENGTH`)
  text-only   as `answer`, but says it takes no images (`promptCapabilities.image` false)
  permission  asks `session/request_permission` for an `execute` tool call, then says which
              option it was given ("allowed:ID", "rejected:ID" or "cancelled")
  ask-each    asks `session/request_permission` for each tool call of the JSON list in its next
              argument, then says how each was answered ("TITLE=allowed" or "=rejected", "; "
              between them)
  no-init     never answers initialize
  crash       answers initialize and session/new, then exits 3 mid-prompt (with a child that
              would outlive it, to show the group is killed)
  flood       answers the prompt with an endless stream of updates
  malformed   prints lines that are not JSON-RPC before answering normally
  hang        answers everything but the prompt, which it never answers (for cancel)
The PID of every child it starts is written to $FAKE_ACP_PIDS (one per line) when set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

BEHAVIOUR = sys.argv[1] if len(sys.argv) > 1 else "answer"
SESSION = "fake-session-1"


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def update(text: str) -> None:
    send(
        {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {
                "sessionId": SESSION,
                "update": {
                    "sessionUpdate": "agent_message_chunk",
                    "content": {"type": "text", "text": text},
                },
            },
        }
    )


OPTIONS = [
    {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
    {"optionId": "always", "name": "Always", "kind": "allow_always"},
    {"optionId": "no", "name": "Reject", "kind": "reject_once"},
]


def ask(number: int, tool_call: dict) -> str:
    """Put one permission request; how it was answered ("allowed", "rejected", "cancelled")."""
    send(
        {
            "jsonrpc": "2.0",
            "id": f"perm-{number}",
            "method": "session/request_permission",
            "params": {
                "sessionId": SESSION,
                "toolCall": {"toolCallId": f"call-{number}", **tool_call},
                "options": OPTIONS,
            },
        }
    )
    outcome = json.loads(sys.stdin.readline())["result"]["outcome"]
    if outcome.get("outcome") != "selected":
        return "cancelled"
    return "rejected" if outcome.get("optionId") == "no" else "allowed"


def child() -> None:
    """A grandchild that would outlive the agent unless its group is killed."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    if path := os.environ.get("FAKE_ACP_PIDS"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()}\n{proc.pid}\n")


def main() -> None:
    if BEHAVIOUR == "malformed":
        print("this is not json")
        print('{"no": "jsonrpc"}')
        sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        method, ident = message.get("method"), message.get("id")
        if method == "initialize":
            child()
            if BEHAVIOUR == "no-init":
                continue
            send(
                {
                    "jsonrpc": "2.0",
                    "id": ident,
                    "result": {
                        "protocolVersion": 1,
                        "agentCapabilities": {
                            "loadSession": True,
                            "promptCapabilities": {"image": BEHAVIOUR != "text-only"},
                        },
                        "agentInfo": {"name": "fake-acp-agent", "version": "0.0.1"},
                        "authMethods": [],
                    },
                }
            )
        elif method in ("session/new", "session/load"):
            result = {"sessionId": SESSION} if method == "session/new" else {}
            send({"jsonrpc": "2.0", "id": ident, "result": result})
        elif method == "session/prompt":
            text = message["params"]["prompt"][0].get("text", "")
            if BEHAVIOUR == "crash":
                update("partial ")
                sys.exit(3)
            if BEHAVIOUR == "hang":
                update("thinking ")
                continue
            if BEHAVIOUR == "flood":
                while True:
                    update("x" * 1000)
            if BEHAVIOUR == "ask-each":
                calls = json.loads(sys.argv[2])
                update("; ".join(f"{c['title']}={ask(n, c)}" for n, c in enumerate(calls)))
            elif BEHAVIOUR == "permission":
                send(
                    {
                        "jsonrpc": "2.0",
                        "id": "perm-1",
                        "method": "session/request_permission",
                        "params": {
                            "sessionId": SESSION,
                            "toolCall": {
                                "toolCallId": "call-1",
                                "title": "rm -rf build",
                                "kind": "execute",
                                "rawInput": {"command": "rm -rf build"},
                            },
                            "options": [
                                {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                                {"optionId": "always", "name": "Always", "kind": "allow_always"},
                                {"optionId": "no", "name": "Reject", "kind": "reject_once"},
                            ],
                        },
                    }
                )
                answer = json.loads(sys.stdin.readline())
                outcome = answer["result"]["outcome"]
                said = (
                    f"allowed:{outcome['optionId']}"
                    if outcome.get("outcome") == "selected"
                    else "cancelled"
                )
                if outcome.get("optionId") == "no":
                    said = "rejected:no"
                update(said)
            else:
                update("FAKE-ACP ")
                update(f"heard {text!r}")
                for block in message["params"]["prompt"][1:]:
                    if block.get("type") == "image":
                        update(f" image:{block['mimeType']}:{len(block['data'])}")
            send(
                {
                    "jsonrpc": "2.0",
                    "id": ident,
                    "result": {
                        "stopReason": "end_turn",
                        "usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14},
                    },
                }
            )
        elif method == "session/cancel":
            time.sleep(0)


if __name__ == "__main__":
    main()
