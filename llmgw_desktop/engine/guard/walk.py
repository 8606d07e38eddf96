"""The one walk of what a request carries, for the guard: every string of a JSON body and every
object key, each named by its place, in the order they are written; and the same walk rewriting
them (placeholders put in a request, put back in an answer, the operator's keys masked).

Keys are read as values are: a tool call's `input`, a Gemini `functionResponse`, a tool
schema's `properties` are objects a caller or a model fills, and their names go to the provider
as their values do. The dialects' and JSON Schema's own field names (`role`, `content`,
`properties`: `FIELD_NAMES`) are the wire's structure, the same words in every request, and
are not yielded: they are most of a request's keys, and no secret or sentence is one of them.

Binary payloads are marked, not left out: a data URL whose every character after its comma is
base64 (an image, a PDF, audio), or a run of 1,024 or more base64 characters with no space (an
image's `data` field). The scan reads them only for the rules that begin with a vendor's prefix
(`ghp_`, `sk-ant-`, `AKIA`, `-----BEGIN`): those find a token anywhere, at almost no cost and
with no false alarm on real base64, where the keyword and entropy rules would only flag noise.
A string that merely starts like a data URL, with text after its base64, is text.

Format characters (Unicode's `Cf`: zero-width spaces and joiners, the soft hyphen,
direction marks) and the other default-ignorable code points (variation selectors, Hangul
fillers, the combining grapheme joiner) are invisible where a person reads a request and
split a token where a rule reads it; `FORMAT_CHARACTERS` is the set the scan ignores
(`scanner.scan_text`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

__all__ = [
    "BLOB_CHARS",
    "FIELD_NAMES",
    "FORMAT_CHARACTERS",
    "FORMAT_CLASS",
    "Piece",
    "is_binary",
    "pieces",
    "rewritten",
]

# A string this long with no whitespace, all base64 (standard or URL-safe), is a binary payload.
BLOB_CHARS = 1024
_RUN = re.compile(r"[A-Za-z0-9+/=_-]+")
# A data URL's header (`data:image/png;base64,`) is at most this long.
DATA_URL_HEADER_CHARS = 100
_BASE64_PAYLOAD = re.compile(r"[A-Za-z0-9+/]*={0,2}")

# The field names of the dialects the gateway speaks (a line each: OpenAI Chat and Responses,
# Anthropic Messages, Gemini, Ollama's API) and of JSON Schema: keys left out of the walk.
FIELD_NAMES = frozenset(
    """
    model messages role content type text image_url url detail tool_calls id function name
    arguments tool_call_id tools tool_choice parallel_tool_calls parameters stream
    stream_options include_usage max_tokens max_completion_tokens temperature top_p stop n
    response_format json_schema schema strict user seed frequency_penalty presence_penalty
    logprobs top_logprobs reasoning_effort metadata store input instructions call_id output
    reasoning effort summary previous_response_id include format input_text output_text
    input_image image_data file_data file_id filename refusal audio modalities prediction
    service_tier truncation status
    system cache_control ttl source media_type data tool_use input_schema tool_result
    tool_use_id is_error thinking budget_tokens signature stop_sequences top_k
    disable_parallel_tool_use citations title
    contents parts inline_data inlineData mime_type mimeType functionCall functionResponse
    args response generationConfig generation_config maxOutputTokens systemInstruction
    system_instruction functionDeclarations function_declarations safetySettings category
    threshold candidateCount stopSequences responseMimeType responseSchema thinkingConfig
    thinkingBudget includeThoughts fileData fileUri topP topK toolConfig
    functionCallingConfig mode thought thoughtSignature
    options keep_alive images num_predict num_ctx raw suffix
    properties required items enum description additionalProperties default anyOf oneOf
    allOf $ref $defs definitions minimum maximum minLength maxLength minItems maxItems const
    examples nullable $schema propertyOrdering
    """.split()  # noqa: SIM905 - words a reader scans, a line per dialect
)

# Unicode's format characters (category Cf) as of Unicode 15.1; the few a Python with an older
# Unicode does not know are unassigned there (tests/engine/guard/test_walk.py checks both).
_FORMAT_RANGES = (
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
# Unicode's other default-ignorable code points (DerivedCoreProperties 15.1), drawn as nothing
# though not format characters: the combining grapheme joiner, Hangul fillers, Khmer's inherent
# vowels, Mongolian's free variation selectors, the variation selectors (U+FE0F is an emoji's
# ordinary companion) and the tag block's reserved rest.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0000),
    (0xE0002, 0xE001F),
    (0xE0080, 0xE0FFF),
)
FORMAT_CHARACTERS = "".join(
    chr(c) for low, high in (*_FORMAT_RANGES, *_IGNORABLE_RANGES) for c in range(low, high + 1)
)
# The same characters as a regular expression's class of ranges: spelled character by character,
# it took a twentieth of a headless start to compile, and its matching was far slower.
FORMAT_CLASS = "[{}]".format(
    "".join(
        f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in (*_FORMAT_RANGES, *_IGNORABLE_RANGES)
    )
)


class Piece(NamedTuple):
    """One string of a request: where it is (`messages[2].content`, `tools[0].input_schema.
    properties.path` for a key), its text, whether it is an object's key (`name`), and whether
    it is a binary payload, read only by the vendor-prefixed rules. A tuple: a request has
    hundreds, made on every request."""

    where: str
    text: str
    name: bool = False
    binary: bool = False


def is_binary(text: str) -> bool:
    """Whether `text` is a binary payload: a data URL of base64 and nothing else after its
    comma, or a long run of base64 characters."""
    if text.startswith("data:"):
        comma = text.find(",", 0, DATA_URL_HEADER_CHARS + 1)
        if comma > 0 and text[:comma].lower().endswith(";base64"):
            return _BASE64_PAYLOAD.fullmatch(text, comma + 1) is not None
    return len(text) >= BLOB_CHARS and _RUN.fullmatch(text) is not None


def pieces(value: Any, path: str = "") -> Iterator[Piece]:
    """Every string of a JSON value, an object's keys each before its value, with its place."""
    if isinstance(value, str):
        yield Piece(path or "body", value, binary=is_binary(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in FIELD_NAMES:
                yield Piece(where, str(key), name=True)
            yield from pieces(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from pieces(item, f"{path}[{index}]")


def rewritten(value: Any, change: Callable[[str, str], str], field: str = "") -> Any:
    """A copy of a JSON value with every string and every key passed through `change(text,
    field)`, where `field` is the key a value is held under ("" for a key itself, and at the
    top)."""
    if isinstance(value, str):
        return change(value, field)
    if isinstance(value, dict):
        return {change(str(k), ""): rewritten(v, change, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [rewritten(v, change, field) for v in value]
    return value
