"""How often the outbound guard flags what is not a secret: a corpus of ordinary code, prompts
and the strings that look random without being secrets, each document sent as a chat request's
user message and read as the gateway reads a request (`inspect_body`).

Usage: python bench/guard_false_positives.py [--show 20] [--guard-from TREE]

The corpus, all on this machine and none of it holding a real secret:
- `code`: every module of this package (`llmgw_desktop/`), and the JavaScript the reference
  MCP servers and the ACP SDK ship (`.mcp-servers/`, `.acp-agents/` node_modules, `dist/`);
- `code, held out`: code the guard's filters were not tuned on (the ones above and `docs`
  were): 300 modules of the Python standard library and 300 of the JavaScript files in the
  vendor CLIs' packages (`.clis/node_modules`);
- `docs`: every page of `docs/`, and the README;
- `lock files`: the npm lock files of `.clis/`, `.mcp-servers/`, `.acp-agents/` (integrity
  hashes, resolved URLs), in 50 kB pieces;
- `git SHAs`: this repository's commits as `git log` prints them, and as `commit = "SHA"`
  and JSON, 50 a document;
- `UUIDs`, `hashes`: 50 a document, in prose, JSON and assignments (`id = "…"`,
  `sha256: "…"`, `etag`, `checksum`, a `SHA256SUMS` file), made here;
- `images`: the window's screenshots (`docs/images/*.png`) as data URLs in an image part, and
  as base64 assigned in code;
- `fake keys, labelled`: documentation's example keys (`AKIAIOSFODNN7EXAMPLE`) and fixtures
  whose line carries detect-secrets' `pragma: allowlist secret`.
A document counts as a false positive when the guard finds anything in it (the corpus holds
no secret; `--show` prints what was found, so a true find would be seen). The rate per
category and per megabyte is what docs/PERFORMANCE.md gives, dated.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `--guard-from TREE` reads the corpus with another tree's guard (a checkout of main): two
# versions' rates on the same documents, in one run. Put first on the path before the import.
_FROM = sys.argv.index("--guard-from") + 1 if "--guard-from" in sys.argv else 0
sys.path.insert(0, sys.argv[_FROM] if _FROM else str(ROOT))

from llmgw_desktop.engine.guard.request_scan import inspect_body  # noqa: E402
from llmgw_desktop.engine.guard.scanner import load_detectors  # noqa: E402

PIECE = 50 * 1024
PER_DOCUMENT = 50


def _pieces(text: str) -> Iterator[str]:
    for start in range(0, len(text), PIECE):
        yield text[start : start + PIECE]


def code() -> Iterator[str]:
    for path in sorted((ROOT / "llmgw_desktop").rglob("*.py")):
        yield path.read_text("utf-8")
    for folder in (".mcp-servers", ".acp-agents"):
        for path in sorted((ROOT / folder / "node_modules").glob("@*/*/dist/**/*.js"))[:400]:
            yield from _pieces(path.read_text("utf-8", errors="replace"))


def held_out_code() -> Iterator[str]:
    """Code the guard's filters were not tuned on: the Python standard library, and the
    JavaScript the vendor CLIs ship (`.clis/node_modules`)."""
    stdlib = Path(json.__file__).resolve().parent.parent
    for path in sorted(stdlib.glob("*.py"))[:300]:
        yield path.read_text("utf-8", errors="replace")
    for path in sorted((ROOT / ".clis" / "node_modules").glob("*/*.js"))[:300]:
        yield from _pieces(path.read_text("utf-8", errors="replace"))


def docs() -> Iterator[str]:
    for path in [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]:
        yield path.read_text("utf-8")


def lock_files() -> Iterator[str]:
    for folder in (".clis", ".mcp-servers", ".acp-agents"):
        path = ROOT / folder / "package-lock.json"
        if path.is_file():
            yield from _pieces(path.read_text("utf-8"))


def git_shas() -> Iterator[str]:
    log = subprocess.run(
        ["git", "log", "--format=%H %s", "-n", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for start in range(0, len(log), PER_DOCUMENT):
        lines = log[start : start + PER_DOCUMENT]
        shas = [line.split(" ", 1)[0] for line in lines]
        yield "\n".join(lines)
        yield "\n".join(f'commit = "{sha}"' for sha in shas)
        yield json.dumps([{"sha": sha, "parent": sha[::-1]} for sha in shas], indent=1)


def uuids() -> Iterator[str]:
    for batch in range(20):
        ids = [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{batch}-{i}")) for i in range(PER_DOCUMENT)]
        yield " ".join(f"Request {i} failed." for i in ids)
        yield "\n".join(f'request_id = "{i}"' for i in ids)
        yield json.dumps([{"id": i, "session_id": i} for i in ids])


def hashes() -> Iterator[str]:
    for batch in range(20):
        data = [f"{batch}-{i}".encode() for i in range(PER_DOCUMENT)]
        sha = [hashlib.sha256(d).hexdigest() for d in data]
        md5 = [hashlib.md5(d).hexdigest() for d in data]
        yield "\n".join(f"{h}  file_{i}.tar.gz" for i, h in enumerate(sha))
        yield "\n".join(f'sha256: "{h}"\netag = "{m}"' for h, m in zip(sha, md5, strict=True))
        yield json.dumps([{"checksum": h, "digest": f"sha256:{h}"} for h in sha])


def images() -> Iterator[dict[str, object]]:
    for path in sorted((ROOT / "docs" / "images").glob("*.png"))[:40]:
        encoded = base64.b64encode(path.read_bytes()).decode()
        url = f"data:image/png;base64,{encoded}"
        yield {"type": "image_url", "image_url": {"url": url}}
        yield {"type": "text", "text": f'ICON = "{encoded[:4000]}"\n'}


def labelled_fakes() -> Iterator[str]:
    yield (
        "# From the AWS documentation's examples:\n"
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    fake = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 3  # made up here
    yield (
        "def test_refuses_a_key():\n"
        f'    key = "{fake}"  # pragma: allowlist secret\n'
        "    # pragma: allowlist nextline secret\n"
        f'    token = "ghp_{"x1Y2" * 9}"\n'
    )


CATEGORIES = {
    "code": code,
    "code, held out": held_out_code,
    "docs": docs,
    "lock files": lock_files,
    "git SHAs": git_shas,
    "UUIDs": uuids,
    "hashes": hashes,
    "images": images,
    "fake keys, labelled": labelled_fakes,
}


def _body(document: str | dict[str, object]) -> dict[str, object]:
    content = document if isinstance(document, str) else [document]
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=20, help="print this many findings")
    parser.add_argument("--guard-from", help="the tree whose guard reads the corpus")
    args = parser.parse_args()
    load_detectors()
    print(f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}")
    print(f"  the guard of {Path(inspect_body.__code__.co_filename).parents[3]}")
    print(f"  {'category':<22}{'documents':>10}{'MB':>8}{'flagged':>9}{'rate':>8}{'per MB':>8}")
    shown = 0
    total_docs = total_flagged = 0
    total_bytes = 0
    kinds: Counter[str] = Counter()
    for name, documents in CATEGORIES.items():
        count = flagged = size = found = 0
        for document in documents():
            body = _body(document)
            size += len(json.dumps(body))
            inspection = inspect_body(body, personal=False, max_chars=1 << 26, budget_s=10)
            count += 1
            if inspection.findings:
                flagged += 1
                found += len(inspection.findings)
                for finding in inspection.findings:
                    kinds[finding.kind] += 1
                    if shown < args.show:
                        shown += 1
                        print(f"    {name}: {finding.kind}: {finding.excerpt[:110]!r}")
        megabytes = size / 1e6
        rate = flagged / count if count else 0.0
        per_mb = found / megabytes if megabytes else 0.0
        print(f"  {name:<22}{count:>10}{megabytes:>8.2f}{flagged:>9}{rate:>8.1%}{per_mb:>8.2f}")
        total_docs, total_flagged, total_bytes = (
            total_docs + count,
            total_flagged + flagged,
            total_bytes + size,
        )
    print(
        f"  {'all':<22}{total_docs:>10}{total_bytes / 1e6:>8.2f}{total_flagged:>9}"
        f"{total_flagged / total_docs:>8.1%}{sum(kinds.values()) / (total_bytes / 1e6):>8.2f}"
    )
    print(f"  findings by kind: {dict(kinds.most_common())}")


if __name__ == "__main__":
    main()
