"""The stdio relay's stdout as a test sees it: every JSON-RPC line the editor would read."""

from __future__ import annotations

import json
from typing import Any


class Editor:
    """The relay's stdout: what the editor reads."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.lines.extend(json.loads(line) for line in data.decode().splitlines())

    async def drain(self) -> None:
        return None
