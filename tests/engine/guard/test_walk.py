"""The one walk of what a request carries (issue 62, item 4): every string and every object key,
each named by its place; a data URL skipped only where all after its comma is base64; the
vendor-prefixed rules run over long base64 runs too; format characters (zero-width and the
like) ignored where the rules match, the value found kept whole for redaction. Each attack
beside the legitimate path it must not break: a real PNG as a data URL and a long blob of
real base64 are neither read nor flagged."""

from __future__ import annotations

import base64
import json
import random
import re
import sys
import time
import unicodedata
import zlib
from typing import Any

import pytest

from llmgw_desktop.engine.guard import scanner
from llmgw_desktop.engine.guard.redaction import Redaction
from llmgw_desktop.engine.guard.request_scan import inspect_body
from llmgw_desktop.engine.guard.restore import restore_answer
from llmgw_desktop.engine.guard.walk import (
    FIELD_NAMES,
    FORMAT_CHARACTERS,
    FORMAT_CLASS,
    is_binary,
    pieces,
    rewritten,
)
from tests.engine.guard.secrets import (
    ANTHROPIC_KEY,
    AWS_ACCESS_KEY,
    GITHUB_TOKEN,
    OPENAI_KEY,
    PRIVATE_KEY,
)

OPTIONS: dict[str, Any] = {"personal": False, "max_chars": 10**8, "budget_s": 5.0}


def _png(width: int = 64, height: int = 64) -> bytes:
    """A real PNG of noise (incompressible, as a photograph's data is)."""
    noise = random.Random(width * height)
    raw = b"".join(b"\x00" + noise.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG_B64 = base64.b64encode(_png()).decode()


def _kinds(body: Any) -> list[tuple[str, str]]:
    return [(f.kind, f.where) for f in inspect_body(body, **OPTIONS).findings]


# -- (a) keys -------------------------------------------------------------------------------


def test_a_token_used_as_a_key_is_found_and_its_place_never_names_it() -> None:
    """A tool call's input, a Gemini functionResponse and a tool schema's property names: each
    key is read as the strings are, and where it is says `[kind]` in the token's place."""
    body = {
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t", "name": "f", "input": {GITHUB_TOKEN: "x"}}
                ],
            }
        ],
        "contents": [
            {"parts": [{"functionResponse": {"name": "env", "response": {AWS_ACCESS_KEY: 1}}}]}
        ],
        "tools": [
            {"input_schema": {"properties": {OPENAI_KEY: {"type": "string"}}}},
        ],
    }
    inspection = inspect_body(body, **OPTIONS)
    assert [(f.kind, f.where) for f in inspection.findings] == [
        ("github_token", "messages[0].content[0].input.[github_token] (a field's name)"),
        (
            "aws_access_key",
            "contents[0].parts[0].functionResponse.response.[aws_access_key] (a field's name)",
        ),
        ("openai_key", "tools[0].input_schema.properties.[openai_key] (a field's name)"),
    ]
    shown = json.dumps([(f.where, f.excerpt, f.describe()) for f in inspection.findings])
    assert GITHUB_TOKEN not in shown and AWS_ACCESS_KEY not in shown and OPENAI_KEY not in shown
    assert GITHUB_TOKEN not in inspection.summary()


def test_a_value_under_a_key_holding_a_token_is_named_without_it() -> None:
    body = {"input": {GITHUB_TOKEN: f"aws {AWS_ACCESS_KEY}"}}
    assert _kinds(body) == [
        ("github_token", "input.[github_token] (a field's name)"),
        ("aws_access_key", "input.[github_token]"),
    ]


def test_redaction_replaces_a_token_in_a_key_and_the_answer_gets_it_back() -> None:
    body = {
        "messages": [{"content": [{"type": "tool_use", "input": {GITHUB_TOKEN: GITHUB_TOKEN}}]}]
    }
    inspection = inspect_body(body, **OPTIONS)
    redaction = Redaction(inspection.findings)
    sent = redaction.body(body)
    assert GITHUB_TOKEN not in json.dumps(sent)
    assert sent["messages"][0]["content"][0]["input"] == {
        "[SECRET:github_token#1]": "[SECRET:github_token#1]"
    }
    answer = {"content": [{"type": "tool_use", "input": {"[SECRET:github_token#1]": "ok"}}]}
    back = json.loads(restore_answer(json.dumps(answer).encode(), redaction.originals()))
    assert back["content"][0]["input"] == {GITHUB_TOKEN: "ok"}


