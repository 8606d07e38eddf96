"""Finding secrets in one text, within a time budget: the detectors' rules run over the whole
text once each, the keyword plugin only on the lines that name a secret, the entropy plugins
only on quoted strings that are assigned.

Format characters (`walk.FORMAT_CHARACTERS`: zero-width spaces and joiners, the soft hyphen,
variation selectors)
are taken out of the text the rules read, and each hit is placed back in the text as it came,
the characters inside it included, so a redacted value is the one the request holds. A binary
payload is read by the rules that begin with a vendor's prefix alone (`Rule.prefixed`). The
operator's own rules (`OwnRules`, `[guard.rules]`) run after the detectors, their hits kept
apart from the detectors' (a rule's match may hold a secret, and both are found).

Pure and synchronous: `request_scan.py` decides what text a request is and whether the scan
runs on the loop or in a thread. The detectors are imported on first use (`load_detectors`),
which the engine starts in a thread as it begins serving, so no request waits for it.

What is left out on purpose (docs/SECURITY.md, "The outbound guard"): values a line labels as
fake with detect-secrets' own `pragma: allowlist secret` comment (on the line or the one
before), documentation's example keys (a value holding `EXAMPLE`), templated values
(`${X}`, `<key>`, `$VAR`), values read from elsewhere (`get_secret()`, `env["X"]`), and quoted
high-entropy strings assigned to names that say they are hashes or ids (a commit, a digest,
an `integrity`). Secrets split across strings, or encoded (base64 of a key, a key spelled
backwards), are not found.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmgw_desktop.engine.guard.walk import FORMAT_CLASS

if TYPE_CHECKING:
    from llmgw_desktop.engine.guard.detectors import Detectors, Rule

__all__ = ["NO_RULES", "Hit", "OwnRules", "TextScan", "load_detectors", "loaded", "scan_text"]

# Lines a keyword or entropy check reads are cut to this many characters around the hit, so a
# minified file on one line is not read whole once per hit.
LINE_WINDOW = 600
# Quoted strings shorter than this are not secrets to the entropy check.
MIN_ENTROPY_LENGTH = 20
# The prefilter for detect-secrets' keyword plugin (its own denylist's words).
_KEYWORDS = re.compile(
    r"api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key"
    r"|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd"
    r"|secret|contrase[ñn]a"
)
# Where any of them begins, ignoring case, those inside another included (for a text whose
# lower case moves characters: slow, and rare).
_ANY_CASE = re.compile(f"(?=(?:{_KEYWORDS.pattern}))", re.IGNORECASE)
# The same words spelled backwards, each pattern led by a literal: over the reversed lower-case
# text each is one fast search for its literal (the regular expression engine's), where the
# words' alternation tried every branch at every character (1.5 ms for 190 kB of code).
_REVERSED_KEYWORDS = tuple(
    re.compile(pattern)
    for pattern in (
        r"yek_?(?:ipa|htua|ecivres|tnuocca|bd|esabatad|virp|etavirp|tneilc)",
        r"ssap_?(?:bd|esabatad|yek)",
        "drowssap",
        "dwssap",
        "dwp",
        "terces",
        "anesartnoc",
        "añesartnoc",
    )
)
# `name = "…"`, `name: "…"`, `"name": "…"`, `name := "…"`, `name => "…"` just before a quote.
_ASSIGNED = re.compile(r"([A-Za-z_][\w.-]*)[\"'\]]?\s*(?::=|=>|[:=])\s*[\[(@]?\s*$")
# Names whose values are high-entropy by nature and not secrets.
_NOT_SECRET_NAMES = re.compile(
    r"(?i)(?:sha\d*|hash|digest|checksum|integrity|commit|etag|rev|revision|uuid|guid|id|ids"
    r"|nonce|fingerprint|version|object_id|oid|ref|tree|parent|blob|image|icon|font|data"
    r"|src|href|url|path|file|name|title|label|class|style|pattern|regex|format)$"
)
_CONFIG_LINE = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][\w.-]*\s*[=:]\s*\S")
_PLACEHOLDER_VALUES = re.compile(
    r"(?i)example|changeme|change_me|placeholder|dummy|redacted|your[_-]|^my[_-]|xxxx|\*\*\*|\.\.\.|^<"
    r"|^\$|^\{|\(\)?$|^(?:null|none|true|false|undefined|password|secret|test|string|number"
    r"|boolean|object|function|symbol|bigint)$"
)
# Names whose value describes a secret rather than holding it: its type, its variable, where
# it is kept, how many tries (`secret_type = "API key"`, `api_key_env = "OPENAI_API_KEY"`).
_DESCRIBING_NAMES = re.compile(
    r"(?i)(?:^|_|-)(?:type|types|name|names|label|kind|env|file|path|url|uri|id|ids|hash|digest"
    r"|tries|header|field|prefix|length|len|dialog|count|expires_at|expires|policy|mode|source"
    r"|store|manager|provider|hint|help|doc|description|format|pattern|regex|var|at|shape)$"
    r"|(?:^|\.)secrets$"
)
# An unquoted value that reads as code, not a secret: a snake_case name (`api_key=api_key,`)
# or an attribute (`password=settings.password`).
_CODE_NAME = re.compile(
    r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
    r"|[A-Z][a-z]{2,}(?:[A-Z][a-z]{2,})+|[a-z]{2,}(?:[A-Z][a-z]{2,})+"
)
# The name a value is assigned to, just before it (`DB_PASSWORD=`, `"secret_type": "`).
_NAME_BEFORE = re.compile(r"([\w.-]+)[\"'`\]]?\s*(?:[:!=]=?=?|=>)\s*[@\"'`]?$")
_ALLOWLISTED = "pragma: allowlist"
# What the keyword plugin's one pattern with the word last needs on a line (`==`, `!=`).
_COMPARISON = re.compile(r"[!=]{2}")

# A run of format characters, which the rules read the text without.
_FORMAT = re.compile(f"{FORMAT_CLASS}+")

_lock = threading.Lock()
_loaded: Detectors | None = None


def load_detectors() -> Detectors:
    """The detectors, imported and built on the first call (about 0.1 s; call it off the
    loop), the same object after."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                from llmgw_desktop.engine.guard.detectors import detectors

                _loaded = detectors()
    return _loaded


