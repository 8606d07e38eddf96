"""The detectors on their own: every kind found where a person pastes it, the value's exact
span, and ordinary text left alone."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    KeywordDetector,
)

from llmgw_desktop.engine.guard import request_scan
from llmgw_desktop.engine.guard.request_scan import (
    OVER_BUDGET,
    TOO_LARGE,
    ScanCache,
    inspect_body,
)
from llmgw_desktop.engine.guard.scanner import (
    _KEYWORDS,
    _keyword_starts,
    _keyword_values,
    scan_text,
)
from llmgw_desktop.engine.guard.scanner import _lowered as scanner_lowered
from tests.engine.guard.secrets import AWS_ACCESS_KEY, JWT, PRIVATE_KEY, SECRETS


def _found(text: str, *, personal: bool = False) -> list[tuple[str, str]]:
    scanned = scan_text(text, personal=personal)
    assert scanned.complete
    return [(hit.kind, text[hit.start : hit.end]) for hit in scanned.hits]


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_kind_is_found_with_its_exact_value(kind: str) -> None:
    secret, line = SECRETS[kind]
    assert _found(f"Here is my config:\n{line}\nthanks") == [(kind, secret)]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("DB_PASSWORD=hunter2hunter", "hunter2hunter"),
        ('"client_secret": "Zk3pQ9xW2mN7vB4c"', "Zk3pQ9xW2mN7vB4c"),
        ("mysql://root:s3cret-pw@db/app", "s3cret-pw"),
        ("Server=db;Database=app;Uid=sa;Pwd=Tr0ub4dor&3;", "Tr0ub4dor&3"),
    ],
)
def test_code_filters_keep_real_assignments(line: str, value: str) -> None:
    assert [found for _, found in _found(line)] == [value]


def test_a_private_key_is_found_as_its_whole_block() -> None:
    text = f"key:\n{PRIVATE_KEY}\nmore text"
    assert _found(text) == [("private_key", PRIVATE_KEY)]


def test_a_jwt_keeps_its_signature() -> None:
    ((kind, value),) = _found(f"token={JWT};")
    assert (kind, value) == ("jwt", JWT)


def test_personal_data_only_when_asked() -> None:
    text = "Write to jane.doe@corp.test or call +44 20 7946 0958; card 4111 1111 1111 1111."
    assert _found(text) == []
    assert _found(text, personal=True) == [
        ("email", "jane.doe@corp.test"),
        ("phone_number", "+44 20 7946 0958"),
        ("card_number", "4111 1111 1111 1111"),
    ]


def test_a_card_number_must_pass_luhn() -> None:
    assert _found("order 4111 1111 1111 1112 shipped", personal=True) == []


@pytest.mark.parametrize(
    "text",
    [
        f'commit = "{hashlib.sha1(b"x").hexdigest()}"',
        f'sha256: "{hashlib.sha256(b"x").hexdigest()}"',
        'request_id = "5f0c2b1e-8d4a-4c3e-9b7a-2e6f1d0c9a84"',
        f'"integrity": "sha512-{base64.b64encode(hashlib.sha512(b"x").digest()).decode()}"',
        'password = os.environ["DB_PASSWORD"]',
        "password = get_password()",
        'api_key = "${OPENAI_API_KEY}"',
        'password: "<your password here>"',
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        f"aws_access_key_id = {AWS_ACCESS_KEY}  # pragma: allowlist secret",
        "See https://github.com/Yelp/detect-secrets for details.",
        "    password: str | None = None",
        "            api_key=api_key,",
        'secret_type = "Anthropic API Key"',
        "exports.PrivateKeyJwtProvider = PrivateKeyJwtProvider;",
        "                secret_digest=digest,",
        "if (typeof options.privateKey === 'string') {",
        "Connect with https://user:password@host/db",
        " *   clientSecret: 'my-secret',",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert _found(text) == []


def test_a_body_names_where_each_secret_is() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {
                "role": "user",
                "content": [{"type": "text", "text": f"line one\n{SECRETS['jwt'][1]}"}],
            },
        ],
    }
    inspection = inspect_body(body, personal=False, max_chars=10**6, budget_s=1.0)
    assert inspection.complete
    (finding,) = inspection.findings
    assert (finding.kind, finding.where, finding.line) == ("jwt", "messages[1].content[0].text", 2)
    assert finding.value == JWT
    assert JWT not in finding.excerpt and "[jwt]" in finding.excerpt
    assert JWT not in inspection.summary() and JWT not in repr(finding)


def test_binary_payloads_are_not_read() -> None:
    image = base64.b64encode(bytes(range(256)) * 40).decode()
    body = {
        "messages": [
            {
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}
                ]
            },
            {"content": [{"type": "image", "source": {"type": "base64", "data": image}}]},
        ]
    }
    inspection = inspect_body(body, personal=False, max_chars=10**6, budget_s=1.0)
    assert inspection.findings == () and inspection.chars < 100


def test_a_body_over_the_limit_is_not_scanned() -> None:
    body = {"messages": [{"content": "x" * 5000 + SECRETS["jwt"][1]}]}
    inspection = inspect_body(body, personal=False, max_chars=1000, budget_s=1.0)
    assert (inspection.complete, inspection.reason, inspection.findings) == (False, TOO_LARGE, ())


def test_a_scan_over_its_budget_says_so() -> None:
    body = {"messages": [{"content": ("password = 'aaaaaaaaaaaa' \n" * 20000)}]}
    inspection = inspect_body(body, personal=False, max_chars=10**8, budget_s=0.0)
    assert (inspection.complete, inspection.reason) == (False, OVER_BUDGET)


def test_long_strings_are_read_once_and_remembered_by_their_digest() -> None:
    cache = ScanCache()
    tool_result = "def f():\n    return 1\n" * 400 + f"token={JWT}\n"
    first = {"messages": [{"role": "tool", "content": tool_result}, {"content": "next"}]}
    again = {
        "messages": [
            {"role": "tool", "content": tool_result},
            {"content": f"and {AWS_ACCESS_KEY}"},
        ]
    }
    options: dict[str, Any] = {"personal": False, "max_chars": 10**7, "budget_s": 1.0}
    read = inspect_body(first, cache=cache, **options)
    remembered = inspect_body(again, cache=cache, **options)
    assert [(f.kind, f.where) for f in read.findings] == [("jwt", "messages[0].content")]
    assert [(f.kind, f.where) for f in remembered.findings] == [
        ("jwt", "messages[0].content"),
        ("aws_access_key", "messages[1].content"),
    ]
    assert remembered.findings[0] == read.findings[0]


def test_only_what_is_new_to_the_conversation_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A conversation sent again with a turn added: the tool result, the tool definitions and
    the earlier messages' short strings are remembered; only the new turn is read."""
    read: list[str] = []

    def counted(text: str, **options: Any) -> Any:
        read.append(text)
        return scan_text(text, **options)

    monkeypatch.setattr(request_scan, "scan_text", counted)
    cache = ScanCache()
    tool_result = "def f():\n    return 1\n" * 400
    tools = [{"type": "function", "function": {"name": "read", "description": "Reads a file"}}]
    turn = [{"role": "user", "content": "fix it"}, {"role": "tool", "content": tool_result}]
    options: dict[str, Any] = {"personal": False, "max_chars": 10**7, "budget_s": 1.0}
    inspect_body({"tools": tools, "messages": turn}, cache=cache, **options)
    assert read == [tool_result, "function\nread\nReads a file\nuser\nfix it\ntool"]
    later = [*turn, {"role": "user", "content": f"now use {AWS_ACCESS_KEY}"}]
    found = inspect_body({"tools": tools, "messages": later}, cache=cache, **options)
    assert read[2:] == [f"user\nnow use {AWS_ACCESS_KEY}"]
    assert [(f.kind, f.where) for f in found.findings] == [
        ("aws_access_key", "messages[2].content")
    ]


