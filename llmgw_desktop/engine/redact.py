"""Mask secrets (API keys, bearer tokens, JWTs, private keys, passwords) before they are stored.

Used for the log file, the job store and anything else written to disk. Known key shapes keep
a short prefix so a reader can still tell which kind of key it was.
"""

from __future__ import annotations

import functools
import re
from typing import Any, AnyStr, NamedTuple

__all__ = [
    "REDACTED",
    "KnownSecrets",
    "Spellings",
    "known_secrets",
    "redact",
    "redact_data",
    "spellings_of",
]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_SEQUENCES = (list, tuple)

REDACTED = "[REDACTED]"
_REDACTED_BYTES = REDACTED.encode()
# Shorter configured values are not masked: they would mask ordinary words.
MIN_KNOWN_SECRET = 8


# JSON's two-character escapes (RFC 8259, 7): a JSON text may write these characters so, or
# any character as `\\u` and four hex digits (a pair of them past U+FFFF).
_SHORT_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "\b": "b",
    "\f": "f",
    "\n": "n",
    "\r": "r",
    "\t": "t",
}


def _units(char: str) -> list[str]:
    """`char`'s UTF-16 code units as JSON's `\\u` escapes write them (lower case hex)."""
    code = ord(char)
    if code < 0x10000:
        return [f"{code:04x}"]
    return [f"{0xD800 + ((code - 0x10000) >> 10):04x}", f"{0xDC00 + (code & 0x3FF):04x}"]


def _spelled(char: str) -> str:
    """A pattern of `char` as a JSON text may write it: escaped, or itself. An escape may follow
    any run of backslashes, taken whole: a JSON string inside a JSON string (a tool call's
    arguments) doubles them, and what is left around a match stays JSON. Atomic, so a value
    with runs of backslashes never makes the search backtrack without end."""
    hex_units = "".join(
        r"\\+u" + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in unit)
        for unit in _units(char)
    )
    ways = [hex_units]
    if char == "\\":
        # Escaped, a backslash is a pair (two pairs in JSON in JSON): pairs only, so the run
        # left for the next character's escape is its own.
        ways.append(r"(?:\\\\)+")
    elif char in _SHORT_ESCAPES:
        ways.append(r"\\+" + re.escape(_SHORT_ESCAPES[char]))
    ways.append(re.escape(char))
    return "(?>" + "|".join(ways) + ")"


def _gate(values: tuple[str, ...]) -> str:
    """A pattern of the escapes that could spell a character of `values` (a backslash before
    `u` and one of their characters' code units, or before one of their characters that has a
    short escape): only a text holding one is searched with the slower pattern."""
    chars = {char for value in values for char in value}
    units = sorted({unit for char in chars for unit in _units(char)})
    shorts = sorted(_SHORT_ESCAPES[char] for char in chars if char in _SHORT_ESCAPES)
    ways = ["u(?i:" + "|".join(units) + ")", *(re.escape(short) for short in shorts)]
    return r"\\(?:" + "|".join(ways) + ")"


class _Spelled(NamedTuple):
    """A set of values and their searches, made together and swapped in one assignment (the
    log filter reads them on other threads)."""

    values: tuple[str, ...]
    encoded: tuple[bytes, ...]
    gate: re.Pattern[str] | None  # None: no values, nothing to look for
    gate_bytes: re.Pattern[bytes] | None
    # One pattern a value: its matches are merged, so values that overlap are masked whole.
    patterns: tuple[re.Pattern[str], ...]
    patterns_bytes: tuple[re.Pattern[bytes], ...]


def _spelled_set(values: tuple[str, ...]) -> _Spelled:
    encoded = tuple(value.encode() for value in values)
    if not values:
        return _Spelled(values, encoded, None, None, (), ())
    gate = _gate(values)
    sources = ["".join(_spelled(char) for char in value) for value in values]
    return _Spelled(
        values,
        encoded,
        re.compile(gate),
        re.compile(gate.encode()),
        tuple(re.compile(source) for source in sources),
        tuple(re.compile(source.encode()) for source in sources),
    )


