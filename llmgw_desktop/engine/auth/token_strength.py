"""Is a static secret (the bearer token, the registration secret) guessable?

Length alone says little: 32 copies of one letter are 32 characters. The estimate here is what
an attacker who tries simple patterns first would still have to search:

- each character costs the bits of the smallest usual alphabet that holds the whole secret
  (hex, digits, letters, letters and digits, printable ASCII);
- a stretch of 4 or more characters that repeats the previous character, continues an
  ascending or descending sequence (`abcd`, `6543`), or copies text seen earlier in the secret
  (`passwordpassword`) costs a few bits for the whole stretch, not per character;
- separately, the characters' frequencies (Shannon entropy times length) must show enough
  variety, which catches secrets drawn from a handful of characters.

A random 128-bit secret (`secrets.token_hex(16)`) scores about 128 bits, and
`secrets.token_urlsafe(32)` about 280; the thresholds sit a little under 128 so that an
unlucky random secret is not refused.
"""

from __future__ import annotations

import math
import string
from collections import Counter

__all__ = ["GOOD_SECRET_RECIPE", "MIN_ESTIMATED_BITS", "estimated_bits", "weakness"]

MIN_ESTIMATED_BITS = 120
MIN_FREQUENCY_BITS = 80
MIN_PATTERN = 4  # shorter stretches occur by chance in random secrets
PATTERN_BITS = 8  # what naming "repeat / sequence / copy, this long" costs an attacker
GOOD_SECRET_RECIPE = 'python -c "import secrets;print(secrets.token_urlsafe(32))"'  # noqa: S105

_HEX_LOWER = frozenset(string.digits + "abcdef")
_HEX_UPPER = frozenset(string.digits + "ABCDEF")
_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
)
_OTHER_SIZE = 33  # printable ASCII punctuation and space


def weakness(secret: str) -> str | None:
    """Why `secret` is too guessable to guard the gateway, or None when it is fine."""
    bits = estimated_bits(secret)
    if bits < MIN_ESTIMATED_BITS:
        return (
            f"it is too predictable (about {bits:.0f} bits once repeats and sequences are "
            f"discounted; at least {MIN_ESTIMATED_BITS} are needed)"
        )
    frequency = frequency_bits(secret)
    if frequency < MIN_FREQUENCY_BITS:
        return (
            f"it uses too few different characters (about {frequency:.0f} bits by character "
            f"frequency; at least {MIN_FREQUENCY_BITS} are needed)"
        )
    return None


def estimated_bits(secret: str) -> float:
    """Bits an attacker trying repeats, sequences and copies first must still search."""
    per_char = math.log2(_alphabet_size(secret)) if secret else 0.0
    bits, i = 0.0, 0
    while i < len(secret):
        stretch = _pattern_length(secret, i)
        if stretch >= MIN_PATTERN:
            bits += PATTERN_BITS
            i += stretch
        else:
            bits += per_char
            i += 1
    return bits


def frequency_bits(secret: str) -> float:
    """Shannon entropy of the character frequencies, times the length."""
    if not secret:
        return 0.0
    counts = Counter(secret).values()
    n = len(secret)
    return -sum(c / n * math.log2(c / n) for c in counts) * n


def _alphabet_size(secret: str) -> int:
    chars = set(secret)
    if chars <= _HEX_LOWER or chars <= _HEX_UPPER:
        return 16
    size = sum(n for members, n in _CLASSES if chars & members)
    if any(not c.isascii() or not c.isalnum() for c in chars):
        size += _OTHER_SIZE
    return size


def _pattern_length(secret: str, i: int) -> int:
    """How many characters from `i` on a simple pattern predicts (0 when none applies)."""
    return max(_run(secret, i), _sequence(secret, i), _copy(secret, i))


def _run(secret: str, i: int) -> int:
    if i == 0:
        return 0
    n = 0
    while i + n < len(secret) and secret[i + n] == secret[i - 1]:
        n += 1
    return n


def _sequence(secret: str, i: int) -> int:
    if i < 2:
        return 0
    step = ord(secret[i - 1]) - ord(secret[i - 2])
    if step not in (1, -1):
        return 0
    n = 0
    while i + n < len(secret) and ord(secret[i + n]) - ord(secret[i + n - 1]) == step:
        n += 1
    return n


def _copy(secret: str, i: int) -> int:
    """The longest stretch from `i` that repeats text starting earlier (overlap allowed)."""
    best = 0
    for start in range(i):
        n = 0
        while i + n < len(secret) and secret[start + n] == secret[i + n]:
            n += 1
        best = max(best, n)
    return best
