"""What optimizePrompt saves on real transcripts, counted by the shipped tokenizer, and proof
that what the prompt asks is kept.

Usage: python bench/token_optimisation.py [--repeat 5]

Inputs, all real: tests/fixtures/transcripts/ (whole agent transcripts captured from the real
Claude Code and Codex CLIs offline, scripts/capture_transcripts.py) and tests/fixtures/clients/
(requests recorded from real clients; their long texts were shortened when recorded). Each is
rendered as an agent would delegate it through optimizePrompt: as prompt parts (system prompt,
tool definitions, the conversation as context, the user's request as the task) and as one
plain prompt (the request last).

No model is reachable here, so "the answer does not change" cannot be shown by asking one.
What is checked instead, for every input: the question, the system prompt and the tool
definitions are byte-identical after optimisation, every fenced code block survives byte for
byte, and every cut is marked in the text. Also printed: the old optimiser (whitespace only,
measured by the word estimate, which ignores whitespace: it reported 0 saved), the tokenizer's
import and load cost, and the optimiser's time against counting alone (a ratio: this machine
is shared, absolute times are noise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmgw_desktop.engine.calls.compression import fenced_segments, optimize_text  # noqa: E402
from llmgw_desktop.engine.calls.params import CallParams  # noqa: E402
from llmgw_desktop.engine.calls.token_savings import optimize_prompt  # noqa: E402
from llmgw_desktop.engine.providers.base import PromptParts  # noqa: E402
from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens  # noqa: E402

TRANSCRIPTS = ROOT / "tests" / "fixtures" / "transcripts"
CLIENTS = ROOT / "tests" / "fixtures" / "clients"
PROVIDER = {"anthropic": "claude", "openai-responses": "codex", "gemini": "gemini"}
MARKERS = ("[the line above repeats", "[repeated: the same text", "cut here by the gateway")


def _text(value: Any) -> str:
    """The words of a message's content in any dialect (text, tool calls, tool results)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n\n".join(t for t in (_text(v) for v in value) if t)
    if not isinstance(value, dict):
        return ""
    kind = value.get("type")
    if kind in ("tool_use", "function_call"):
        args = value.get("input") or value.get("arguments")
        return f"[tool call {value.get('name')}] {json.dumps(args, ensure_ascii=False)}"
    if kind in ("tool_result", "function_call_output"):
        return "[tool result]\n" + _text(value.get("content") or value.get("output"))
    for key in ("text", "content", "parts", "output"):
        if key in value:
            return _text(value[key])
    return ""


def render(body: dict[str, Any], task: str) -> PromptParts:
    """A recorded request as prompt parts: `task` (the user's request) is taken out of the
    conversation and becomes the task; every other message is context, in order."""
    system = _text(body.get("system") or body.get("instructions") or "")
    system += _text(body.get("systemInstruction") or "")
    messages = body.get("messages") or body.get("input") or body.get("contents") or []
    context: list[str] = []
    for message in messages:
        role = message.get("role") or message.get("type") or "item"
        text = _text(message)
        if role in ("system", "developer") and not context:
            system += "\n\n" + text
            continue
        if task and task in text:
            text = text.replace(task, "").strip()
        if text:
            context.append(f"## {role}\n{text}")
    tools = json.dumps(body.get("tools") or [], ensure_ascii=False)
    return PromptParts(task=task, system=system.strip(), tools=tools, context="\n\n".join(context))


def inputs() -> list[tuple[str, str, PromptParts]]:
    """(name, provider, parts) of every real transcript and recorded client request."""
    found = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        provider = "claude" if record["cli"] == "claude" else "codex"
        found.append(
            (f"transcript {path.stem}", provider, render(record["body"], record["prompt"]))
        )
    for path in sorted(CLIENTS.glob("*/*.json")):
        for number, request in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            parts = render(request["body"], "")
            # The client's last paragraph is its question.
            head, _, question = parts.context.rpartition("\n\n")
            parts = PromptParts(task=question, system=parts.system, tools=parts.tools, context=head)
            name = f"client {path.parent.name}/{path.stem}#{number}"
            found.append((name, PROVIDER.get(request.get("dialect"), "opencode"), parts))
    return found


def code_blocks(text: str) -> Counter[str]:
    return Counter("\n".join(lines) for code, lines in fenced_segments(text) if code)


