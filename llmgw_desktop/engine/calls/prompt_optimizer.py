"""What optimizePrompt does to a prompt: named strategies that shrink what the model reads
without changing what the prompt asks.

- `whitespace`: trailing spaces, runs of blank lines and runs of spaces inside a line go
  (leading indentation stays: it carries meaning in lists and YAML; so do tabs, a run of
  which is an empty column of pasted TSV).
- `repeated_lines`: a line repeated three or more times in a row (a log's retries, a progress
  bar) is kept once, followed by a marker saying how many times it repeats.
- `repeated_blocks`: a paragraph of 200 characters or more that already appeared earlier in the
  prompt (the same file or tool output pasted twice) becomes a marker quoting the beginning of
  the copy that stays.
- `long_output`: a paragraph of more than 200 lines (tool or command output; prose has blank
  lines) keeps its first and last 40 lines, with a marker saying how much was cut.

Never touched: fenced code blocks (``` or ~~~, closed only by a bare fence of the same
character at least as long, as CommonMark reads them), byte for byte; the question, that is the
prompt's last paragraph outside code; and the first copy of anything repeated. Of prompt parts
only the context is rewritten (`token_savings`: the task, system prompt and tool definitions go
byte for byte). Pure functions; token counting is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmgw_desktop.engine.calls.compression import INNER_SPACES, fenced_segments

__all__ = [
    "LONG_OUTPUT",
    "REPEATED_BLOCKS",
    "REPEATED_LINES",
    "WHITESPACE",
    "PromptOptimiser",
]

WHITESPACE = "whitespace"
REPEATED_LINES = "repeated_lines"
REPEATED_BLOCKS = "repeated_blocks"
LONG_OUTPUT = "long_output"

MIN_LINE_RUN = 3  # identical lines in a row before they fold
MIN_BLOCK_CHARS = 200  # shorter paragraphs ("Thanks.", "---") repeat for a reason
LONG_OUTPUT_LINES = 200  # a paragraph longer than this is output, not prose
KEEP_HEAD_LINES = 40
KEEP_TAIL_LINES = 40
QUOTED_CHARS = 60  # how much of a kept block a repeat marker quotes


def _line_marker(times: int) -> str:
    return f"[the line above repeats {times} more times]"


def _block_marker(first_line: str) -> str:
    head = first_line.strip()
    quoted = head if len(head) <= QUOTED_CHARS else head[:QUOTED_CHARS] + "…"
    return f'[repeated: the same text as the paragraph above that begins "{quoted}"]'


def _cut_marker(lines: list[str]) -> str:
    chars = sum(len(line) + 1 for line in lines)
    return (
        f"[… {len(lines):,} lines ({chars:,} characters) cut here by the gateway's prompt "
        "optimisation …]"
    )


@dataclass
class PromptOptimiser:
    """Rewrites the texts of one prompt in order, remembering paragraphs across them (so a
    context paragraph that repeats the system prompt folds) and which strategies fired."""

    fired: set[str] = field(default_factory=set)
    _seen: dict[str, str] = field(default_factory=dict)  # paragraph -> its first line

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies that changed something, in a stable order."""
        order = (WHITESPACE, REPEATED_LINES, REPEATED_BLOCKS, LONG_OUTPUT)
        return tuple(name for name in order if name in self.fired)

    def rewrite(self, text: str, *, protect_last: bool = True) -> str:
        """`text` optimised; `protect_last` keeps the last paragraph outside code (the
        question) byte for byte."""
        segments = fenced_segments(text)
        last_prose = max((i for i, (code, _) in enumerate(segments) if not code), default=-1)
        out: list[str] = []
        for index, (in_code, lines) in enumerate(segments):
            if in_code:
                out.extend(lines)
                continue
            blocks = _paragraphs(lines)
            question = max((n for n, b in enumerate(blocks) if b[0].strip()), default=-1)
            for number, block in enumerate(blocks):
                if protect_last and index == last_prose and number == question:
                    out.extend(block)  # the question: not even its whitespace
                else:
                    out.extend(self._block(block))
        result = "\n".join(out).strip("\n")
        if result.strip("\n") != text.strip("\n") and not self.fired:
            self.fired.add(WHITESPACE)  # only blank lines at the edges went
        return result

    def _block(self, block: list[str]) -> list[str]:
        """One paragraph (or a run of blank lines) with every strategy applied."""
        if not block[0].strip():
            if block != [""]:
                self.fired.add(WHITESPACE)
            return [""]  # runs of blank lines become one
        tidy = [INNER_SPACES.sub(" ", line.rstrip()) for line in block]
        if tidy != block:
            self.fired.add(WHITESPACE)
        key = "\n".join(tidy)
        if len(key) >= MIN_BLOCK_CHARS:
            if key in self._seen:
                self.fired.add(REPEATED_BLOCKS)
                return [_block_marker(self._seen[key])]
            self._seen[key] = tidy[0]
        folded = self._fold_runs(tidy)
        if len(folded) > LONG_OUTPUT_LINES:
            self.fired.add(LONG_OUTPUT)
            cut = folded[KEEP_HEAD_LINES:-KEEP_TAIL_LINES]
            return [*folded[:KEEP_HEAD_LINES], _cut_marker(cut), *folded[-KEEP_TAIL_LINES:]]
        return folded

    def _fold_runs(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        while index < len(lines):
            run = 1
            while index + run < len(lines) and lines[index + run] == lines[index]:
                run += 1
            marker = _line_marker(run - 1)
            # Fold only where it shortens the text: "ok" three times is shorter than a marker.
            if run >= MIN_LINE_RUN and len(lines[index]) * (run - 1) > len(marker):
                self.fired.add(REPEATED_LINES)
                out += [lines[index], marker]
            else:
                out += lines[index : index + run]
            index += run
        return out


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """`lines` as paragraphs and the runs of blank lines between them, in order."""
    blocks: list[list[str]] = []
    last_blank: bool | None = None
    for line in lines:
        blank = not line.strip()
        if blank != last_blank:
            blocks.append([])
            last_blank = blank
        blocks[-1].append(line)
    return blocks
