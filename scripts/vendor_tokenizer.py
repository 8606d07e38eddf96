"""Write the o200k_base BPE ranks the gateway ships, from the npm `tiktoken` package's copy.

Usage: python scripts/vendor_tokenizer.py [path/to/node_modules/tiktoken/encoders/o200k_base.json]

The Python `tiktoken` package downloads its BPE files at run time, which the gateway must never
do. The npm package (MIT, dqbd/tiktoken; .ci/clis pins it, installed under .clis/) carries the
same ranks as JSON. This script rebuilds OpenAI's `o200k_base.tiktoken` byte for byte, refuses
to write unless its SHA-256 is the one `tiktoken` itself checks downloads against, and stores it
xz-compressed (3.6 MB -> 1.2 MB) as package data beside `engine/tokens/tokenizer.py`.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / ".clis" / "node_modules" / "tiktoken" / "encoders" / "o200k_base.json"
TARGET = ROOT / "llmgw_desktop" / "engine" / "tokens" / "o200k_base.tiktoken.xz"
# tiktoken_ext/openai_public.py: the hash it checks the downloaded o200k_base.tiktoken against.
EXPECTED_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def tiktoken_file(npm_json: dict[str, object]) -> bytes:
    """The `.tiktoken` text (`<base64 token> <rank>` per line) of the npm package's ranks.

    Each line of the npm format is `! <first rank> <token> <token> ...`, ranks consecutive.
    """
    lines: list[str] = []
    for row in str(npm_json["bpe_ranks"]).split("\n"):
        if not row:
            continue
        _, first, *tokens = row.split(" ")
        lines += [f"{token} {int(first) + offset}\n" for offset, token in enumerate(tokens)]
    return "".join(lines).encode()


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else SOURCE
    data = tiktoken_file(json.loads(source.read_text(encoding="utf-8")))
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256:
        print(f"refusing: sha256 {digest} is not tiktoken's {EXPECTED_SHA256}", file=sys.stderr)
        return 1
    TARGET.write_bytes(lzma.compress(data, preset=9))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes, sha256 of the ranks {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
