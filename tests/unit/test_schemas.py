"""The rules on names, ids, cursors and JSON bodies, as plain functions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unicodedata

import msgspec
import pytest

from service.greetings.body import MAX_DEPTH, nesting_depth, too_deep
from service.greetings.schemas import (
    CURSOR_PATTERN,
    ID_MAX,
    NAME_PATTERN,
    NAME_PATTERN_ECMA,
    GreetingCreate,
    InvalidCursorError,
    decode_cursor,
    encode_cursor,
)
from service.problems import in_words
from tests.conftest import missing

GOOD = ["World", "Zoë", "O'Brien", "Jean-Luc", "李雷", "Ana María", "R2D2", "Ωμέγα", "a" * 64]
GOOD += ["'t Hooft", " Ann"]
BAD = ["", "a" * 65, "snake_case", "x;", "tab\there", "new\nline", "<b>", "bell\x07", "100%"]
BAD += ["   ", "-", "' -", "Ann\n", "Zoë!", "Zoe\u0308"]  # U+0308 is a mark, not a letter


def ecma_matches(pattern: str, subjects: list[str]) -> list[bool]:
    """Test each subject with `new RegExp(pattern, "u")` in node, a real ECMA-262 engine."""
    node = shutil.which("node")
    if node is None:
        missing("node not found (an ECMA-262 engine to check the published pattern)")
    script = (
        "const [p, s] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const r = new RegExp(p, 'u');"
        "process.stdout.write(JSON.stringify(s.map((x) => r.test(x))));"
    )
    payload = json.dumps([pattern, subjects])
    done = subprocess.run(
        [str(node), "-e", script], input=payload, capture_output=True, text=True, check=True
    )
    return [bool(x) for x in json.loads(done.stdout)]


@pytest.mark.parametrize("name", GOOD)
def test_letters_of_any_script_digits_spaces_dash_apostrophe_are_names(name: str) -> None:
    """A valid name decodes."""
    assert msgspec.convert({"name": name}, GreetingCreate).name == name


@pytest.mark.parametrize("name", BAD)
def test_anything_else_is_not_a_name(name: str) -> None:
    """Empty, too long, only spaces, punctuation and control characters fail validation."""
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"name": name}, GreetingCreate)


def test_the_published_pattern_accepts_zoe_and_refuses_zoe_bang() -> None:
    """In ECMA-262 with the u flag (how JSON Schema tools read it): "Zoë" yes, "Zoë!" no."""
    assert ecma_matches(NAME_PATTERN_ECMA, ["Zoë", "Zoë!"]) == [True, False]


def test_the_published_pattern_means_what_the_server_checks_on_every_character() -> None:
    """For every assigned code point, alone, after a letter and between spaces, node's
    verdict on the published pattern equals the server's Python check."""
    characters = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) not in {"Cn", "Cs"}
    ]
    subjects = [s for c in characters for s in (c, f"a{c}", f" {c} ")]
    server = re.compile(NAME_PATTERN)
    expected = [server.search(subject) is not None for subject in subjects]
    published = ecma_matches(NAME_PATTERN_ECMA, subjects)
    differing = [s for s, a, b in zip(subjects, expected, published, strict=True) if a != b]
    assert differing == []


def test_names_with_a_trailing_newline_are_refused_by_both_patterns() -> None:
    """Python's `$` would match before a final newline; the server uses `\\Z`."""
    assert re.search(NAME_PATTERN, "Ann\n") is None
    assert ecma_matches(NAME_PATTERN_ECMA, ["Ann\n"]) == [False]


def test_unknown_fields_are_refused() -> None:
    """A typo in a field name is an error, not silently ignored."""
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"name": "Ann", "nmae": "x"}, GreetingCreate)


@pytest.mark.parametrize("last_id", [0, 1, 12345, 10**18, ID_MAX - 1, ID_MAX])
def test_a_cursor_round_trips(last_id: int) -> None:
    """decode(encode(id)) is id, up to the largest id the column holds."""
    assert decode_cursor(encode_cursor(last_id)) == last_id


FOREIGN_CURSORS = [
    "",
    "zzz",
    "djE6MQ",
    "%%%",
    "-1",
    "+1",
    "01",
    " 1",
    "1\n",
    "1.0",
    "\u0661",
]  # an Arabic-Indic one
BEYOND_THE_COLUMN = [encode_cursor(ID_MAX + 1), encode_cursor(10**40), "9" * 19]


@pytest.mark.parametrize("cursor", [*FOREIGN_CURSORS, *BEYOND_THE_COLUMN])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    """Anything this service did not hand out, or beyond the id column, is InvalidCursorError."""
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)


def test_the_published_cursor_pattern_is_exactly_the_id_range() -> None:
    """node, reading the published pattern, accepts exactly the cursors the server accepts:
    0..ID_MAX, checked at every digit's edge, and nothing foreign."""
    edges = [0, 9, 10, 10**17, 10**18 - 1, 10**18, ID_MAX - 1, ID_MAX, ID_MAX + 1, 10**19]
    edges += [int(str(ID_MAX)[:i] + "9" * (19 - i)) for i in range(19)]
    subjects = [str(edge) for edge in edges] + FOREIGN_CURSORS
    expected = [edge <= ID_MAX for edge in edges] + [False] * len(FOREIGN_CURSORS)
    assert [accepted(subject) for subject in subjects] == expected
    assert ecma_matches(CURSOR_PATTERN, subjects) == expected


def accepted(cursor: str) -> bool:
    """Whether the server takes this cursor."""
    try:
        decode_cursor(cursor)
    except InvalidCursorError:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'{"name": "Ann"}', 1),
        (b"[[{}], [[[]]]]", 4),
        (b'{"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 1),
        (b'{"a": "\\"[[[[", "b": [[]]}', 3),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(body: bytes, depth: int) -> None:
    """Brackets inside strings, escaped quotes included, are not nesting."""
    assert nesting_depth(body) == depth


def test_too_deep_is_past_the_limit_only() -> None:
    """MAX_DEPTH levels pass, one more does not."""
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("Expected `str` of length <= 64", "must be at most 64 characters long"),
        ("Expected `str` of length >= 1", "must be at least 1 character long"),
        ("Expected `int` >= 1", "must be at least 1"),
        ("Expected `int`, got `str`", "must be a whole number, not text"),
        ("Object missing required field `name`", "needs the field 'name'"),
        (f"Expected `str` matching regex {NAME_PATTERN!r}", "may contain only letters of any"),
    ],
)
def test_validation_messages_are_rules_in_words(message: str, words: str) -> None:
    """msgspec's wording becomes a rule a person can act on, with its limit, never a regex."""
    assert in_words(message).startswith(words)