def _spans(patterns: tuple[re.Pattern[AnyStr], ...], text: AnyStr) -> list[list[int]]:
    """Where any of `patterns` matches `text`, overlapping and touching matches merged."""
    merged: list[list[int]] = []
    for start, end in sorted(m.span() for pattern in patterns for m in pattern.finditer(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _replaced(text: AnyStr, spans: list[list[int]], redacted: AnyStr) -> AnyStr:
    """`text` with each span replaced by `redacted`."""
    pieces: list[AnyStr] = []
    at = 0
    for start, end in spans:
        pieces += [text[at:start], redacted]
        at = end
    pieces.append(text[at:])
    return text[:0].join(pieces)


class Spellings:
    """A set of secret values (longest first), found as written or as a JSON text may spell
    them: an answer is JSON, and its client's decoder reads `\\u0073` as `s`, `\\/` as `/`
    and `\\"` as `"` (a tool call's arguments, JSON in JSON, are decoded twice), so a value
    written with escapes is the value to its client.

    A text holding an escape that could spell a character of a value (`_gate`), which most
    answers do not, is searched with each value's pattern, the matches merged; any other text
    with the plain search, longest value first (no call between: this runs for every string
    the redactor reads)."""

    def __init__(self, values: tuple[str, ...] = ()) -> None:
        self._set = _spelled_set(values)

    @property
    def values(self) -> tuple[str, ...]:
        return self._set.values

    def _spell(self, values: tuple[str, ...]) -> None:
        self._set = _spelled_set(values)

    def mask(self, text: str) -> str:
        spelled = self._set
        gate = spelled.gate
        if gate is not None and "\\" in text and gate.search(text) is not None:
            # Each value's matches, merged: one found from inside an escape that ends as it
            # begins (`\\u0033` and `3RT...`) is found from the escape, so no broken escape is
            # left behind, and values that overlap are masked whole.
            return _replaced(text, _spans(spelled.patterns, text), REDACTED)
        for value in spelled.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def mask_bytes(self, data: bytes) -> bytes:
        """`mask` for an encoded (UTF-8) text."""
        spelled = self._set
        gate = spelled.gate_bytes
        # `find`, not `in`, for bytes: `in` tries the operand as a byte's value first.
        if gate is not None and data.find(b"\\") >= 0 and gate.search(data) is not None:
            return _replaced(data, _spans(spelled.patterns_bytes, data), _REDACTED_BYTES)
        for encoded in spelled.encoded:
            if data.find(encoded) >= 0:
                data = data.replace(encoded, _REDACTED_BYTES)
        return data

    def may_spell(self, data: bytes | str) -> bool:
        """Whether `data` holds an escape that could spell a character of one of the values
        (`\\u0073`, `\\/`): a text without one holds a value only as written."""
        spelled = self._set
        if isinstance(data, str):
            gate = spelled.gate
            return gate is not None and "\\" in data and gate.search(data) is not None
        gate_bytes = spelled.gate_bytes
        return (
            gate_bytes is not None
            and data.find(b"\\") >= 0  # not `in`, which tries the operand as a byte's value
            and gate_bytes.search(data) is not None
        )

    def present(self, text: str) -> bool:
        """Whether `text` holds one of the values, as written or spelled with escapes."""
        spelled = self._set
        for value in spelled.values:  # a loop: no generator, as in `mask`
            if value in text:
                return True
        gate = spelled.gate
        if gate is None or "\\" not in text or gate.search(text) is None:
            return False
        return any(pattern.search(text) for pattern in spelled.patterns)

    def present_bytes(self, data: bytes) -> bool:
        """`present` for an encoded (UTF-8) text."""
        spelled = self._set
        # `find`, not `in`, for bytes: `in` tries the operand as a byte's value first.
        for encoded in spelled.encoded:  # a loop: no generator, as in `mask`
            if data.find(encoded) >= 0:
                return True
        gate = spelled.gate_bytes
        if gate is None or data.find(b"\\") < 0 or gate.search(data) is None:
            return False
        return any(pattern.search(data) for pattern in spelled.patterns_bytes)


@functools.lru_cache(maxsize=64)
def spellings_of(values: tuple[str, ...], more: tuple[str, ...] = ()) -> Spellings:
    """The `Spellings` of `values` and `more` together (longest first: one holding another is
    masked whole), made once for each set: an upstream's answers are masked of the key it was
    sent and the process's own secrets (`known_secrets.values`), the same for many answers."""
    every = {value for value in (*values, *more) if value}  # "" would match everywhere
    return Spellings(tuple(sorted(every, key=len, reverse=True)))


class KnownSecrets(Spellings):
    """The exact secret values this process holds (the vault master key, the static bearer
    token, the registration secret, the store's password), masked wherever `redact` runs even
    though they have no recognisable shape, as written or spelled with JSON escapes (the
    `Spellings` it is: its searches are theirs, with no call between).

    One per process (`known_secrets`): they are the process's own, and `redact` runs where no
    engine is at hand (the log filter, the job and recorder writes). The composition root adds
    them as it reads them; nothing else changes the set.
    """

    def __init__(self) -> None:
        super().__init__()
        # Where each value comes from, in words a placeholder may carry (`http.auth_token`).
        self._sources: dict[str, str] = {}
        # Counts changes of the set: a text redacted once and remembered (a caller's name) is
        # redacted again once this moves.
        self.version = 0

    def add(self, *values: str, source: str = "gateway secret") -> None:
        """Mask these values from now on (empty and short ones are ignored); `source` names
        where they come from (the outbound guard's answer scan names it, never the value)."""
        fresh = {v for v in values if len(v) >= MIN_KNOWN_SECRET} - set(self.values)
        if fresh:
            # Longest first: a value that holds another is masked whole.
            self._spell(tuple(sorted({*self.values, *fresh}, key=len, reverse=True)))
            self._sources.update(dict.fromkeys(fresh, source))
            self.version += 1

    def sources(self) -> dict[str, str]:
        """Every value with where it comes from."""
        return {value: self._sources.get(value, "gateway secret") for value in self.values}

    def clear(self) -> None:
        """Forget every value (for a test, which stands in for a fresh process)."""
        self._spell(())
        self._sources.clear()
        self.version += 1


known_secrets = KnownSecrets()

# Vendor key shapes: OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), OpenRouter (sk-or-), Groq
# (gsk_), xAI (xai-), GitHub (ghp_ gho_ ghu_ ghs_ github_pat_), Google (AIza), Hugging Face
# (hf_), Slack (xox?-), Stripe (sk_live_, rk_live_), GitLab (glpat-), npm (npm_); and this
# gateway's own keys (llmgw-): the process never holds them in clear to mask by value, so a key
# pasted into a prompt that body capture keeps is caught by its shape.
_KEY_SHAPES = re.compile(
    r"\b(sk-ant-|sk-proj-|sk-or-|sk-|gsk_|xai-|ghp_|gho_|ghu_|ghs_|github_pat_|AIza|hf_|"
    r"xox[abprs]-|sk_live_|rk_live_|sk_test_|glpat-|npm_|mcp_|llmgw-)"
    r"[A-Za-z0-9_\-]{12,}"
)
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
# Tried once per run of token characters, at its first `eyJ` after a word boundary (atomic;
# group 1 is the run before it, kept): retried at every `eyJ` of "eyJa-eyJa-...", the run was
# read again each time.
_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])(?>([A-Za-z0-9_-]*?)\beyJ[A-Za-z0-9_-]{8,}+)"
    r"\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----")
