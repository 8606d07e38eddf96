"""A recent figure that forgets: each sample moves it part of the way, and with no sample it
fades toward nothing by half every `half_life_s`, and is forgotten after `FORGOTTEN_AFTER`
half-lives.

The lowest-latency strategy reads a target's time to first token from it: a target that was
slow and then left alone, while the others are asked and their figures renewed, fades until it
looks as fast as they do, or is forgotten (untried targets go first), is tried again, and its
new samples say whether it recovered. Without the forgetting a target once slow would never be
asked again, so it could never be seen to recover; the bound makes the time that takes the same
however much slower it was. Shares (how many of a route's answers each target gave lately) are
counts of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FORGOTTEN_AFTER", "SAMPLE_WEIGHT", "DecayingFigure"]

# How far one sample moves the figure toward itself: one slow answer is enough to steer away
# (from 50 ms to 1 s goes to about 340 ms), and a few fast ones bring it back.
SAMPLE_WEIGHT = 0.3
# Half-lives without a sample after which the figure is gone (None, as if never sampled).
FORGOTTEN_AFTER = 4


@dataclass
class DecayingFigure:
    """A moving figure (`add`) or a count (`count`) that halves every `half_life_s` it is left
    alone; None until its first sample."""

    half_life_s: float
    value: float = 0.0
    at: float = 0.0  # when `value` was set (monotonic seconds)
    samples: int = 0

    def now(self, when: float) -> float | None:
        """The figure at `when`: faded by the time since its last sample; None: no sample, or
        none for `FORGOTTEN_AFTER` half-lives."""
        if not self.samples:
            return None
        age = when - self.at
        half_life = self.half_life_s
        if not age > 0.0 or half_life <= 0:  # no time since (or a clock that went back)
            return self.value
        if age > FORGOTTEN_AFTER * half_life:
            return None
        faded: float = self.value * 0.5 ** (age / half_life)
        return faded

    def measured(self, when: float) -> float | None:
        """The figure as its last sample left it, not faded (what was measured: a latency
        shown to a person; the fading is the strategy's way to try a target again, and read
        as a latency it made a target failing every call look faster each minute); None as
        `now` says."""
        return None if self.now(when) is None else self.value

    def add(self, sample: float, when: float) -> None:
        """Move the figure toward `sample` (the first sample sets it)."""
        current = self.now(when)
        self.value = sample if current is None else current + SAMPLE_WEIGHT * (sample - current)
        self.at = when
        self.samples += 1

    def count(self, when: float, amount: float = 1.0) -> None:
        """Add `amount` to the faded count."""
        self.value = (self.now(when) or 0.0) + amount
        self.at = when
        self.samples += 1