def loaded() -> bool:
    """Whether the detectors are imported already (a scan then never waits for it)."""
    return _loaded is not None


@dataclass(frozen=True)
class Hit:
    """A secret found: its kind and where its value is in the text."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class TextScan:
    """What a scan found, and whether it read the whole text within its budget."""

    hits: tuple[Hit, ...]
    complete: bool


@dataclass(frozen=True)
class OwnRules:
    """The operator's rules as the scan runs them: each one's kind (`rule:NAME`) and pattern;
    `salt` differs whenever they do (what a text was found to hold depends on them)."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    salt: bytes = b""


NO_RULES = OwnRules()


def scan_text(
    text: str,
    *,
    personal: bool = False,
    budget_s: float = 0.25,
    binary: bool = False,
    rules: OwnRules = NO_RULES,
) -> TextScan:
    """The secrets in `text` (and personal data when `personal`; the operator's `rules`'
    matches), most specific kind first where two overlap, format characters ignored; a
    `binary` payload read by the vendor-prefixed rules alone. A scan past `budget_s` stops
    between rules and says it is incomplete (the detectors' first import is not counted)."""
    found = load_detectors()
    deadline = time.perf_counter() + budget_s
    reading = _Reading(found, personal, deadline, binary, rules)
    visible = _visible(text) if not binary else None
    if visible is None:
        return _scan(text, reading)
    clean, places, removed = visible
    scanned = _scan(clean, reading)
    hits = tuple(_placed(hit, places, removed) for hit in scanned.hits)
    return TextScan(hits, scanned.complete)