def _lines_to_compare() -> list[str]:
    """Lines that name a secret, in every shape the keyword plugin reads: this package's own
    code and documentation (keyword-dense), every line the guard's tests paste, and lines
    made to reach each of the plugin's patterns, in upper case and with the word inside another."""
    root = Path(__file__).resolve().parents[3]
    texts = [path.read_text("utf-8") for path in sorted((root / "llmgw_desktop").rglob("*.py"))]
    texts += [path.read_text("utf-8") for path in sorted((root / "docs").glob("*.md"))]
    texts += [line for _secret, line in SECRETS.values()]
    texts += [
        'MY_PASSWORD = "Zk3pQ9xW2mN7vB4c"',
        'if ("hunter2hunter" == db_password) {}',
        "if ('hunter2hunter' !== user.passwd) {}",
        'private_key "abcdefabcdef";',
        'api_key => "abcdefabcdef"',
        'secret := "abcdefabcdef"',
        "Contraseña: mipalabrasecreta",
        "database_key_pass='xyzxyzxyz' and api_key: \"second-one-here\"",
        "x = {'SERVICE_KEY': 'abc123abc123', 'pwd': \"p4ssw0rd!\"}",
    ]
    return [line for text in texts for line in text.splitlines() if _KEYWORDS.search(line.lower())]


