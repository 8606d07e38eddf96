"""Mask secrets (API keys, bearer tokens, JWTs, private keys, passwords) before they are stored.

Used for the log file, the job store and anything else written to disk. Known key shapes keep
a short prefix so a reader can still tell which kind of key it was.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "may_hold_secret", "redact", "redact_data"]

REDACTED = "[REDACTED]"

# Vendor key shapes: OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), OpenRouter (sk-or-), Groq
# (gsk_), xAI (xai-), GitHub (ghp_ gho_ ghu_ ghs_ github_pat_), Google (AIza), Hugging Face
# (hf_), Slack (xox?-), Stripe (sk_live_, rk_live_), GitLab (glpat-), npm (npm_).
_KEY_SHAPES = re.compile(
    r"\b(sk-ant-|sk-proj-|sk-or-|sk-|gsk_|xai-|ghp_|gho_|ghu_|ghs_|github_pat_|AIza|hf_|"
    r"xox[abprs]-|sk_live_|rk_live_|sk_test_|glpat-|npm_|mcp_)"
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


# What every pattern above needs somewhere in the text, lowercased: the key shapes' prefixes,
# the AWS prefixes, a JWT's `eyJ`, a PEM BEGIN line, a URL's `://`, the bearer and basic schemes.
# Text holding none of them (and no named pair, below) is returned as is without running the
# patterns: most stored fields (model names, providers, states, ids) are short and plain, and
# the flight recorder redacts every one of them on each write. A new pattern adds its own.
_TRIGGERS = (
    "-----begin",
    "eyj",
    "sk-",
    "sk_",
    "xai-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "github_pat_",
    "aiza",
    "hf_",
    "xox",
    "rk_live_",
    "glpat-",
    "npm_",
    "mcp_",
    "akia",
    "asia",
    "://",
    "bearer",
    "basic",
)
# `_NAMED` needs one of these words followed, later in the text, by `:` or `=`.
_NAMED_TRIGGERS = ("api", "token", "secret", "passw", "authorization", "credential")
# The non-ASCII letters the case-insensitive patterns match as ASCII ones (İ ı as i, ſ as s,
# the Kelvin sign as k), folded before lowercasing so the quick check sees what they see.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def may_hold_secret(text: str, *, named: bool = True) -> bool:
    """Whether `redact` could change `text` (False means it certainly would not)."""
    lowered = (text if text.isascii() else text.translate(_FOLD)).lower()
    if any(trigger in lowered for trigger in _TRIGGERS):
        return True
    if not named:
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
    if not may_hold_secret(text, named=named):
        return text
    return _mask_all(text, named=named)


def _mask_all(text: str, *, named: bool) -> str:
    """Every pattern, in order (what `redact` does once the quick check lets it)."""
    text = _mask_pem(text)
    text = _JWT.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_SHAPES.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AWS_KEY_ID.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    if not named:
        return text
    return _NAMED.sub(_mask_named, text)


def redact_data(value: Any, *, named: bool = True) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string passed through `redact`."""
    if isinstance(value, str):
        return redact(value, named=named)
    if isinstance(value, dict):
        return {k: redact_data(v, named=named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, named=named) for v in value]
    return value
