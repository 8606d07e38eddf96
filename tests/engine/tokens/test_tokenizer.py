"""The shipped o200k_base tokenizer: right counts offline, honest labels, loaded lazily."""

from __future__ import annotations

import hashlib
import lzma
import subprocess
import sys
from importlib import resources

import pytest

from llmgw_desktop.engine.tokens import tokenizer
from llmgw_desktop.engine.tokens.tokenizer import O200K, count_tokens, tokenizer_label

# What tiktoken's o200k_base gives these (the ids are OpenAI's: "hello" 24912, " world" 2375).
KNOWN = {
    "": 0,
    "hello world": 2,
    "Hello, world!": 4,
    "def f(x):\n    return x*2\n": 10,
    "日本語のテキスト": 6,
}


@pytest.mark.parametrize(("text", "tokens"), KNOWN.items())
def test_known_strings_count_as_o200k_base_counts_them(text: str, tokens: int) -> None:
    assert count_tokens(text, "codex").tokens == tokens


def test_whitespace_costs_tokens_unlike_the_old_estimate() -> None:
    assert count_tokens("a" + " " * 40 + "b").tokens > count_tokens("a b").tokens


def test_special_token_text_is_counted_as_plain_text() -> None:
    assert count_tokens("<|endoftext|>", "codex").tokens > 1


def test_the_label_says_where_o200k_only_approximates() -> None:
    assert tokenizer_label("codex") == O200K
    assert tokenizer_label("copilot", "gpt-5.4") == O200K
    assert tokenizer_label("claude") == "o200k_base (approximate for claude)"
    assert count_tokens("x", "gemini", "gemini-2.5-pro").tokenizer == (
        "o200k_base (approximate for gemini gemini-2.5-pro)"
    )


def test_the_shipped_ranks_are_byte_for_byte_openais_file() -> None:
    raw = resources.files(tokenizer.__package__).joinpath("o200k_base.tiktoken.xz").read_bytes()
    digest = hashlib.sha256(lzma.decompress(raw)).hexdigest()
    # The hash tiktoken_ext/openai_public.py checks its own download against.
    assert digest == "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def test_without_tiktoken_counts_fall_back_to_a_labelled_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import fails as if not installed
    assert tokenizer._encoding.__wrapped__() is None


def test_the_engine_starts_without_importing_tiktoken() -> None:
    code = (
        "import sys, llmgw_desktop.engine.engine, llmgw_desktop.engine.calls.token_savings;"
        "sys.exit('tiktoken' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
