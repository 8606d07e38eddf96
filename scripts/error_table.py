"""Write the table of error codes in docs/troubleshooting.md from `ErrorCode`.

Usage: python scripts/error_table.py [--check]

Kept under its old name: it runs scripts/docs_reference.py, which writes every generated part
of the documentation (this table and the configuration reference) and checks them with --check.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docs_reference import main

if __name__ == "__main__":
    sys.exit(main())
