"""Real token counts, offline: OpenAI's o200k_base BPE, shipped with the package.

Why this tokenizer: it is the only current vendor tokenizer that can be had offline. `tiktoken`
(PyPI, MIT) runs it in Rust, but downloads its BPE file at run time; the file itself (MIT) is
vendored here as `o200k_base.tiktoken.xz`, rebuilt byte for byte and hash-checked by
`scripts/vendor_tokenizer.py`. Anthropic and Google publish no offline tokenizer for their
current models (their count endpoints need the network and a key), so for every provider but
OpenAI's the count is o200k_base's and says so ("o200k_base (approximate for claude)"); it is
still a real BPE count, whitespace included, and the same tokenizer counts before and after.

Cost: `tiktoken` is imported and the ranks decoded on the first count only (never at start-up;
callers count off the event loop): about 0.7-1.1 s and 45 MB kept on a shared two-core machine,
see `bench/token_optimisation.py`. Without `tiktoken` installed, counts fall back to
`estimate.estimate_text_tokens`, labelled "estimate".
"""

from __future__ import annotations

import base64
import functools
import logging
import lzma
import threading
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens

if TYPE_CHECKING:
    import tiktoken

__all__ = ["ESTIMATE", "O200K", "TokenCount", "count_tokens", "tokenizer_label"]

log = logging.getLogger(__name__)

O200K = "o200k_base"
ESTIMATE = "estimate"
_RANKS_FILE = "o200k_base.tiktoken.xz"
# tiktoken_ext/openai_public.py's o200k_base pattern and special tokens.
_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
# Providers whose models o200k_base counts exactly when no model (or an OpenAI one) is named.
_OPENAI_PROVIDERS = frozenset({"codex", "openai"})
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class TokenCount:
    """How many tokens a text is, and which tokenizer said so."""

    tokens: int
    tokenizer: str  # e.g. "o200k_base", "o200k_base (approximate for claude)", "estimate"


@functools.cache
def _encoding() -> tiktoken.Encoding | None:
    """The o200k_base encoding, loaded once (None when tiktoken is not installed)."""
    try:
        import tiktoken  # lazy: ~0.3 s with the ranks, never on the start-up path
    except ImportError:
        log.warning("tiktoken is not installed: token counts are estimates")
        return None
    raw = resources.files(__package__).joinpath(_RANKS_FILE).read_bytes()
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in lzma.decompress(raw).splitlines() if line)
    }
    return tiktoken.Encoding(
        O200K, pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=_SPECIAL
    )


def _loaded() -> tiktoken.Encoding | None:
    # Two threads counting at once must not both decode 200,000 ranks.
    with _LOAD_LOCK:
        return _encoding()


def _is_openai_model(model: str | None) -> bool:
    name = (model or "").lower().split("/")[-1]
    return name.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "codex", "chatgpt"))


def tokenizer_label(provider: str, model: str | None = None) -> str:
    """Which tokenizer counts for `provider`/`model`, saying so where it only approximates."""
    if _loaded() is None:
        return ESTIMATE
    if _is_openai_model(model) or (not model and provider in _OPENAI_PROVIDERS):
        return O200K
    return f"{O200K} (approximate for {provider}{f' {model}' if model else ''})"


def count_tokens(text: str, provider: str = "", model: str | None = None) -> TokenCount:
    """`text`'s tokens by o200k_base (special-token text counted as plain text), or an
    estimate when tiktoken is missing."""
    encoding = _loaded()
    if encoding is None:
        return TokenCount(estimate_text_tokens(text), ESTIMATE)
    tokens = len(encoding.encode_ordinary(text)) if text else 0
    return TokenCount(tokens, tokenizer_label(provider, model))