def kept(original: CallParams, optimised: CallParams) -> list[str]:
    """What a reader of the optimised prompt would miss that matters; [] when nothing."""
    problems = []
    before, after = original.prompt_parts, optimised.prompt_parts
    if before is not None and after is not None:
        for name in ("task", "system", "tools"):
            if getattr(before, name) != getattr(after, name):
                problems.append(f"{name} changed")
    else:
        question = (original.prompt or "").rstrip().rpartition("\n\n")[2]
        if not (optimised.prompt or "").endswith(question):
            problems.append("question changed")
    missing = code_blocks(original.rendered_prompt) - code_blocks(optimised.rendered_prompt)
    if missing:
        problems.append(f"{sum(missing.values())} code block(s) changed")
    lines_before = set(original.rendered_prompt.splitlines())
    new = [ln for ln in optimised.rendered_prompt.splitlines() if ln not in lines_before]
    unmarked = [ln for ln in new if ln.strip() and not any(m in ln for m in MARKERS)]
    # A whitespace-tidied line is new text too; anything else new would be an invention.
    tidied = {" ".join(ln.split()) for ln in lines_before}
    invented = [ln for ln in unmarked if " ".join(ln.split()) not in tidied]
    if invented:
        problems.append(f"{len(invented)} line(s) not from the original, e.g. {invented[0][:60]!r}")
    return problems


def timed(call: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


_COST_PROBE = """
import json, resource, time
from llmgw_desktop.engine.tokens import tokenizer
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
import tiktoken
imported = time.perf_counter() - start
start = time.perf_counter()
tokenizer.count_tokens("warm up")
loaded = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
rss = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024 - base
print(json.dumps([imported, loaded, peak / 1024, rss / 1024]))
"""


def tokenizer_cost() -> str:
    """The tokenizer's cost in a fresh process: import, first load, memory."""
    probe = subprocess.run(
        [sys.executable, "-c", _COST_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    imported, loaded, peak, kept_mb = json.loads(probe.stdout)
    return (
        f"tokenizer (fresh process): import tiktoken {imported * 1000:.0f} ms, first count "
        f"(decode the shipped o200k_base ranks) {loaded * 1000:.0f} ms, memory +{peak:.0f} MB "
        f"at peak, +{kept_mb:.0f} MB kept"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · {platform.machine()} · "
        f"{os.cpu_count()} CPUs · load {load1:.2f}/{load5:.2f} · Python {platform.python_version()}"
    )
    print(tokenizer_cost())
    print(
        "The answer is not checked against a model (none is reachable here): each row checks "
        "that the question, system prompt, tool definitions and every code block are "
        "byte-identical and that every cut is marked.\n"
    )
    header = f"{'input':<44} {'form':<6} {'before':>8} {'after':>8} {'saved':>13}  strategies"
    print(header + "  · old optimiser (estimate)  · kept")
    failures, ratios = 0, []
    for name, provider, parts in inputs():
        plain = CallParams(prompt=f"{parts.stable_prefix}\n\n{parts.task}".strip())
        for form, params in (("parts", CallParams(prompt_parts=parts)), ("plain", plain)):
            optimised, measured = optimize_prompt(params, provider)
            prompt = measured["prompt"]
            before, after = prompt["tokensBefore"], prompt["tokensAfter"]
            share = (before - after) / before if before else 0.0
            rendered = params.rendered_prompt
            old = optimize_text(rendered)
            problems = kept(params, optimised)
            failures += bool(problems)
            print(
                f"{name:<44} {form:<6} {before:>8,} {after:>8,} {before - after:>6,} "
                f"({share:>5.1%})  {','.join(prompt['strategies']) or '-'}"
                f"  · {old.tokens_before - old.tokens_after} of {old.tokens_before:,}"
                f"  · {'yes' if not problems else '; '.join(problems)}"
            )
            if form == "parts":
                optimise_s = timed(lambda p=params, v=provider: optimize_prompt(p, v), args.repeat)
                count_s = timed(lambda r=rendered: estimate_text_tokens(r), args.repeat)
                ratios.append(optimise_s / count_s if count_s else 0.0)
        print(f"{'':<44} tokenizer: {prompt['tokenizer']}")
    print(
        f"\noptimising (rewrite + two tokenizer counts) costs {min(ratios):.1f}x to "
        f"{max(ratios):.1f}x the old word estimate of the same prompt, measured in this run"
    )
    print(f"{'every input kept what it asks' if not failures else f'{failures} FAILED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