def _visible(text: str) -> tuple[str, list[int], list[int]] | None:
    """`text` without its format characters, where each run of them was (its place in the
    text without them) and how many were taken out up to and with it; None when it has none
    (an ASCII text, most, is known not to in no time)."""
    if text.isascii():
        return None
    places: list[int] = []
    removed: list[int] = []
    kept: list[str] = []
    last = 0
    taken = 0
    for run in _FORMAT.finditer(text):
        kept.append(text[last : run.start()])
        places.append(run.start() - taken)
        taken += run.end() - run.start()
        removed.append(taken)
        last = run.end()
    if not places:
        return None
    kept.append(text[last:])
    return "".join(kept), places, removed


def _placed(hit: Hit, places: list[int], removed: list[int]) -> Hit:
    """`hit`, found in the text without format characters, in the text as it came: from its
    first character to its last, those inside it included."""

    def original(at: int) -> int:
        runs = bisect.bisect_right(places, at)
        return at + (removed[runs - 1] if runs else 0)

    return Hit(hit.kind, original(hit.start), original(hit.end - 1) + 1)


@dataclass(frozen=True)
class _Reading:
    """How one text is read: by which detectors, for personal data too, by when, whether as a
    binary payload, with which of the operator's rules."""

    found: Detectors
    personal: bool
    deadline: float
    binary: bool
    rules: OwnRules


def _scan(text: str, reading: _Reading) -> TextScan:
    """`scan_text` over a text without format characters."""
    found, personal, deadline = reading.found, reading.personal, reading.deadline
    binary, rules = reading.binary, reading.rules
    hits: list[Hit] = []
    lowered = _lowered(text)
    # Whether each set of triggers, and each set of gates, is found in the text: asked once.
    asked: dict[object, bool] = {}
    for rule in found.rules:
        if (rule.personal and not personal) or (binary and not rule.prefixed):
            continue
        if not _may_match(rule, text, lowered, asked):
            continue
        hits += _rule_hits(rule, text)
        if time.perf_counter() > deadline:
            return TextScan(_kept(text, hits), complete=False)
    if binary:
        return TextScan(_kept(text, hits), complete=time.perf_counter() <= deadline)
    hits += _keyword_hits(found, text, lowered)
    if time.perf_counter() > deadline:
        return TextScan(_kept(text, hits), complete=False)
    hits += _entropy_hits(found, text)
    kept = _kept(text, hits)
    if time.perf_counter() > deadline:
        return TextScan(kept, complete=False)
    own, complete = _own_hits(rules, text, deadline)
    return TextScan(tuple(sorted((*kept, *own), key=lambda h: h.start)), complete)


def _own_hits(rules: OwnRules, text: str, deadline: float) -> tuple[list[Hit], bool]:
    """Where the operator's rules match `text` (a match that is empty is no match), and
    whether they all ran within the deadline."""
    hits: list[Hit] = []
    for kind, pattern in rules.patterns:
        hits += [Hit(kind, *m.span()) for m in pattern.finditer(text) if m.end() > m.start()]
        if time.perf_counter() > deadline:
            return hits, False
    return hits, True


def _may_match(rule: Rule, text: str, lowered: str | None, asked: dict[object, bool]) -> bool:
    """Whether `rule` can match `text`: its triggers and its gates found there (each set
    looked for once per scan, kept in `asked`)."""
    if rule.triggers:
        known = (rule.triggers, rule.lower)
        if known not in asked:
            asked[known] = _triggered(rule, text, lowered)
        if not asked[known]:
            return False
    if rule.gates:
        if rule.gates not in asked:
            asked[rule.gates] = any(gate.search(text) for gate in rule.gates)
        if not asked[rule.gates]:
            return False
    return True


def _rule_hits(rule: Rule, text: str) -> list[Hit]:
    """Where `rule` matches `text`, each match checked and stretched to its whole value."""
    hits = []
    for match in rule.pattern.finditer(text):
        start, end = match.span(rule.group)
        if start < 0 or (rule.check is not None and not rule.check(text[start:end])):
            continue
        if rule.word_start and start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue
        if rule.kind == "private_key":
            start, end = _key_block(text, start)
        elif rule.kind == "jwt":
            end = _token_end(text, end)
        hits.append(Hit(rule.kind, start, end))
    return hits