def test_a_dialects_own_field_names_find_nothing() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hello"}],
        "tools": [{"type": "function", "function": {"name": "read", "parameters": {}}}],
        "max_tokens": 10,
        "stream": True,
    }
    assert _kinds(body) == []


# -- (b) binary payloads --------------------------------------------------------------------


def test_a_real_png_data_url_and_its_base64_are_skipped_and_not_flagged() -> None:
    body = {
        "messages": [
            {
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {"type": "image", "source": {"type": "base64", "data": PNG_B64}},
                ]
            }
        ]
    }
    inspection = inspect_body(body, **OPTIONS)
    assert inspection.findings == () and inspection.chars < 200
    assert is_binary(f"data:image/png;base64,{PNG_B64}") and is_binary(PNG_B64)


def test_a_long_blob_of_real_base64_with_no_secret_is_not_flagged() -> None:
    blob = base64.b64encode(zlib.compress(bytes(range(256)) * 4000, 0) + _png(256, 256)).decode()
    urlsafe = base64.urlsafe_b64encode(_png(128, 128)).decode()
    assert len(blob) > 100_000 and len(urlsafe) > 10_000
    assert _kinds({"input": [blob, urlsafe, f"data:application/octet-stream;base64,{blob}"]}) == []


@pytest.mark.parametrize(
    "header",
    ["data:text/plain;base64,", "data:image/png;base64,iVBORw0KGgo=", "data:;base64,QUJD\n"],
)
def test_a_data_url_followed_by_anything_but_base64_is_read(header: str) -> None:
    """One line in front of a tool result does not turn the guard off for it."""
    text = f"{header}\nKEY={GITHUB_TOKEN}\n"
    assert not is_binary(text)
    assert _kinds({"messages": [{"role": "tool", "content": text}]}) == [
        ("github_token", "messages[0].content")
    ]


@pytest.mark.parametrize(
    ("kind", "token"),
    [
        ("github_token", GITHUB_TOKEN),
        ("anthropic_key", ANTHROPIC_KEY),
        ("openai_key", OPENAI_KEY),
        ("aws_access_key", AWS_ACCESS_KEY),
    ],
)
def test_vendor_prefixed_tokens_are_found_inside_a_long_base64_run(kind: str, token: str) -> None:
    """A run of 1,024 or more base64 characters (with `_` and `-`) is still read for the rules
    that begin with a vendor's prefix; the token is found and its run replaced around it."""
    run = PNG_B64.replace("+", "-").replace("/", "_").rstrip("=")[:3000]
    text = f"{run}-{token}"
    assert is_binary(text)
    found = inspect_body({"data": text}, **OPTIONS).findings
    assert [(f.kind, f.where) for f in found] == [(kind, "data")]
    assert token in found[0].value
    assert token not in json.dumps(Redaction(found).body({"data": text}))


def test_a_private_key_after_a_data_url_header_is_found() -> None:
    text = f"data:application/x-pem-file;base64,\n{PRIVATE_KEY}"
    assert _kinds({"content": text}) == [("private_key", "content")]


# -- (c) format characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "mark",
    # Format characters, then default-ignorable ones of other categories (a variation
    # selector, the combining grapheme joiner, a Hangul filler).
    ["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\ufe0f", "\u034f", "\u3164"],
)
def test_a_format_character_inside_a_key_does_not_hide_it(mark: str) -> None:
    hidden = AWS_ACCESS_KEY[:6] + mark + AWS_ACCESS_KEY[6:]
    body = {"messages": [{"content": f"use {hidden} now"}]}
    (finding,) = inspect_body(body, **OPTIONS).findings
    assert (finding.kind, finding.value) == ("aws_access_key", hidden)
    assert hidden not in finding.excerpt and "[aws_access_key]" in finding.excerpt
    redaction = Redaction([finding])
    assert redaction.body(body) == {"messages": [{"content": "use [SECRET:aws_access_key#1] now"}]}
    back = restore_answer(b'{"text": "[SECRET:aws_access_key#1]"}', redaction.originals())
    assert json.loads(back) == {"text": hidden}


