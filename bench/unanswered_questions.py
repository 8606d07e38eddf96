"""The desktop's memory under questions nobody answers: what each round of 50 timed-out
questions at the desk leaves behind.

Usage: python bench/unanswered_questions.py [--baseline DIR] [--rounds 10] [--questions 50]
       [--timeout-s 0.2]

In a fresh interpreter per tree (offscreen Qt, the app's qasync loop), a window stands in for
the main window the desk's dialogs are parented to, and the desk that asks about a request
holding secrets (`guard.secrets = ask`) is attached to the engine's own `SecretQuestions`.
Each round asks `--questions` at once and lets every one time out (its answer: the fallback,
`block`), then gives the loop a moment (deferred deletions run there) and collects garbage.
Printed per tree: the process's resident memory after a warm-up round and after the rounds,
the growth per round (over all the rounds, and over their second half: what a round keeps once
the heap has grown to what one round needs), and the question dialogs Qt still holds. A
control run in the same process asks the same questions with no desk attached (no dialog:
answered by the fallback at once), for the growth that is not the dialogs'. `--baseline DIR`
runs another checkout first (`git worktree add /tmp/baseline main`), the same way, in its own
interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(rounds: int, questions: int, timeout_s: float) -> dict[str, float]:
    """This interpreter's figures (the tree imported is the one in the working directory)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, os.getcwd())
    import psutil

    from llmgw_desktop.engine.guard.desk import SecretQuestions
    from llmgw_desktop.engine.guard.request_scan import Finding
    from llmgw_desktop.ui.decision_dialog import DecisionDialog
    from llmgw_desktop.ui.event_loop import GatewayEventLoop
    from llmgw_desktop.ui.qt import QApplication, QWidget
    from llmgw_desktop.ui.secret_questions import DeskSecrets

    app = QApplication.instance() or QApplication([])
    QApplication.setQuitOnLastWindowClosed(False)
    loop = GatewayEventLoop(app)
    window = QWidget()
    window.show()
    found = (Finding("aws_access_key", "messages[0].content", 3, "AKIA" + "X" * 16, "k = [a]"),)
    process = psutil.Process()

    async def round_of(asked: SecretQuestions) -> None:
        await asyncio.gather(
            *(asked.ask("openai", "gpt-4o", "local", "bench", found) for _ in range(questions))
        )
        await asyncio.sleep(0.5)  # the loop's turn: deferred deletions run there
        gc.collect()

    async def rounds_of(asked: SecretQuestions) -> list[float]:
        await round_of(asked)  # warm-up: imports, caches, the first dialog's resources
        rss = [process.memory_info().rss / 2**20]
        for _ in range(rounds):
            await round_of(asked)
            rss.append(process.memory_info().rss / 2**20)
        return rss

    control = SecretQuestions(timeout_s=timeout_s, fallback="block")  # no desk: no dialog
    controlled = loop.run_until_complete(rounds_of(control))
    questions_at_desk = SecretQuestions(timeout_s=timeout_s, fallback="block")
    desk = DeskSecrets(questions_at_desk, window)
    rss = loop.run_until_complete(rounds_of(questions_at_desk))
    live = sum(isinstance(w, DecisionDialog) for w in QApplication.allWidgets())
    desk.detach()
    half = rounds // 2
    return {
        "control_growth_mb_per_round": (controlled[-1] - controlled[0]) / rounds,
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "growth_mb_per_round": (rss[-1] - rss[0]) / rounds,
        # The rounds' second half: what each round keeps once the heap has grown to its need.
        "late_growth_mb_per_round": (rss[-1] - rss[half]) / (rounds - half),
        "live_dialogs": live,
    }


def run_tree(tree: Path, args: argparse.Namespace) -> dict[str, float]:
    """`measure` in a fresh interpreter whose `llmgw_desktop` is `tree`'s."""
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--rounds",
            str(args.rounds),
            "--questions",
            str(args.questions),
            "--timeout-s",
            str(args.timeout_s),
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout, measured first")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--timeout-s", type=float, default=0.2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.rounds, args.questions, args.timeout_s)))
        return
    trees = ([("baseline", args.baseline)] if args.baseline else []) + [("current", ROOT)]
    print(f"{args.rounds} rounds of {args.questions} questions left to time out")
    results = {}
    for label, tree in trees:
        figures = results[label] = run_tree(tree, args)
        print(
            f"{label:>8}: RSS {figures['rss_start_mb']:.1f} -> {figures['rss_end_mb']:.1f} MB, "
            f"{figures['growth_mb_per_round']:+.2f} MB a round "
            f"({figures['late_growth_mb_per_round']:+.2f} in the second half) "
            f"(control without dialogs {figures['control_growth_mb_per_round']:+.2f} MB), "
            f"{figures['live_dialogs']:.0f} dialogs alive"
        )
    if "baseline" in results:
        before = results["baseline"]["rss_end_mb"] - results["baseline"]["rss_start_mb"]
        after = results["current"]["rss_end_mb"] - results["current"]["rss_start_mb"]
        print(f"growth over the rounds: {before:.1f} MB -> {after:.1f} MB")


if __name__ == "__main__":
    main()
