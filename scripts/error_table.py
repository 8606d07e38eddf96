"""Write README.md's table of error codes from `ErrorCode`, between its markers.

Usage: python scripts/error_table.py [--check]

The table lists every code a front door can answer with, its HTTP status and its meaning, as
`llmgw_desktop.engine.errors.error_code_table` renders them. `--check` changes nothing and exits
1 when the README is out of date (tests/engine/test_errors.py checks the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmgw_desktop.engine.errors import error_code_table

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- error-codes: written by scripts/error_table.py -->"
END = "<!-- /error-codes -->"


def with_table(readme: str) -> str:
    """`readme` with the text between the markers replaced by the current table.

    Raises:
        ValueError: the README lacks the markers.
    """
    head, found, rest = readme.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"README.md has no {START} ... {END} markers")
    return f"{head}{START}\n{error_code_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = with_table(current)
    if args.check:
        if wanted != current:
            print("README.md's error table is out of date: run python scripts/error_table.py")
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted, encoding="utf-8")
        print("README.md: error table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
