"""Secrets replaced by placeholders before a request leaves, and put back where the answer
echoes a placeholder.

A placeholder names the kind and a number: `[SECRET:aws_access_key#1]`. The number counts the
distinct values of that kind in the order they first appear in the request, so a conversation
sent again with a turn added gives each secret the same placeholder every time: the model's
view of the conversation stays the same (and so does the vendor's prompt cache), and a
placeholder the model wrote in an earlier turn still means the same value. Every occurrence
of a found value is replaced, also where the detector would not have found it alone (a
secret key repeated without its `aws_secret=` name).

Putting back is the answer's job (`restore.py`): an agent that edits a config file with the
placeholder in its tool call writes the real value, on the client's side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from llmgw_desktop.engine.guard.request_scan import Finding
from llmgw_desktop.engine.guard.walk import rewritten

__all__ = ["PLACEHOLDER", "Redaction"]

# Any placeholder this gateway writes (`[SECRET:kind#n]`).
PLACEHOLDER = re.compile(r"\[SECRET:[a-z0-9_]+#\d+\]")


class Redaction:
    """The placeholders of one request's secrets, both ways."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.placeholder_of: dict[str, str] = {}
        counts: dict[str, int] = {}
        for finding in findings:
            if finding.value in self.placeholder_of or not finding.value:
                continue
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
            self.placeholder_of[finding.value] = f"[SECRET:{finding.kind}#{counts[finding.kind]}]"
        self.value_of: dict[str, str] = {p: v for v, p in self.placeholder_of.items()}
        # Longest first: a value that holds another is replaced whole.
        ordered = sorted(self.placeholder_of, key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return bool(self.placeholder_of)

    def text(self, text: str) -> str:
        """`text` with every secret replaced by its placeholder."""
        if self._values is None:
            return text
        return self._values.sub(lambda m: self.placeholder_of[m.group()], text)

    def body(self, value: Any) -> Any:
        """A copy of a JSON body with the secrets of every string and every key replaced
        (`walk.rewritten`: the walk the scan read it by)."""
        if self._values is None:
            return value
        return rewritten(value, lambda text, _field: self.text(text))

    def originals(self) -> Mapping[str, str]:
        """Placeholder -> the value it stands for."""
        return self.value_of