def test_format_characters_in_many_places_and_in_a_key_name() -> None:
    hidden = "\u200b".join(GITHUB_TOKEN)
    body = {"input": {hidden: "ok"}, "text": f"ok\u200b {hidden}"}
    found = inspect_body(body, **OPTIONS).findings
    assert [(f.kind, f.value) for f in found] == [("github_token", hidden)] * 2


def test_text_with_format_characters_and_no_secret_is_left_alone() -> None:
    text = "Zero\u200bwidth joiners in emoji: \U0001f469\u200d\U0001f4bb, a soft hy\u00adphen."
    assert _kinds({"content": text}) == []


def test_the_format_characters_are_unicodes_category_cf_and_default_ignorables() -> None:
    """The scan ignores every character of Unicode's `Cf` category in the version this Python
    carries, and Unicode's other default-ignorable code points."""
    here = {c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    table = {ord(c) for c in FORMAT_CHARACTERS}
    assert here <= table
    # Beside them, Unicode's other default-ignorable code points: marks, letters drawn as
    # nothing, and reserved ones.
    others = table - here
    assert {0x034F, 0x3164, 0xFE0F, 0xE0100, 0xE01EF} <= others
    assert {unicodedata.category(chr(c)) for c in others} <= {"Cn", "Mn", "Lo"}


def test_the_format_class_matches_the_format_characters_and_no_other() -> None:
    # The scan's pattern is written as ranges (compiled in a fraction of the time).
    pattern = re.compile(FORMAT_CLASS)
    matched = {c for c in range(sys.maxunicode + 1) if pattern.match(chr(c))}
    assert matched == {ord(c) for c in FORMAT_CHARACTERS}


def test_scan_text_maps_offsets_back_over_removed_characters() -> None:
    scanner.load_detectors()
    text = "\u200ba\u200b " + AWS_ACCESS_KEY[:3] + "\u200b\u200b" + AWS_ACCESS_KEY[3:] + "\u200b!"
    (hit,) = scanner.scan_text(text).hits
    assert text[hit.start : hit.end] == AWS_ACCESS_KEY[:3] + "\u200b\u200b" + AWS_ACCESS_KEY[3:]


# -- the walk itself ------------------------------------------------------------------------


def test_the_walk_names_keys_and_values_in_order() -> None:
    walked = [(p.where, p.text, p.name) for p in pieces({"a": {"b": ["c", {"d": "e"}]}, "k": 1})]
    assert walked == [
        ("a", "a", True),
        ("a.b", "b", True),
        ("a.b[0]", "c", False),
        ("a.b[1].d", "d", True),
        ("a.b[1].d", "e", False),
        ("k", "k", True),
    ]


def test_the_dialects_own_field_names_are_not_yielded_a_callers_keys_are() -> None:
    body = {
        "messages": [{"role": "user", "content": [{"type": "tool_use", "input": {"path": "a"}}]}],
        "tools": [{"input_schema": {"properties": {"command": {"type": "string"}}}}],
    }
    names = [p.text for p in pieces(body) if p.name]
    assert names == ["path", "command"]
    assert not {"role", "content", "type", "input", "properties"} - FIELD_NAMES


def test_rewritten_changes_keys_and_values_alike_and_says_which_field_a_value_is_in() -> None:
    seen: list[tuple[str, str]] = []

    def change(text: str, field: str) -> str:
        seen.append((text, field))
        return text.upper()

    assert rewritten({"a": ["b", {"c": "d"}], "e": 1}, change) == {"A": ["B", {"C": "D"}], "E": 1}
    assert seen == [("a", ""), ("b", "a"), ("c", ""), ("d", "c"), ("e", "")]


def test_the_detectors_first_import_is_not_counted_in_a_scans_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scan's budget starts once the detectors are there: the first request a gateway
    reads (which imports them, 0.1 s on a quiet machine, seconds on a loaded one) is read
    whole, not sent unread."""
    loaded = scanner.load_detectors()
    monkeypatch.setattr(scanner, "_loaded", None)

    def slow_import() -> Any:
        time.sleep(0.05)
        monkeypatch.setattr(scanner, "_loaded", loaded)
        return loaded

    monkeypatch.setattr(scanner, "load_detectors", slow_import)
    scanned = scanner.scan_text(f"KEY={GITHUB_TOKEN}", budget_s=0.04)
    assert scanned.complete and [h.kind for h in scanned.hits] == ["github_token"]
