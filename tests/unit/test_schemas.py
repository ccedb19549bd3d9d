"""The rules on names and the pagination cursor, as plain functions."""

from __future__ import annotations

import msgspec
import pytest

from service.greetings.schemas import (
    GreetingCreate,
    InvalidCursorError,
    decode_cursor,
    encode_cursor,
)

GOOD = ["World", "Zoë", "O'Brien", "Jean-Luc", "李雷", "Ana María", "R2D2", "Ωμέγα", "a" * 64]
BAD = ["", "a" * 65, "snake_case", "x;", "tab\there", "new\nline", "<b>", "bell\x07", "100%"]


@pytest.mark.parametrize("name", GOOD)
def test_letters_of_any_script_digits_spaces_dash_apostrophe_are_names(name: str) -> None:
    """A valid name decodes."""
    assert msgspec.convert({"name": name}, GreetingCreate).name == name


@pytest.mark.parametrize("name", BAD)
def test_anything_else_is_not_a_name(name: str) -> None:
    """Empty, too long, punctuation and control characters fail validation."""
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"name": name}, GreetingCreate)


def test_unknown_fields_are_refused() -> None:
    """A typo in a field name is an error, not silently ignored."""
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"name": "Ann", "nmae": "x"}, GreetingCreate)


def test_a_cursor_round_trips() -> None:
    """decode(encode(id)) is id."""
    assert decode_cursor(encode_cursor(12345)) == 12345


@pytest.mark.parametrize("cursor", ["", "zzz", "djE6YWJj", "djI6MQ", "%%%", "djE6LTE"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    """Anything this service did not hand out is InvalidCursorError."""
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)