def _lowered(text: str) -> str | None:
    """`text` in lower case, where that keeps every character's place (a few characters, such
    as U+0130, lower to two): None otherwise."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def _triggered(rule: Rule, text: str, lowered: str | None) -> bool:
    """Whether `text` holds one of `rule`'s triggers (a text that could not be lowered is
    always run)."""
    if rule.lower:
        return lowered is None or any(t in lowered for t in rule.triggers)
    return any(t in text for t in rule.triggers)


def _key_block(text: str, start: int) -> tuple[int, int]:
    """The private key block whose BEGIN marker is at `start`, dashes included, to the end of
    its END line; to the end of the text when it has none (a key cut short is taken as far
    as it goes)."""
    dashes = text.rfind("-----", max(0, start - 5), start + 1)
    begin = dashes if dashes >= 0 else start
    closing = text.find("-----END", start)
    if closing < 0:
        return begin, len(text)
    stop = text.find("-----", closing + 8)
    return begin, (stop + 5 if stop >= 0 else closing + 8)


def _token_end(text: str, end: int) -> int:
    """detect-secrets' JWT pattern stops before the signature (its last part is lazy): the
    token goes on to the end of its base64url characters."""
    while end < len(text) and (text[end].isalnum() or text[end] in "-_.=+/"):
        end += 1
    return end


def _line_around(text: str, at: int) -> tuple[int, str]:
    """The line holding `at` (at most `LINE_WINDOW` characters of it around `at`) and where
    it starts."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    start = max(start, at - LINE_WINDOW // 2)
    end = min(end, at + LINE_WINDOW)
    return start, text[start:end]


def _allowlisted(text: str, at: int) -> bool:
    """The line of `at`, or the one before, carries detect-secrets' allowlist pragma."""
    line_start = text.rfind("\n", 0, at) + 1
    before = text.rfind("\n", 0, max(0, line_start - 1)) + 1
    line_end = text.find("\n", at)
    return _ALLOWLISTED in text[before : len(text) if line_end < 0 else line_end]


def _keyword_starts(text: str, lowered: str | None) -> list[int]:
    """Where each word of the keyword plugin's denylist begins in `text`, in order (every
    one, those inside another included)."""
    if lowered is None:
        return [match.start() for match in _ANY_CASE.finditer(text)]
    backwards = lowered[::-1]
    size = len(lowered)
    found = {
        size - match.end()
        for pattern in _REVERSED_KEYWORDS
        for match in pattern.finditer(backwards)
    }
    return sorted(found)


def _keyword_hits(found: Detectors, text: str, lowered: str | None) -> list[Hit]:
    """detect-secrets' keyword plugin on each line that names a secret (`password = "…"`; a
    `.env` or config line unquoted), its patterns tried only where a word of its denylist
    begins (`_keyword_values`)."""
    hits: list[Hit] = []
    seen_lines: set[int] = set()
    starts = _keyword_starts(text, lowered)
    for at in starts:
        line_start, line = _line_around(text, at)
        if line_start in seen_lines:
            continue
        seen_lines.add(line_start)
        for rule in found.line_rules:
            for found_match in rule.pattern.finditer(line):
                start, end = found_match.span(rule.group)
                hits.append(Hit(rule.kind, line_start + start, line_start + end))
        unquoted = _CONFIG_LINE.match(line) is not None
        first = bisect.bisect_left(starts, line_start)
        last = bisect.bisect_left(starts, line_start + len(line))
        words = [start - line_start for start in starts[first:last]]
        for value in _keyword_values(line, words, unquoted=unquoted):
            at, named = _assigned(line, value)
            if at >= 0 and _holds_a_secret(value, line, named, unquoted=unquoted):
                hits.append(Hit("secret_assignment", line_start + at, line_start + at + len(value)))
    return hits