# A scheme is looked for once per run of scheme characters, from its first letter after a word
# boundary (atomic): retried at every letter, "a.a.a..." costs time quadratic in its length.
_URL_CREDENTIALS = re.compile(
    r"(?<![a-z0-9+.-])((?>[a-z0-9+.-]*?\b[a-z][a-z0-9+.-]*+)://[^/\s:@]+):([^/\s@]+)@"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
# key=value and "key": "value" pairs whose name says they hold a secret (in its last dotted
# part). Linear in the text: a match starts only where a name starts, its dotted parts and its
# last part are taken whole (possessive, atomic), so a long run of word characters is read once
# instead of once per character (an upstream's error body that echoes a 64 KB name took minutes).
_NAMED = re.compile(
    r"""(?ix)
    (?<![\w.\-])
    (["']?(?:[\w\-]*+\.)*+
     (?>[\w\-]*?(?:api[_-]?key|token|secret|password|passwd|authorization|credential)[\w\-]*+)
     ["']?\s*[:=]\s*)
    (["']?)([^\s"',;&}]{4,})
    """
)


def _mask_pem(text: str) -> str:
    """Private key blocks masked, their BEGIN and END lines kept. Each BEGIN looks for its END
    with a plain search, and a label found without an END is not looked for again: a lazy
    `.*?` read the rest of the text again from every BEGIN."""
    pieces: list[str] = []
    copied = search_at = 0
    without_end: set[str] = set()
    while (begin := _PEM_BEGIN.search(text, search_at)) is not None:
        label = begin.group(1)
        end_line = f"-----END {label}-----"
        end = -1 if label in without_end else text.find(end_line, begin.end())
        if end < 0:
            without_end.add(label)
            search_at = begin.start() + 1
            continue
        pieces += [text[copied : begin.start()], f"-----BEGIN {label}-----{REDACTED}{end_line}"]
        copied = search_at = end + len(end_line)
    return "".join(pieces) + text[copied:] if pieces else text


_CODE_VALUE = re.compile(r"[()\[\]{}<$]|^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# Token counts (`"input_tokens": 12345`, `max_tokens=4096`): a number under a key that counts
# tokens is usage, never a secret, and CLIs print dozens of them in every answer.
_COUNT_KEY = re.compile(r"(?i)tokens|token_?count")
_NOT_SECRETS = frozenset({"none", "null", "true", "false", "undefined", "nil", "required"})


def _mask_named(match: re.Match[str]) -> str:
    key, quote, value = match.group(1), match.group(2), match.group(3)
    # `password = getpass()` or `token = request.headers` in an answer is code, not a secret:
    # unquoted values that read as calls, indexing or dotted references stay.
    if not quote and (_CODE_VALUE.search(value) or value.lower() in _NOT_SECRETS):
        return match.group(0)
    if value.isdigit() and _COUNT_KEY.search(key):
        return match.group(0)
    return key + quote + REDACTED


# What each pattern cannot match without, checked before the pattern is run: a regex scans
# every position of the text, and Claude's 3 KB stream-json answer took 1 ms through all of
# them, where these substring checks take microseconds. Case-sensitive patterns are checked on
# the text, case-insensitive ones on its folded lowercase. A new pattern adds its own gate.
_PEM_GATE = "-----BEGIN "
_JWT_GATE = "eyJ"
# Every prefix of `_KEY_SHAPES`, shortened where one covers others ("sk_" holds gsk_,
# sk_live_ and sk_test_; "sk-" holds sk-ant-, sk-proj-, sk-or-).
_KEY_GATES = (
    "sk-",
    "sk_",
    "xai-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "github_pat_",
    "AIza",
    "hf_",
    "xox",
    "rk_live_",
    "glpat-",
    "npm_",
    "mcp_",
    "llmgw-",
)
_AWS_GATES = ("AKIA", "ASIA")
# `_BEARER` needs "bearer" or "basic" in the folded text (checked inline: two `in`).
# `_NAMED` needs one of these words (lowercased) in a name followed, later, by `:` or `=`.
_NAMED_TRIGGERS = ("api", "token", "secret", "passw", "authorization", "credential")
# The non-ASCII letters the case-insensitive patterns match as ASCII ones (İ ı as i, ſ as s,
# the Kelvin sign as k), folded before lowercasing so the gates see what the patterns see.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


# The case-sensitive gates in one pattern, for short texts (the names, models and ids of a
# recorder row and a request's caller, several a request): one scan of a 6-22 character text
# costs 0.14-0.32 us, an `in` per gate 0.73-0.76 us. Past `_ONE_SCAN_MAX` characters the `in`s
# are as fast or faster (each a C string search; the pattern tries its alternatives at most
# positions).
_SHAPE_GATES = re.compile(
    "|".join(re.escape(gate) for gate in (_PEM_GATE, _JWT_GATE, *_KEY_GATES, *_AWS_GATES))
)
_ONE_SCAN_MAX = 64


def _folded(text: str) -> str:
    return (text if text.isascii() else text.translate(_FOLD)).lower()


def _may_hold_shape(text: str) -> bool:
    """Whether a case-sensitive pattern or the URL one might match `text` (False: none of
    their gates is in it)."""
    if "://" in text and "@" in text:
        return True
    if len(text) <= _ONE_SCAN_MAX:
        return _SHAPE_GATES.search(text) is not None
    return (
        _PEM_GATE in text
        or _JWT_GATE in text
        or any(gate in text for gate in _KEY_GATES)
        or any(gate in text for gate in _AWS_GATES)
    )


def _named_may_match(lowered: str) -> bool:
    if ":" not in lowered and "=" not in lowered:  # every pair has one after its name
        return False
    for word in _NAMED_TRIGGERS:
        at = lowered.find(word)
        if at >= 0 and (lowered.find(":", at) >= 0 or lowered.find("=", at) >= 0):
            return True
    return False


def redact(text: str, *, named: bool = True) -> str:
    """Return `text` with anything that looks like a secret replaced by `[REDACTED]`.

    `named=False` masks only unmistakable secrets (key shapes, JWTs, private keys, bearer
    tokens, passwords in URLs) and skips `password = ...`-style pairs.
    """
    # The process's own secrets first, whatever their shape (a master key is plain base64).
    text = known_secrets.mask(text)
    if _may_hold_shape(text):
        text = _mask_shapes(text)
    lowered = _folded(text)
    if "bearer" in lowered or "basic" in lowered:
        text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
        lowered = _folded(text)
    if not named or not _named_may_match(lowered):
        return text
    return _mask_named_pairs(text, lowered)


def _mask_shapes(text: str) -> str:
    """The case-sensitive patterns and the URL one, in order, each one only when the text (as
    the patterns before it left it) holds its gate: the same result as running them all,
    without scanning for what is absent."""
    if _PEM_GATE in text:
        text = _mask_pem(text)
    if _JWT_GATE in text:
        text = _JWT.sub(lambda m: m.group(1) + REDACTED, text)
    if any(gate in text for gate in _KEY_GATES):
        text = _KEY_SHAPES.sub(lambda m: m.group(1) + REDACTED, text)
    if any(gate in text for gate in _AWS_GATES):
        text = _AWS_KEY_ID.sub(lambda m: m.group(1) + REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    return text


def _mask_named_pairs(text: str, lowered: str) -> str:
    """`_NAMED.sub(_mask_named, text)`, with the pattern tried only where it can match.

    A match starts where a name starts (a run of word characters, dots and dashes) and its
    name holds one of `_NAMED_TRIGGERS`; the scan over every other
    position of the text was most of the time redaction took. The words are found in the
    folded text (`lowered`, which has the text's length), and each run holding one is tried
    once, from its start, in order, past the end of the last match, as the scan would.
    """
    if len(lowered) != len(text):  # a lowering that moved characters: scan as the pattern does
        return _NAMED.sub(_mask_named, text)
    hits = sorted(at for word in _NAMED_TRIGGERS for at in _occurrences(lowered, word))
    pieces: list[str] = []
    copied = matched_to = 0
    previous = -1  # the hit before; a run is walked back to it at most, so the walks are linear
    for at in hits:
        if at < matched_to:
            continue  # inside the value of a pair already masked
        start, floor = at, max(previous, matched_to)
        while start > floor and _in_name(text[start - 1]):
            start -= 1
        same_run = start == previous
        previous = at
        if same_run:
            continue  # that run was tried from its start already
        # A quote before the name changes nothing: the pair masks the same with it or without.
        if (match := _NAMED.match(text, start)) is not None:
            pieces += [text[copied:start], _mask_named(match)]
            copied = matched_to = match.end()
    return "".join(pieces) + text[copied:] if pieces else text


def _occurrences(text: str, word: str) -> list[int]:
    found: list[int] = []
    at = text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


def _in_name(char: str) -> bool:
    """Whether `_NAMED`'s name class `[\\w.\\-]` takes `char` (`\\w` is `isalnum` or `_`)."""
    return char.isalnum() or char in "_.-"


def redact_data(value: Any, *, named: bool = True, masked: dict[str, str] | None = None) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string passed through `redact`.

    `masked` maps texts to their masked form, filled as it goes: a text met again (a job's
    answer is its output and its result's text) is masked once.
    """
    if isinstance(value, str):
        if masked is None:
            return redact(value, named=named)
        found = masked.get(value)
        if found is None:
            found = masked[value] = redact(value, named=named)
        return found
    if isinstance(value, dict):
        return {k: redact_data(v, named=named, masked=masked) for k, v in value.items()}
    if isinstance(value, _SEQUENCES):
        return [redact_data(v, named=named, masked=masked) for v in value]
    return value