def test_the_keyword_plugins_patterns_tried_at_its_words_find_what_it_finds() -> None:
    """`_keyword_values` tries the plugin's patterns only where a denylist word begins: on
    every line it finds exactly what the plugin's own `analyze_string` finds."""
    plugin = KeywordDetector()
    lines = _lines_to_compare()
    assert len(lines) > 1000
    found = 0
    for line in lines:
        for unquoted in (False, True):
            groups = (
                CONFIG_DENYLIST_REGEX_TO_GROUP
                if unquoted
                else QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
            )
            expected = list(plugin.analyze_string(line, denylist_regex_to_group=groups))
            words = _keyword_starts(line, scanner_lowered(line))
            assert list(_keyword_values(line, words, unquoted=unquoted)) == expected, line
            found += len(expected)
    assert found > 100


@pytest.mark.parametrize(
    ("kind", "token"),
    [
        *(
            ("gitlab_token", f"{head}-{'aB3dE6gH9jK2mN5pQ8sT'}")
            for head in ("glpat", "gldt", "glft")
        ),
        *(("gitlab_token", f"{head}-{'aB3dE6gH9jK2mN5pQ8sT'}") for head in ("glsoat", "glrt")),
        ("gitlab_token", "GR1348941aB3dE6gH9jK2mN5pQ8sT"),
        ("gitlab_token", "glcbt-aB3dE6gH9jK2mN5pQ8sT"),
        ("gitlab_token", "glimt-" + "aB3dE" * 5),
        ("gitlab_token", "glptt-" + "aB3dE" * 8),
        ("gitlab_token", "glagent-" + "aB3dE" * 10),
        ("gitlab_token", "gloas-" + "aB3dE6gH" * 8),
        ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + "aB3dE6gH9j" * 7),
        ("pypi_token", "pypi-AgENdGVzdC5weXBpLm9yZw" + "aB3dE6gH9j" * 7),
        ("openai_key", "sk-" + "aB3dE6gH9jK2mN5pQ8sT" + "T3BlbkFJ" + "aB3dE6gH9jK2mN5pQ8sT"),
        ("private_key", "PuTTY-User-Key-File-2: ssh-rsa"),
    ],
)
def test_the_patterns_behind_one_search_are_each_found(kind: str, token: str) -> None:
    """GitLab's seven patterns, PyPI's two, OpenAI's and Anthropic's keys and the private key
    blocks are run only where one search finds where they begin (`Rule.gates`): each is still
    found."""
    assert [found_kind for found_kind, _ in _found(f"token:\n{token}\n")] == [kind]