def _keyword_values(line: str, words: list[int], *, unquoted: bool) -> Iterator[str]:
    """What detect-secrets' keyword plugin finds on `line` (`KeywordDetector.analyze_string`
    with the config or the quotes-required patterns: the first match of each), its patterns
    led by a denylist word tried only at `words` (where one begins: none can match elsewhere)
    instead of searched for from every character, each pattern ignoring case."""
    from detect_secrets.plugins import keyword

    groups = (
        keyword.CONFIG_DENYLIST_REGEX_TO_GROUP
        if unquoted
        else keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
    )
    preceded = keyword.PRECEDED_BY_EQUAL_COMPARISON_SIGNS_QUOTES_REQUIRED_REGEX
    for pattern, group in groups.items():
        match = None
        if pattern is preceded:  # `"value" == password`: the word comes last
            if _COMPARISON.search(line) is not None:
                match = pattern.search(line)
        else:
            for at in words:
                match = pattern.match(line, at)
                if match is not None:
                    break
        if match is not None:
            yield match.group(group)


def _assigned(line: str, value: str) -> tuple[int, str]:
    """Where `value` is assigned on `line`, and the name it is assigned to (its first place
    after an assignment: `secret_digest=digest` holds "digest" twice); (-1, "") if nowhere."""
    at = line.find(value)
    first = at
    while at >= 0:
        name = _NAME_BEFORE.search(line, 0, at)
        if name is not None:
            return at, name.group(1)
        at = line.find(value, at + 1)
    return first, ""


def _holds_a_secret(value: str, line: str, name: str, *, unquoted: bool) -> bool:
    """Whether the keyword plugin's `value`, assigned to `name` on `line`, may be a secret:
    not a placeholder, a type, code (`api_key=api_key,`, `password: str | None = None`,
    `get_secret()`), or a description of a secret (`secret_type = "API key"`)."""
    from detect_secrets.filters.heuristic import is_indirect_reference

    if len(value) < 6 or not any(c.isalpha() for c in value):
        return False
    if _PLACEHOLDER_VALUES.search(value) or _DESCRIBING_NAMES.search(name):
        return False
    if _CODE_NAME.fullmatch(value.rstrip(";,")):
        return False
    if unquoted and any(c in value for c in " ()[]{}=|"):
        return False
    if "`" in value or ", " in value:  # a list in prose, not one value
        return False
    return not is_indirect_reference(line)


def _entropy_hits(found: Detectors, text: str) -> list[Hit]:
    """detect-secrets' entropy plugins on quoted strings assigned to a name that is not a
    hash's or an id's: `"…"` after `name =`, `name:`, `"name":`."""
    from detect_secrets.filters.heuristic import is_potential_uuid, is_sequential_string

    hits: list[Hit] = []
    hexadecimal = set("0123456789abcdefABCDEF")
    for match in found.base64_entropy.regex.finditer(text):
        value = match.group(2)
        if len(value) < MIN_ENTROPY_LENGTH:
            continue
        line_start = text.rfind("\n", max(0, match.start() - 120), match.start()) + 1
        assigned = _ASSIGNED.search(text, max(line_start, match.start() - 120), match.start())
        if assigned is None or _NOT_SECRET_NAMES.search(assigned.group(1)):
            continue
        plugin = found.hex_entropy if set(value) <= hexadecimal else found.base64_entropy
        if plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit:
            continue
        if is_sequential_string(value) or is_potential_uuid(value) or "EXAMPLE" in value:
            continue
        hits.append(Hit("high_entropy_string", match.start(2), match.end(2)))
    return hits


def _kept(text: str, hits: list[Hit]) -> tuple[Hit, ...]:
    """The hits that stand: not labelled fake, not an example key, and not inside an earlier
    (more specific) hit; in text order."""
    kept: list[Hit] = []
    taken: list[tuple[int, int]] = []
    for hit in hits:  # the rules' order: specific kinds before the keyword and entropy checks
        value = text[hit.start : hit.end]
        if "EXAMPLE" in value or _allowlisted(text, hit.start):
            continue
        if any(hit.start < end and start < hit.end for start, end in taken):
            continue
        kept.append(hit)
        taken.append((hit.start, hit.end))
    return tuple(sorted(kept, key=lambda h: h.start))
